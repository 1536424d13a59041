// Package inproc runs an in-process Pub/Sub (the client library's pstest
// fake) for watchrelay's embedded defaults, which the CLI chooses, and for
// tests; the deployed function never links it. pstest differs from Pub/Sub in what its own package
// doc says (no persistence, filters applied, no quotas); watchrelay relies
// on it only to accept publishes and deliver them to subscriptions.
package inproc

import (
	"context"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchrelay/watchrelay/internal/event"
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
	if err := event.EnsureTopic(ctx, client, project, topic); err != nil {
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
