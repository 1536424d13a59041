package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/watchrelay/watchrelay/internal/service"
)

// replay seeks a subscription back in time with Pub/Sub's own Seek: every
// message published since then, acknowledged or not, is delivered to it
// again, so a subscriber that lost work gets it back. Subscribers dedupe on
// ce-id, which a redelivered event keeps. Seek also marks every message
// published before that time acknowledged, so a backlog older than it is
// dropped: the time must reach back past the oldest unacknowledged message.
// Pub/Sub can only give back what it kept: the topic's retention
// (Terraform's topic_message_retention, 7 days by default) or, on a
// subscription that retains acknowledged messages, the subscription's.

func runReplay(ctx context.Context, e *env, args []string) error {
	fs := flags("replay", e)
	sub := fs.String("subscription", "", "the subscription to replay: its id in the project, or projects/P/subscriptions/S")
	since := fs.Duration("since", 0, "deliver again what was published in the last D, e.g. 2h")
	at := fs.String("time", "", "deliver again what was published since this time, RFC 3339")
	if err := fs.Parse(args); err != nil {
		return err
	}
	now := time.Now()
	from, err := replayFrom(now, *sub, *since, *at, fs.NArg())
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if e.cfg.Local() {
		return errors.New("replay: no GOOGLE_CLOUD_PROJECT or emulator, so there is no subscription to replay (the embedded Pub/Sub lives in one process only)")
	}
	project := e.cfg.Project
	if project == "" {
		project = service.LocalProject
	}
	c, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return fmt.Errorf("replay: pubsub: %w", err)
	}
	defer c.Close()
	name := subscriptionName(project, *sub)
	s, err := c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
	if err != nil {
		return fmt.Errorf("replay: %s: %w", name, err)
	}
	window, err := kept(ctx, c, s)
	switch {
	case err != nil:
		// Reading the topic needs more than a subscriber's role; Seek
		// itself does not: go on, unsure how far back Pub/Sub can go.
		fmt.Fprintf(e.stderr, "note: cannot tell how long %s keeps messages (%v): events older than it keeps are not delivered again\n", s.GetTopic(), err)
	case window == 0:
		return fmt.Errorf("replay: %s keeps no acknowledged messages and its topic %s keeps none, so a seek would deliver nothing again; "+
			"set the topic's message retention (Terraform: topic_message_retention) or the subscription's retain_acked_messages, "+
			"and what is published from then on can be replayed", name, s.GetTopic())
	case now.Sub(from) > window:
		fmt.Fprintf(e.stderr, "note: Pub/Sub keeps %s's messages for %s: what was published before %s is gone\n",
			name, human(window), now.Add(-window).UTC().Format(time.RFC3339))
	}
	if _, err := c.SubscriptionAdminClient.Seek(ctx, &pubsubpb.SeekRequest{
		Subscription: name,
		Target:       &pubsubpb.SeekRequest_Time{Time: timestamppb.New(from)},
	}); err != nil {
		return fmt.Errorf("replay: seek %s: %w", name, err)
	}
	fmt.Fprintf(e.stdout, "%s sought back to %s: every event published since then is delivered again, acknowledged ones too (dedupe on ce-id); "+
		"any published before then and not yet acknowledged is now acknowledged\n", name, from.UTC().Format(time.RFC3339))
	return nil
}

// replayFrom checks replay's flags and returns the time to seek back to.
func replayFrom(now time.Time, sub string, since time.Duration, at string, extra int) (time.Time, error) {
	switch {
	case extra > 0:
		return time.Time{}, errors.New("takes flags only")
	case sub == "":
		return time.Time{}, errors.New("--subscription is required")
	case (since != 0) == (at != ""):
		return time.Time{}, errors.New("give one of --since (e.g. 2h) and --time (RFC 3339)")
	case since < 0:
		return time.Time{}, fmt.Errorf("--since %s is negative", since)
	case since > 0:
		return now.Add(-since), nil
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return time.Time{}, fmt.Errorf("--time: %w", err)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("--time %s is in the future", at)
	}
	return t, nil
}

// subscriptionName is the full name of a subscription given by id or by
// full name.
func subscriptionName(project, sub string) string {
	if strings.HasPrefix(sub, "projects/") {
		return sub
	}
	return "projects/" + project + "/subscriptions/" + sub
}

// kept is how far back s can be sought: the longer of its topic's
// retention and, when it retains acknowledged messages, its own. 0 means a
// seek would deliver again only what is unacknowledged anyway.
func kept(ctx context.Context, c *pubsub.Client, s *pubsubpb.Subscription) (time.Duration, error) {
	var window time.Duration
	if s.GetRetainAckedMessages() {
		window = s.GetMessageRetentionDuration().AsDuration()
	}
	// Pub/Sub copies the topic's retention onto the subscription; the
	// emulator does not, so the topic is read when it is missing.
	topic := s.GetTopicMessageRetentionDuration()
	if topic == nil {
		t, err := c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: s.GetTopic()})
		if err != nil {
			return window, err
		}
		topic = t.GetMessageRetentionDuration()
	}
	return max(window, topic.AsDuration()), nil
}
