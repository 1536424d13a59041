package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// ended is an End of watch id as failed, at t0, accepting the retired
// channel's notifications for ten minutes, reporting itself with one event
// that names the channel retired.
func ended(id, holder string) store.End {
	return store.End{
		WatchID: id, Holder: holder, State: store.WatchFailed, LastError: "revoked",
		AcceptUntil: t0.Add(10 * time.Minute), Now: t0,
		Events: func(w store.Watch) []store.OutboxEvent {
			return []store.OutboxEvent{{ID: w.ID + "/failed/" + w.ChannelID, Event: "{}", CreatedAt: t0}}
		},
	}
}

// outboxIDs lists the ids of the events in the outbox.
func outboxIDs(t *testing.T, s contractStore) []string {
	t.Helper()
	es, err := s.Outbox(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// endCase is one end asked of a store holding watch w1 and, when it has an
// id, its channel.
type endCase struct {
	name    string
	watch   store.Watch
	channel store.Channel
	end     store.End
	wantErr error
	ended   bool
	// wantWatch and wantChannel turn what was stored into what the end
	// leaves; nil: left as it was.
	wantWatch   func(store.Watch) store.Watch
	wantChannel func(store.Channel) store.Channel
	wantOutbox  []string
}

// w1 is watch w1 in state, naming channel until exp, after two failures.
func w1(state store.WatchState, channel string, exp time.Time) store.Watch {
	w := sampleWatch("w1")
	w.State, w.ChannelID, w.ChannelExpiration, w.Failures = state, channel, exp, 2
	return w
}

// endedW1 is what ended("w1", ...) leaves of w.
func endedW1(w store.Watch) store.Watch {
	w.State, w.ChannelID, w.ChannelExpiration = store.WatchFailed, "", time.Time{}
	w.LastError, w.Failures, w.UpdatedAt = "revoked", 3, stored(t0)
	return w
}

func endCases() []endCase {
	live := sampleChannel("c1", "w1")
	live.State = store.ChannelActive
	lapsed := live
	lapsed.Expiration = t0.Add(-time.Minute)
	active := w1(store.WatchActive, "c1", live.Expiration)
	held := active
	held.LeaseHolder, held.LeaseUntil = "h1", t0.Add(time.Minute)
	return []endCase{
		{
			// Sync's end: failed, no channel, failures+1, its live
			// channel retired and its event kept, in one step; the
			// lease, which Sync does not hold, is left alone.
			name: "active watch", watch: held, channel: live, end: ended("w1", ""), ended: true,
			wantWatch: endedW1,
			wantChannel: func(c store.Channel) store.Channel {
				c.State, c.AcceptUntil = store.ChannelStopping, stored(t0.Add(10*time.Minute))
				return c
			},
			wantOutbox: []string{"w1/failed/c1"},
		},
		{
			// Renew's end, under its lease: the lease is given back in
			// the same step, and a lapsed channel is finished expired.
			name: "holder's end of a lapsed channel", watch: held, channel: lapsed, end: ended("w1", "h1"), ended: true,
			wantWatch: func(w store.Watch) store.Watch {
				w = endedW1(w)
				w.LeaseHolder, w.LeaseUntil = "", time.Time{}
				return w
			},
			wantChannel: func(c store.Channel) store.Channel {
				c.State, c.AcceptUntil = store.ChannelExpired, stored(t0.Add(10*time.Minute))
				c.DeleteAt = stored(t0.Add(store.Retention))
				return c
			},
			wantOutbox: []string{"w1/failed/c1"},
		},
		// A claim that lost the lease writes nothing.
		{name: "another holder", watch: held, channel: live, end: ended("w1", "h2"), wantErr: store.ErrLeaseLost},
		// The user removed the watch: it stays deleted, its channel
		// live for the purge to stop, and no event.
		{name: "deleted watch", watch: w1(store.WatchDeleted, "c1", live.Expiration), channel: live, end: ended("w1", "")},
		// Ended already (by Renew, or another Sync): not ended twice.
		{name: "failed watch", watch: w1(store.WatchFailed, "", time.Time{}), end: ended("w1", "")},
		// A watch naming a record that is gone still ends.
		{name: "missing channel record", watch: active, end: ended("w1", ""), ended: true, wantWatch: endedW1, wantOutbox: []string{"w1/failed/c1"}},
	}
}

// testEnd runs endCases, the table of EndWatch's rule (plan), as part of
// testContract.
func testEnd(t *testing.T, newStore func(t *testing.T) contractStore) {
	for _, tt := range endCases() {
		t.Run("EndWatch/"+tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			mustCreateWatches(t, s, tt.watch)
			if tt.channel.ID != "" {
				mustCreateChannels(t, s, tt.channel)
			}
			got, ok, err := s.EndWatch(t.Context(), tt.end)
			if !errors.Is(err, tt.wantErr) || ok != tt.ended {
				t.Fatalf("EndWatch = %v, %v; want ended %v, error %v", ok, err, tt.ended, tt.wantErr)
			}
			wantW, wantC := normalWatch(tt.watch), normalChannel(tt.channel)
			if tt.wantWatch != nil {
				wantW = tt.wantWatch(wantW)
			}
			if tt.wantChannel != nil {
				wantC = tt.wantChannel(wantC)
			}
			if w, _ := s.Watch(t.Context(), "w1"); !cmp.Equal(wantW, w) {
				t.Errorf("watch (-want +got):\n%s", cmp.Diff(wantW, w))
			}
			if tt.channel.ID != "" {
				c, _ := s.Channel(t.Context(), tt.channel.ID)
				if diff := cmp.Diff(wantC, c); diff != "" {
					t.Errorf("channel (-want +got):\n%s", diff)
				}
				if tt.ended && !cmp.Equal(wantC, got) {
					t.Errorf("EndWatch returned the channel %+v, want it as retired, %+v", got, wantC)
				}
			}
			if diff := cmp.Diff(append([]string{}, tt.wantOutbox...), outboxIDs(t, s)); diff != "" {
				t.Errorf("outbox (-want +got):\n%s", diff)
			}
		})
	}
}

// testEndAfterRenewal: Sync read the watch naming c1; a pass then renewed
// it to c2 and retired c1. The end is the watch's as it is now: c2 is
// retired, and the event names it; c1 keeps its own retirement.
func testEndAfterRenewal(t *testing.T, s contractStore) {
	c1 := sampleChannel("c1", "w1")
	c1.State = store.ChannelActive
	mustCreateWatches(t, s, w1(store.WatchActive, "c1", c1.Expiration))
	mustCreateChannels(t, s, c1)
	read, err := s.Watch(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.LeaseWatch(t.Context(), "w1", lease("h1", t0.Add(time.Minute)), t0, func(store.Watch) (store.Channel, bool) {
		return sampleChannel("c2", "w1"), true
	})
	if err != nil {
		t.Fatal(err)
	}
	a := activation("c2", "w1", "h1")
	a.AcceptOldUntil = t0.Add(time.Minute)
	if err := s.ActivateChannel(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	c2, ok, err := s.EndWatch(t.Context(), ended(read.ID, ""))
	if err != nil || !ok {
		t.Fatalf("EndWatch = %v, %v; want ended", ok, err)
	}
	if c2.ID != "c2" || c2.State != store.ChannelStopping {
		t.Errorf("EndWatch retired %s (%s), want c2 stopping", c2.ID, c2.State)
	}
	if c, _ := s.Channel(t.Context(), "c2"); c.State != store.ChannelStopping || !c.AcceptUntil.Equal(stored(t0.Add(10*time.Minute))) {
		t.Errorf("the renewed channel is %s until %v, want stopping until %v", c.State, c.AcceptUntil, stored(t0.Add(10*time.Minute)))
	}
	if c, _ := s.Channel(t.Context(), "c1"); c.State != store.ChannelStopping || !c.AcceptUntil.Equal(stored(t0.Add(time.Minute))) {
		t.Errorf("the replaced channel is %s until %v, want its renewal's retirement", c.State, c.AcceptUntil)
	}
	if w, _ := s.Watch(t.Context(), "w1"); w.State != store.WatchFailed || w.ChannelID != "" {
		t.Errorf("watch %s naming %q, want failed naming none", w.State, w.ChannelID)
	}
	if diff := cmp.Diff([]string{"w1/failed/c2"}, outboxIDs(t, s)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
}

// testEndRefuses: an end to a state that is not one is refused, and a
// watch that is not there (or cannot be) is not ended, with no error.
func testEndRefuses(t *testing.T, s contractStore) {
	mustCreateWatches(t, s, w1(store.WatchActive, "", time.Time{}))
	e := ended("w1", "")
	e.State = store.WatchDeleted
	if _, ok, err := s.EndWatch(t.Context(), e); err == nil || ok {
		t.Errorf("EndWatch to deleted = %v, %v; want an error", ok, err)
	}
	for _, id := range append([]string{"no-such-watch"}, invalidIDs...) {
		if _, ok, err := s.EndWatch(t.Context(), ended(id, "")); err != nil || ok {
			t.Errorf("EndWatch(%q) = %v, %v; want nothing ended and no error", id, ok, err)
		}
	}
	if w, _ := s.Watch(t.Context(), "w1"); w.State != store.WatchActive {
		t.Errorf("watch %s, want active", w.State)
	}
}
