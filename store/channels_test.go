package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/store"
)

// Channels: their round trip, updates and query, and the copies both
// stores hand out. Cases of contractCases, run on both stores.

func testChannelRoundTrip(t *testing.T, s contractStore) {
	c := sampleChannel("c1", "w1")
	c.ResourceID, c.ResourceURI = "r1", "https://www.googleapis.com/calendar/v3/calendars/primary/events"
	c.AcceptUntil, c.SyncedAt, c.StoppedAt, c.DeleteAt = t0.Add(1), t0.Add(2*time.Microsecond), t0.Add(3*time.Second), t0.Add(72*time.Hour)
	mustCreateChannels(t, s, c)
	got, err := s.Channel(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalChannel(c), got); diff != "" {
		t.Errorf("Channel (-want +got):\n%s", diff)
	}
	if got.Expiration.Location() != time.UTC {
		t.Errorf("Expiration location = %v, want UTC", got.Expiration.Location())
	}
}

func testEmptyFieldsRoundTrip(t *testing.T, s contractStore) {
	// Nothing but the id and kind: zero times and nil maps come back
	// as they went in.
	w := store.Watch{ID: "w1", Kind: "calendar.calendarList", State: store.WatchActive}
	c := store.Channel{ID: "c1", WatchID: "w1", State: store.ChannelPending}
	mustCreateWatches(t, s, w)
	mustCreateChannels(t, s, c)
	gw, err := s.Watch(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, gw); diff != "" {
		t.Errorf("Watch (-want +got):\n%s", diff)
	}
	if !gw.ChannelExpiration.IsZero() {
		t.Errorf("ChannelExpiration = %v, want zero", gw.ChannelExpiration)
	}
	gc, err := s.Channel(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, gc); diff != "" {
		t.Errorf("Channel (-want +got):\n%s", diff)
	}
}

