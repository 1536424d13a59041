package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// A pass claims a watch and, in the same write, stores its next channel as
// pending before calling Google's watch method; then it activates the
// channel with what Google granted, under the same claim.
func ExampleMemory() {
	ctx := context.Background()
	s := store.NewMemory()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

	err := s.CreateWatch(ctx, store.Watch{
		ID:        "w-42",
		Kind:      "calendar.events",
		Params:    map[string]string{"calendarId": "primary"},
		Labels:    map[string]string{"tenant": "acme"},
		State:     store.WatchActive,
		CreatedAt: now,
		UpdatedAt: now,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	claim := store.Lease{Holder: "pass-1/claim-1", Until: now.Add(5 * time.Minute)}
	_, err = s.LeaseWatch(ctx, "w-42", claim, now, func(w store.Watch) (store.Channel, bool) {
		return store.Channel{
			ID:        "4ba78bf0-6a47-11e2-bcfd-0800200c9a66",
			WatchID:   w.ID,
			Kind:      w.Kind,
			TokenHash: store.HashToken("the channel token, never stored itself"),
			State:     store.ChannelPending,
			Labels:    w.Labels,
			CreatedAt: now,
		}, true
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Google answered the watch call with a resource id and an expiration.
	expiration := now.Add(7 * 24 * time.Hour)
	err = s.ActivateChannel(ctx, store.Activation{
		ChannelID:   "4ba78bf0-6a47-11e2-bcfd-0800200c9a66",
		WatchID:     "w-42",
		Holder:      claim.Holder,
		ResourceID:  "ret08u3rv24htgh289g",
		ResourceURI: "https://www.googleapis.com/calendar/v3/calendars/primary/events",
		Expiration:  expiration,
		Now:         now,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	c, _ := s.Channel(ctx, "4ba78bf0-6a47-11e2-bcfd-0800200c9a66")
	w, _ := s.Watch(ctx, "w-42")
	fmt.Println(c.State, c.ResourceID, c.Accepts(now))
	fmt.Println(w.ChannelID, w.ChannelExpiration.Format(time.RFC3339))

	_, err = s.Watch(ctx, "w-missing")
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// active ret08u3rv24htgh289g true
	// 4ba78bf0-6a47-11e2-bcfd-0800200c9a66 2026-11-29T08:00:00Z
	// true
}
