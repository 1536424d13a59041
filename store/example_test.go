package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// A pass creates a watch, stores its next channel as pending before calling
// Google's watch method, then activates it with what Google granted.
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
	err = s.CreateChannel(ctx, store.Channel{
		ID:        "4ba78bf0-6a47-11e2-bcfd-0800200c9a66",
		WatchID:   "w-42",
		Kind:      "calendar.events",
		TokenHash: store.HashToken("the channel token, never stored itself"),
		State:     store.ChannelPending,
		Labels:    map[string]string{"tenant": "acme"},
		CreatedAt: now,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Google answered the watch call with a resource id and an expiration.
	expiration := now.Add(7 * 24 * time.Hour)
	err = s.ActivateChannel(ctx, "4ba78bf0-6a47-11e2-bcfd-0800200c9a66",
		"ret08u3rv24htgh289g", "https://www.googleapis.com/calendar/v3/calendars/primary/events",
		expiration, now.Add(10*time.Minute), now)
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
