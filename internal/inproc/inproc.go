// Package inproc runs an in-process Pub/Sub (the client library's pstest
// fake) for watchrelay's embedded defaults and tests, and makes topics and
// subscriptions on it or on the Pub/Sub emulator. pstest differs from Pub/Sub in what its own package
// doc says (no persistence, filters applied, no quotas); watchrelay relies
// on it only to accept publishes and deliver them to subscriptions.
package inproc

import (
	"context"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Server is a pstest server with a client connected to it and one topic.
type Server struct {
	// Client talks to the fake over loopback gRPC.
	Client *pubsub.Client
	srv    *pstest.Server
	conn   *grpc.ClientConn
}

// Start runs a fake Pub/Sub on a loopback port and creates the topic in it.
// Options go to pstest, e.g. pstest.WithErrorInjection to make it fail.
func Start(ctx context.Context, project, topic string, opts ...pstest.ServerReactorOption) (*Server, error) {
	srv := pstest.NewServer(opts...)
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("inproc: %w", err)
	}
	client, err := pubsub.NewClient(ctx, project, option.WithGRPCConn(conn))
	if err != nil {
		conn.Close()
		srv.Close()
		return nil, fmt.Errorf("inproc: %w", err)
	}
	s := &Server{Client: client, srv: srv, conn: conn}
	if err := EnsureTopic(ctx, client, project, topic); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Messages returns every message published so far, in publish order.
func (s *Server) Messages() []*pstest.Message { return s.srv.Messages() }

// ClearMessages forgets the messages published so far, so a long run (a
// benchmark, `serve`) does not keep them all.
func (s *Server) ClearMessages() { s.srv.ClearMessages() }

// Close stops the client and the fake.
func (s *Server) Close() error {
	s.Client.Close()
	s.conn.Close()
	return s.srv.Close()
}

// EnsureTopic creates the topic unless it exists: on the emulator and in
// pstest a topic is not there until someone makes it, as Terraform does in a
// real project.
func EnsureTopic(ctx context.Context, client *pubsub.Client, project, topic string) error {
	name := fmt.Sprintf("projects/%s/topics/%s", project, topic)
	_, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("inproc: create topic %s: %w", name, err)
	}
	return nil
}

// Subscribe makes an ordered subscription named sub of an existing topic, as
// a downstream subscriber would: events published from then on reach it,
// each watch's in order. It returns the subscription's full name.
func Subscribe(ctx context.Context, client *pubsub.Client, project, topic, sub string) (string, error) {
	name := fmt.Sprintf("projects/%s/subscriptions/%s", project, sub)
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:                  name,
		Topic:                 fmt.Sprintf("projects/%s/topics/%s", project, topic),
		EnableMessageOrdering: true,
	}); err != nil && status.Code(err) != codes.AlreadyExists {
		return "", fmt.Errorf("inproc: create subscription %s: %w", name, err)
	}
	return name, nil
}
