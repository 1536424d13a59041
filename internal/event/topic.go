package event

import (
	"context"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// EnsureTopic creates the topic unless it exists: on the emulator and in
// pstest a topic is not there until someone makes it, as Terraform does in a
// real project.
func EnsureTopic(ctx context.Context, client *pubsub.Client, project, topic string) error {
	name := fmt.Sprintf("projects/%s/topics/%s", project, topic)
	_, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("event: create topic %s: %w", name, err)
	}
	return nil
}

// Subscribe makes an ordered subscription named sub of an existing topic, as
// a downstream subscriber would: events published from then on reach it,
// each watch's in order. It returns the subscription's full name.
func Subscribe(ctx context.Context, client *pubsub.Client, project, topic, sub string) (string, error) {
	return subscribe(ctx, client, project, topic, sub, true)
}

// SubscribeUnordered makes a subscription without message ordering. Sync's
// trigger is one: with ordering, a watch's next notification would wait for
// the previous one's fetch to be acknowledged, so a storm would become one
// fetch per notification instead of coalescing.
func SubscribeUnordered(ctx context.Context, client *pubsub.Client, project, topic, sub string) (string, error) {
	return subscribe(ctx, client, project, topic, sub, false)
}

func subscribe(ctx context.Context, client *pubsub.Client, project, topic, sub string, ordered bool) (string, error) {
	name := fmt.Sprintf("projects/%s/subscriptions/%s", project, sub)
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:                  name,
		Topic:                 fmt.Sprintf("projects/%s/topics/%s", project, topic),
		EnableMessageOrdering: ordered,
	}); err != nil && status.Code(err) != codes.AlreadyExists {
		return "", fmt.Errorf("event: create subscription %s: %w", name, err)
	}
	return name, nil
}
