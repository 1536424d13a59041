package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

func TestFinished(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	deleteAt := now.Add(store.Retention)
	for _, tc := range []struct {
		name  string
		state store.ChannelState
		want  store.ChannelUpdate
	}{
		// Google confirmed the stop: when is recorded, for operators.
		{"stopped", store.ChannelStopped, store.ChannelUpdate{State: store.Ptr(store.ChannelStopped), StoppedAt: &now, DeleteAt: &deleteAt}},
		// Lapsed before it was stopped: nothing was stopped, so no stoppedAt.
		{"expired", store.ChannelExpired, store.ChannelUpdate{State: store.Ptr(store.ChannelExpired), DeleteAt: &deleteAt}},
		// Google refused the watch call: the record goes all the same.
		{"failed", store.ChannelFailed, store.ChannelUpdate{State: store.Ptr(store.ChannelFailed), DeleteAt: &deleteAt}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, store.Finished(tc.state, now)); diff != "" {
				t.Errorf("Finished(%s) (-want +got):\n%s", tc.state, diff)
			}
		})
	}
}

// Retiring writes the state and the end of the grace period, and nothing
// else: no deleteAt, since a stopping channel still has a stop to come.
func TestRetiring(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 11, 29, 8, 10, 0, 0, time.UTC)
	want := store.ChannelUpdate{State: store.Ptr(store.ChannelStopping), AcceptUntil: &until}
	if diff := cmp.Diff(want, store.Retiring(until)); diff != "" {
		t.Errorf("Retiring (-want +got):\n%s", diff)
	}
}
