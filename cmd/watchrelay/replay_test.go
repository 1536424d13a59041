package main

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// replay's flags are checked before anything is reached.
func TestReplayFlags(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		sub   string
		since time.Duration
		at    string
		extra int
		want  time.Time // zero: refused
		says  string
	}{
		{"since", "s", 2 * time.Hour, "", 0, now.Add(-2 * time.Hour), ""},                       // docs/cli.md's form
		{"time", "s", 0, "2026-11-23T07:30:00Z", 0, now.Add(-90 * time.Minute), ""},             // an instant
		{"no subscription", "", time.Hour, "", 0, time.Time{}, "--subscription is required"},    // which one?
		{"neither", "s", 0, "", 0, time.Time{}, "give one of --since"},                          // from when?
		{"both", "s", time.Hour, "2026-11-23T07:30:00Z", 0, time.Time{}, "give one of --since"}, // which one wins is a guess
		{"negative", "s", -time.Hour, "", 0, time.Time{}, "negative"},                           // the future
		{"future", "s", 0, "2026-11-23T10:00:00Z", 0, time.Time{}, "in the future"},             // nothing published yet
		{"not RFC 3339", "s", 0, "yesterday", 0, time.Time{}, "--time"},                         // unparseable
		{"arguments", "s", time.Hour, "", 1, time.Time{}, "flags only"},                         // a stray argument is a typo
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replayFrom(now, tc.sub, tc.since, tc.at, tc.extra)
			if !got.Equal(tc.want) || (err == nil) != (tc.says == "") || err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("replayFrom: %v, %v; want %v saying %q", got, err, tc.want, tc.says)
			}
		})
	}
}

// replayTopic makes a topic and a subscription on the Pub/Sub emulator in
// the project of env, and returns a client and the subscription's name.
func replayTopic(t *testing.T, env map[string]string, topicRetention time.Duration, retainAcked bool) (*pubsub.Client, string) {
	t.Helper()
	ctx := context.Background()
	project := env["GOOGLE_CLOUD_PROJECT"]
	c := cliSpace(env).PubSub(t)
	topic := &pubsubpb.Topic{Name: "projects/" + project + "/topics/events"}
	if topicRetention > 0 {
		topic.MessageRetentionDuration = durationpb.New(topicRetention)
	}
	if _, err := c.TopicAdminClient.CreateTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	sub := "projects/" + project + "/subscriptions/billing-sync"
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub, Topic: topic.Name, RetainAckedMessages: retainAcked, AckDeadlineSeconds: 10,
	}); err != nil {
		t.Fatal(err)
	}
	return c, sub
}

func publish(t *testing.T, c *pubsub.Client, topic string, data ...string) {
	t.Helper()
	p := c.Publisher(topic)
	defer p.Stop()
	for _, d := range data {
		if _, err := p.Publish(context.Background(), &pubsub.Message{Data: []byte(d)}).Get(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// receive acknowledges what sub delivers until it has n messages, then
// waits a moment more for any extra, and returns their data, sorted.
func receive(t *testing.T, c *pubsub.Client, sub string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		got  []string
		done = time.AfterFunc(time.Hour, cancel)
	)
	err := c.Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		if got = append(got, string(m.Data)); len(got) == n {
			done.Reset(time.Second)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

// On the Pub/Sub emulator: events published and acknowledged are delivered
// again after a replay, from the time asked for, whether the topic keeps
// messages (as Terraform makes it) or the subscription keeps acknowledged
// ones; with neither, replay refuses rather than seek to no effect.
func TestReplayOnEmulator(t *testing.T) {
	t.Run("topic retention, --since", func(t *testing.T) {
		_, env := onEmulators(t)
		c, sub := replayTopic(t, env, 7*24*time.Hour, false)
		topic := "projects/" + env["GOOGLE_CLOUD_PROJECT"] + "/topics/events"
		publish(t, c, topic, "e1", "e2", "e3")
		if got := receive(t, c, sub, 3); !slices.Equal(got, []string{"e1", "e2", "e3"}) {
			t.Fatalf("first delivery: %q", got)
		}
		out, err := run(t, env, "replay", "--subscription", "billing-sync", "--since", "1h")
		if err != nil || !strings.Contains(out, sub+" sought back to") {
			t.Fatalf("replay: %v, printed %q", err, out)
		}
		if got := receive(t, c, sub, 3); !slices.Equal(got, []string{"e1", "e2", "e3"}) {
			t.Errorf("after replay: %q, want every acknowledged event again", got)
		}
	})
	t.Run("acknowledged messages retained, --time", func(t *testing.T) {
		_, env := onEmulators(t)
		c, sub := replayTopic(t, env, 0, true)
		topic := "projects/" + env["GOOGLE_CLOUD_PROJECT"] + "/topics/events"
		publish(t, c, topic, "before")
		time.Sleep(time.Second)
		from := time.Now()
		time.Sleep(time.Second)
		publish(t, c, topic, "after-1", "after-2")
		if got := receive(t, c, sub, 3); len(got) != 3 {
			t.Fatalf("first delivery: %q", got)
		}
		if _, err := run(t, env, "replay", "--subscription", sub, "--time", from.Format(time.RFC3339Nano)); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, c, sub, 2); !slices.Equal(got, []string{"after-1", "after-2"}) {
			t.Errorf("after replay --time: %q, want only what was published since", got)
		}
	})
	t.Run("asked for more than is kept", func(t *testing.T) {
		_, env := onEmulators(t)
		replayTopic(t, env, 10*time.Minute, false)
		var stdout, stderr strings.Builder
		err := realMain(context.Background(), []string{"replay", "--subscription", "billing-sync", "--since", "2h"},
			func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
		if err != nil || !strings.Contains(stderr.String(), "for 10m: what was published before") || !strings.Contains(stdout.String(), "sought back to") {
			t.Errorf("replay past the retention: %v, stderr %q, stdout %q; want the seek, and a note of what is gone", err, stderr.String(), stdout.String())
		}
	})
	t.Run("nothing kept", func(t *testing.T) {
		_, env := onEmulators(t)
		replayTopic(t, env, 0, false)
		_, err := run(t, env, "replay", "--subscription", "billing-sync", "--since", "1h")
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "would deliver nothing again") || !strings.Contains(err.Error(), "topic_message_retention") {
			t.Errorf("replay with nothing kept: %v; want a refusal that says what to set", err)
		}
	})
	t.Run("no such subscription", func(t *testing.T) {
		_, env := onEmulators(t)
		if _, err := run(t, env, "replay", "--subscription", "nope", "--since", "1h"); err == nil || !strings.Contains(err.Error(), "subscriptions/nope") {
			t.Errorf("replay of a missing subscription: %v", err)
		}
	})
}

// On the embedded defaults there is no subscription that outlives the
// command: refused, before any Pub/Sub is started.
func TestReplayRefusedLocally(t *testing.T) {
	if _, err := run(t, nil, "replay", "--subscription", "s", "--since", "1h"); err == nil || !strings.Contains(err.Error(), "no GOOGLE_CLOUD_PROJECT") {
		t.Errorf("replay on embedded defaults: %v", err)
	}
}
