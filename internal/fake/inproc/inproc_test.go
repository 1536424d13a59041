package inproc_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc/codes"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// Start makes a working topic: a publish through Client is acked and shows
// in Messages with its attributes and ordering key; ClearMessages forgets.
func TestStartPublishMessages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := inproc.Start(ctx, "p", "events")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pub := s.Client.Publisher("events")
	pub.EnableMessageOrdering = true
	defer pub.Stop()
	for _, data := range []string{"one", "two"} {
		res := pub.Publish(ctx, &pubsub.Message{Data: []byte(data), Attributes: map[string]string{"k": data}, OrderingKey: "w"})
		if _, err := res.Get(ctx); err != nil {
			t.Fatalf("publish %s: %v", data, err)
		}
	}
	msgs := s.Messages()
	if len(msgs) != 2 || string(msgs[0].Data) != "one" || string(msgs[1].Data) != "two" ||
		msgs[1].Attributes["k"] != "two" || msgs[1].OrderingKey != "w" {
		t.Fatalf("messages %+v", msgs)
	}
	s.ClearMessages()
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages after ClearMessages", n)
	}
}

// A publish to a topic nobody made fails: Start is what makes the topic.
func TestNoOtherTopic(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	s, err := inproc.Start(ctx, "p", "events")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pub := s.Client.Publisher("missing")
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte("x")}).Get(ctx); err == nil {
		t.Error("publish to a topic that was never created succeeded")
	}
}

// Options reach pstest: an injected error fails every publish.
func TestStartOptions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := inproc.Start(ctx, "p", "events", pstest.WithErrorInjection("Publish", codes.PermissionDenied, "denied"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pub := s.Client.Publisher("events")
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte("x")}).Get(ctx); err == nil {
		t.Error("publish succeeded despite the injected error")
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

// EnsureTopic creates a topic once and is a no-op after, in pstest and on
// the real Pub/Sub emulator.
func TestEnsureTopic(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, client *pubsub.Client, project string) {
		ctx := t.Context()
		topic := "t-" + time.Now().Format("150405.000000000")[7:]
		for i := range 2 {
			if err := event.EnsureTopic(ctx, client, project, topic); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		name := "projects/" + project + "/topics/" + topic
		got, err := client.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name})
		if err != nil || got.GetName() != name {
			t.Fatalf("GetTopic(%s) = %v, %v", name, got, err)
		}
	}
	t.Run("pstest", func(t *testing.T) {
		t.Parallel()
		s, err := inproc.Start(t.Context(), "p", "events")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s.Client, "p")
	})
	t.Run("emulator", func(t *testing.T) {
		t.Parallel()
		space := backend.New(t)
		client := space.PubSub(t)
		check(t, client, space.Project)
		// Errors other than AlreadyExists are errors (pstest does not
		// check names; the emulator does).
		if err := event.EnsureTopic(t.Context(), client, space.Project, "bad name!"); err == nil {
			t.Error("EnsureTopic accepted an invalid topic name")
		}
	})
}
