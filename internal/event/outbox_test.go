package event_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// Ended reports an end by the state it left and the channel it retired,
// the same whether Renew or Sync ended the watch.
func TestEnded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	w := store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f"}, ChannelID: "c2", ChannelExpiration: exp}
	for _, tc := range []struct {
		name  string
		w     store.Watch
		state store.WatchState
		want  event.Event
	}{
		// A failed watch names the channel retired, and when it would
		// have expired.
		{"failed", w, store.WatchFailed, event.Lifecycle(event.TypeFailed,
			event.LifecycleData{WatchID: "w", Kind: "drive.files", Params: w.Params, OldChannelID: "c2", OldExpiration: &exp, Error: "why"}, now)},
		// A gone watch that had no channel names none.
		{"gone, no channel", store.Watch{ID: "w", Kind: "drive.files"}, store.WatchGone, event.Lifecycle(event.TypeGone,
			event.LifecycleData{WatchID: "w", Kind: "drive.files", Error: "why"}, now)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, event.Ended(tc.w, tc.state, "why", now)); diff != "" {
				t.Errorf("Ended (-want +got):\n%s", diff)
			}
		})
	}
}

// An event kept in the outbox comes back as it went in, its data as the
// JSON it was kept as: what Renew's drain publishes is what was kept.
func TestOutboxRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	e := event.Ended(store.Watch{ID: "w", Kind: "drive.files", ChannelID: "c"}, store.WatchFailed, "why", now)
	o, err := e.Outboxed()
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != e.ID || !o.CreatedAt.Equal(now) {
		t.Errorf("Outboxed = %+v, want id %s created at %v", o, e.ID, now)
	}
	got, err := event.FromOutbox(o)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(e.Data)
	want := e
	want.Data = json.RawMessage(data)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromOutbox (-want +got):\n%s", diff)
	}
	if _, err := event.FromOutbox(store.OutboxEvent{ID: "x", Event: "not json"}); err == nil {
		t.Error("FromOutbox of a broken entry: no error")
	}
}
