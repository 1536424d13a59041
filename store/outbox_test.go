package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// The outbox: events kept with the state they report, until forgotten.
// Cases of contractCases, run on both stores.

func testOutbox(t *testing.T, s contractStore) {
	ctx := t.Context()
	mustCreateWatches(t, s, heldWatch("w1", "h1"), sampleWatch("w2"))
	mustCreateChannels(t, s, sampleChannel("c1", "w1"))
	ev := func(id string, at time.Duration) store.OutboxEvent {
		return store.OutboxEvent{ID: id, Event: `{"id":"` + id + `"}`, CreatedAt: t0.Add(at)}
	}
	started := ev("w1/watchrelay.watch.started.v1/c1", 0)
	a := activation("c1", "w1", "h1")
	a.Events = []store.OutboxEvent{started}
	if err := s.ActivateChannel(ctx, a); err != nil {
		t.Fatal(err)
	}
	// A refused release writes no event: the state it reports was
	// not written either.
	if err := s.ReleaseWatch(ctx, "w1", "not-the-holder", store.WatchUpdate{}, t0, ev("w1/x/y", time.Second)); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("ReleaseWatch by another holder = %v", err)
	}
	stopped := ev("w2/watchrelay.watch.stopped.v1/", 2*time.Second)
	if err := s.DeleteWatch(ctx, "w2", stopped); err != nil {
		t.Fatal(err)
	}
	got, err := s.Outbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.OutboxEvent{started, stopped}
	for i := range want {
		want[i].CreatedAt = stored(want[i].CreatedAt)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	// Forgetting what Pub/Sub has, with a renewal's last channel write.
	if err := s.Forget(ctx, []string{started.ID, "never-kept"}, "c1", store.Finished(store.ChannelStopped, t0)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Outbox(ctx, 0)
	if len(got) != 1 || got[0].ID != stopped.ID {
		t.Errorf("outbox after Forget: %+v, want only %s", got, stopped.ID)
	}
	if c, _ := s.Channel(ctx, "c1"); c.State != store.ChannelStopped {
		t.Errorf("channel %s after Forget, want stopped", c.State)
	}
	if err := s.Forget(ctx, []string{stopped.ID}, "", store.ChannelUpdate{}); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Outbox(ctx, 0); len(got) != 0 {
		t.Errorf("outbox %+v, want empty", got)
	}
}
