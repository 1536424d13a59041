package event_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/watchrelay/watchrelay/internal/event"
)

// A lifecycle event renders in binary content mode: every ce- attribute,
// the filter attributes, the watch id as ordering key, the data as JSON.
func TestMessage(t *testing.T) {
	// ce-time keeps milliseconds of a clock that has nanoseconds.
	at := time.Date(2026, 11, 22, 8, 0, 0, 123456789, time.UTC)
	exp := time.Date(2026, 11, 22, 9, 0, 0, 123e6, time.UTC)
	m, err := event.Event{
		ID: "w-42/" + event.TypeRenewed + "/ch-2", Source: "//watchrelay/watches/w-42", Type: event.TypeRenewed,
		Subject: "w-42", Time: at, WatchID: "w-42", Kind: "drive.files",
		Data: event.LifecycleData{WatchID: "w-42", Kind: "drive.files", OldChannelID: "ch-1", NewChannelID: "ch-2", NewExpiration: &exp},
	}.Message()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion": "1.0", "ce-id": "w-42/" + event.TypeRenewed + "/ch-2", "ce-source": "//watchrelay/watches/w-42",
		"ce-type": event.TypeRenewed, "ce-time": "2026-11-22T08:00:00.123Z", "ce-subject": "w-42",
		"content-type": "application/json", "watch_id": "w-42", "kind": "drive.files",
	}
	if diff := cmp.Diff(want, m.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if m.OrderingKey != "w-42" {
		t.Errorf("ordering key %q, want the watch id", m.OrderingKey)
	}
	var data map[string]any
	if err := json.Unmarshal(m.Data, &data); err != nil {
		t.Fatal(err)
	}
	wantData := map[string]any{"watchId": "w-42", "kind": "drive.files", "oldChannelId": "ch-1", "newChannelId": "ch-2", "newExpiration": "2026-11-22T09:00:00.123Z"}
	if diff := cmp.Diff(wantData, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

// Data that cannot be JSON is an error, not an empty message.
func TestMessageBadData(t *testing.T) {
	if _, err := (event.Event{ID: "x", Data: make(chan int)}).Message(); err == nil {
		t.Error("a channel marshalled")
	}
}

// failFirst is a pstest reactor that refuses the first n publishes with an
// error the client does not retry.
type failFirst struct {
	mu sync.Mutex
	n  int
}

func (f *failFirst) React(any) (bool, any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return false, nil, nil
	}
	f.n--
	return true, nil, status.Error(codes.PermissionDenied, "injected")
}

// A failed publish pauses its ordering key in the client; Publish resumes
// it, so that Google's retry of the same notification, on the same
// event.Publisher, goes through instead of failing on a paused key for good.
func TestPublishResumesAfterFailure(t *testing.T) {
	ctx := t.Context()
	srv, p := startPublisher(t, failFast, &failFirst{n: 1})
	e := event.Event{ID: "ch-1/10", Type: event.TypeNotification, Time: time.Now(), WatchID: "w-1", Data: map[string]int{"n": 10}}
	if err := p.Publish(ctx, e); !errors.Is(err, event.ErrUnavailable) {
		t.Fatalf("first publish = %v, want ErrUnavailable", err)
	}
	if err := p.Publish(ctx, e); err != nil {
		t.Fatalf("the retry on the same ordering key failed: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages stored, want the retry's 1", n)
	}
}

// A lifecycle event's id names the watch, the type and the channel it is
// about: the new one, or the old one when there is none. Renew and Sync both
// build them here, so a repeat from either dedupes.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, typ string
		data      event.LifecycleData
		id        string
	}{
		// A renewal is about the channel it opened.
		{"renewed", event.TypeRenewed, event.LifecycleData{WatchID: "w", Kind: "drive.files", OldChannelID: "old", NewChannelID: "new"}, "w/watchrelay.watch.renewed.v1/new"},
		// An end is about the channel it retired.
		{"failed", event.TypeFailed, event.LifecycleData{WatchID: "w", Kind: "drive.files", OldChannelID: "old"}, "w/watchrelay.watch.failed.v1/old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := event.Lifecycle(tc.typ, tc.data, now)
			if e.ID != tc.id || e.Source != "//watchrelay/watches/w" || e.Subject != "w" || e.WatchID != "w" ||
				e.Kind != "drive.files" || e.Type != tc.typ || !e.Time.Equal(now) {
				t.Errorf("Lifecycle = %+v, want id %s", e, tc.id)
			}
		})
	}
}