func testUpdateChannel(t *testing.T, s contractStore) {
	c := sampleChannel("c1", "w1")
	c.ResourceID = "r1"
	mustCreateChannels(t, s, c)
	want := normalChannel(c)
	tests := []struct {
		name   string
		update store.ChannelUpdate
		change func(*store.Channel)
	}{
		{"an empty update changes nothing", store.ChannelUpdate{}, func(*store.Channel) {}},
		{"retire it", store.ChannelUpdate{State: store.Ptr(store.ChannelStopping), AcceptUntil: store.Ptr(t0.Add(time.Minute))},
			func(c *store.Channel) { c.State, c.AcceptUntil = store.ChannelStopping, stored(t0.Add(time.Minute)) }},
		{"every field", store.ChannelUpdate{
			State: store.Ptr(store.ChannelStopped), ResourceID: store.Ptr("r2"), ResourceURI: store.Ptr("u2"),
			Expiration: store.Ptr(t0.Add(2 * time.Hour)), AcceptUntil: store.Ptr(t0.Add(3 * time.Minute)),
			SyncedAt: store.Ptr(t0.Add(time.Second)), StoppedAt: store.Ptr(t0.Add(4 * time.Minute)), DeleteAt: store.Ptr(t0.Add(72 * time.Hour)),
		}, func(c *store.Channel) {
			c.State, c.ResourceID, c.ResourceURI = store.ChannelStopped, "r2", "u2"
			c.Expiration, c.AcceptUntil = stored(t0.Add(2*time.Hour)), stored(t0.Add(3*time.Minute))
			c.SyncedAt, c.StoppedAt, c.DeleteAt = stored(t0.Add(time.Second)), stored(t0.Add(4*time.Minute)), stored(t0.Add(72*time.Hour))
		}},
		{"zero values are written", store.ChannelUpdate{ResourceID: store.Ptr(""), StoppedAt: store.Ptr(time.Time{})},
			func(c *store.Channel) { c.ResourceID, c.StoppedAt = "", time.Time{} }},
	}
	for _, tt := range tests {
		if err := s.UpdateChannel(t.Context(), "c1", tt.update); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		tt.change(&want)
		got, err := s.Channel(t.Context(), "c1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// A channel written by a version before store.Cursor.NotifiedAt carries
// deliveredAt, which nothing reads or writes any more: the channel reads
// and updates as any other, the field ignored. Firestore only: a Memory
// store never outlives its process, so it has no old documents.
func TestChannelWithDeliveredAt(t *testing.T) {
	t.Parallel()
	emulator.Require(t)
	s := backend.New(t).Firestore(t)
	c := sampleChannel("c1", "w1")
	mustCreateChannels(t, s, c)
	backend.MarkChannelDelivered(t, s, "c1", t0)
	want := normalChannel(c)
	want.State = store.ChannelStopping
	if err := s.UpdateChannel(t.Context(), "c1", store.ChannelUpdate{State: &want.State}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Channel(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Channel (-want +got):\n%s", diff)
	}
}

func testChannelsByState(t *testing.T, s contractStore) {
	mk := func(id string, state store.ChannelState, exp time.Time) store.Channel {
		c := sampleChannel(id, "w1")
		c.State, c.Expiration = state, exp
		return c
	}
	mustCreateChannels(t, s,
		mk("stop-late", store.ChannelStopping, t0.Add(2*time.Hour)),
		mk("stop-b", store.ChannelStopping, t0.Add(time.Minute)),
		mk("stop-a", store.ChannelStopping, t0.Add(time.Minute)),
		mk("stop-first", store.ChannelStopping, t0),
		mk("active", store.ChannelActive, t0),
		mk("pending", store.ChannelPending, t0.Add(-time.Hour)),
	)
	tests := []struct {
		name   string
		state  store.ChannelState
		before time.Time
		limit  int
		want   []string
	}{
		{"soonest first, ties by id, before is exclusive", store.ChannelStopping, stored(t0.Add(2 * time.Hour)), 0,
			[]string{"stop-first", "stop-a", "stop-b"}},
		{"limit", store.ChannelStopping, t0.Add(3 * time.Hour), 2, []string{"stop-first", "stop-a"}},
		{"other states stay out", store.ChannelPending, t0.Add(3 * time.Hour), 0, []string{"pending"}},
		{"nothing before the bound", store.ChannelActive, stored(t0), 0, []string{}},
	}
	for _, tt := range tests {
		got, err := s.ChannelsByState(t.Context(), tt.state, tt.before, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, channelIDs(got)); diff != "" {
			t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
		}
	}
	got, err := s.ChannelsByState(t.Context(), store.ChannelPending, t0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Channel{normalChannel(mk("pending", store.ChannelPending, t0.Add(-time.Hour)))}, got); diff != "" {
		t.Errorf("ChannelsByState returns whole channels (-want +got):\n%s", diff)
	}
}

func testMapsNotShared(t *testing.T, s contractStore) {
	w := sampleWatch("w1")
	c := sampleChannel("c1", "w1")
	mustCreateWatches(t, s, w)
	mustCreateChannels(t, s, c)
	// Change the caller's maps after the create...
	w.Params["calendarId"], w.Labels["tenant"], c.Labels["tenant"] = "changed", "changed", "changed"
	// ...and the maps of what a read returned.
	got, err := s.Watch(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	got.Params["calendarId"], got.Labels["extra"] = "changed", "x"
	gotC, err := s.Channel(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	gotC.Labels["tenant"] = "changed"
	listed, err := s.Watches(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	listed[0].Labels["tenant"] = "changed"

	again, err := s.Watch(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalWatch(sampleWatch("w1")), again); diff != "" {
		t.Errorf("watch (-want +got):\n%s", diff)
	}
	againC, err := s.Channel(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalChannel(sampleChannel("c1", "w1")), againC); diff != "" {
		t.Errorf("channel (-want +got):\n%s", diff)
	}
}
