package receive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// emuNow is the receiving time on the emulators, at the microsecond
// precision Firestore keeps.
var emuNow = time.Date(2026, 11, 22, 8, 0, 0, 123_000_000, time.UTC)

// emuToken is the token of the emulator tests' channel.
const emuToken = "emu-token-5c1f9a7e3b8d2c6f0a4e"

// emuRig is the Handler on the real emulators, in a project of its own
// (backend.Space): the Firestore store and a Pub/Sub topic with one ordered
// subscription.
type emuRig struct {
	store   *store.Firestore
	client  *pubsub.Client
	sub     string
	handler *receive.Handler
	logs    *bytes.Buffer
}

func newEmuRig(t *testing.T) *emuRig {
	t.Helper()
	space := backend.New(t)
	fs := space.Firestore(t)
	client := space.PubSub(t)
	topic, sub := emuTopic(t, client, space.Project)
	pub, err := event.NewPublisher(client, topic, policy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Stop)

	r := &emuRig{store: fs, client: client, sub: sub, logs: &bytes.Buffer{}}
	r.handler, err = receive.New(receive.Deps{
		Channels:  fs,
		Publisher: pub,
		Logger:    logging.New(r.logs, slog.LevelDebug),
		Now:       func() time.Time { return emuNow },
		Project:   space.Project,
		Timeout:   10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// emuTopic makes the topic events in the project on the emulator, with an
// ordered subscription sub, and returns the topic's id and the
// subscription's name.
func emuTopic(t testing.TB, client *pubsub.Client, project string) (topic, sub string) {
	t.Helper()
	ctx := context.Background()
	topic = "events"
	if err := event.EnsureTopic(ctx, client, project, topic); err != nil {
		t.Fatal(err)
	}
	sub, err := event.Subscribe(ctx, client, project, topic, "sub")
	if err != nil {
		t.Fatal(err)
	}
	return topic, sub
}

// receive pulls from the rig's subscription for up to wait, acking
// everything, and returns as soon as want messages have arrived.
func (r *emuRig) receive(t *testing.T, want int, wait time.Duration) []*pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var (
		mu  sync.Mutex
		got []*pubsub.Message
	)
	err := r.client.Subscriber(r.sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if len(got) >= want {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// emuRequest is a Drive files update from Google, to the emulator channel.
func emuRequest(channelID, token, resourceID, state string, number int) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/receive", nil)
	h := req.Header
	h.Set("X-Goog-Channel-ID", channelID)
	h.Set("X-Goog-Channel-Expiration", "Tue, 24 Nov 2026 08:00:00 GMT")
	h.Set("X-Goog-Resource-ID", "  "+resourceID)
	h.Set("X-Goog-Resource-URI", "https://www.googleapis.com/drive/v3/files/"+resourceID)
	h.Set("X-Goog-Resource-State", "  "+state)
	h.Set("X-Goog-Message-Number", fmt.Sprint(number))
	if state == "update" {
		h.Set("X-Goog-Changed", "content, properties")
	}
	if token != "" {
		h.Set("X-Goog-Channel-Token", token)
	}
	return req
}

// TestReceiveOnEmulators runs the handler on the real Firestore and Pub/Sub
// emulators: forged and stray notifications publish nothing a subscriber can
// pull; a valid one arrives once, with docs/DESIGN.md's attributes, the watch id
// as ordering key, and its data; a sync records the pending channel in
// Firestore.
func TestReceiveOnEmulators(t *testing.T) {
	t.Parallel()
	r := newEmuRig(t)
	ctx := t.Context()
	for _, c := range []store.Channel{
		{ID: "emu-live", WatchID: "w-emu", Kind: "drive.files", ResourceID: "file-1",
			ResourceURI: "https://www.googleapis.com/drive/v3/files/file-1", TokenHash: store.HashToken(emuToken),
			State: store.ChannelActive, Expiration: emuNow.Add(time.Hour), Labels: map[string]string{"tenant": "acme"}},
		{ID: "emu-retired", WatchID: "w-emu", Kind: "drive.files", ResourceID: "file-1",
			TokenHash: store.HashToken(emuToken), State: store.ChannelStopped, AcceptUntil: emuNow.Add(-time.Second)},
		{ID: "emu-pending", WatchID: "w-emu", Kind: "drive.files",
			TokenHash: store.HashToken(emuToken), State: store.ChannelPending, Expiration: emuNow.Add(time.Hour)},
	} {
		if err := r.store.CreateChannel(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	// Forged and stray notifications: each answered, none published.
	forged := []struct {
		name   string
		req    *http.Request
		status int
	}{
		// A guessed token.
		{"wrong token", emuRequest("emu-live", "guess", "file-1", "update", 10), http.StatusForbidden},
		// No token at all.
		{"missing token", emuRequest("emu-live", "", "file-1", "update", 10), http.StatusForbidden},
		// The right token for another resource.
		{"other resource", emuRequest("emu-live", emuToken, "file-2", "update", 10), http.StatusForbidden},
		// A channel nobody made.
		{"unknown channel", emuRequest("emu-nobody", emuToken, "file-1", "update", 10), http.StatusNoContent},
		// Ids no Firestore document can have: strays too, never a 503.
		{"slash in channel id", emuRequest("a/b", emuToken, "file-1", "update", 10), http.StatusNoContent},
		{"reserved channel id", emuRequest("__x__", emuToken, "file-1", "update", 10), http.StatusNoContent},
		// A channel retired and past its grace.
		{"retired", emuRequest("emu-retired", emuToken, "file-1", "update", 10), http.StatusNoContent},
	}
	for _, f := range forged {
		w := httptest.NewRecorder()
		r.handler.ServeHTTP(w, f.req)
		if w.Code != f.status {
			t.Errorf("%s: status %d (%q), want %d", f.name, w.Code, w.Body, f.status)
		}
	}
	if got := r.receive(t, 1, 2*time.Second); len(got) != 0 {
		t.Fatalf("forged notifications published %d messages, first %v", len(got), got[0].Attributes)
	}

	// A valid notification: 200, and exactly its event.
	w := httptest.NewRecorder()
	r.handler.ServeHTTP(w, emuRequest("emu-live", emuToken, "file-1", "update", 10))
	if w.Code != http.StatusOK {
		t.Fatalf("valid: status %d (%q), want 200", w.Code, w.Body)
	}
	got := r.receive(t, 2, 2*time.Second) // waits the full 2 s unless a second, unwanted one arrives
	if len(got) != 1 {
		t.Fatalf("valid: %d messages arrived, want 1", len(got))
	}
	m := got[0]
	wantAttrs := map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          "emu-live/10",
		"ce-source":      "https://www.googleapis.com/drive/v3/files/file-1",
		"ce-type":        "watchrelay.notification.v1",
		"ce-time":        "2026-11-22T08:00:00.123Z",
		"ce-subject":     "file-1",
		"content-type":   "application/json",
		"watch_id":       "w-emu",
		"kind":           "drive.files",
		"resource_state": "update",
	}
	if diff := cmp.Diff(wantAttrs, m.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if m.OrderingKey != "w-emu" {
		t.Errorf("ordering key %q, want the watch id w-emu", m.OrderingKey)
	}
	var data, wantData map[string]any
	if err := json.Unmarshal(m.Data, &data); err != nil {
		t.Fatalf("data %s: %v", m.Data, err)
	}
	if err := json.Unmarshal([]byte(`{
		"watchId": "w-emu", "channelId": "emu-live", "kind": "drive.files",
		"messageNumber": 10, "resourceState": "update", "resourceId": "file-1",
		"resourceUri": "https://www.googleapis.com/drive/v3/files/file-1",
		"changed": ["content", "properties"], "channelExpiration": "2026-11-24T08:00:00Z",
		"receivedAt": "2026-11-22T08:00:00.123Z", "labels": {"tenant": "acme"}
	}`), &wantData); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantData, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}

	// A sync to the pending channel records what Renew needs to stop it.
	w = httptest.NewRecorder()
	r.handler.ServeHTTP(w, emuRequest("emu-pending", emuToken, "file-9", "sync", 1))
	if w.Code != http.StatusOK {
		t.Fatalf("sync: status %d (%q), want 200", w.Code, w.Body)
	}
	c, err := r.store.Channel(ctx, "emu-pending")
	if err != nil {
		t.Fatal(err)
	}
	if c.ResourceID != "file-9" || c.ResourceURI != "https://www.googleapis.com/drive/v3/files/file-9" ||
		!c.SyncedAt.Equal(emuNow) || c.State != store.ChannelPending {
		t.Errorf("after sync, pending channel is %+v; want resource file-9 recorded, syncedAt %v, still pending", c, emuNow)
	}
	if got := r.receive(t, 1, 10*time.Second); len(got) != 1 || got[0].Attributes["ce-id"] != "emu-pending/1" {
		t.Errorf("sync: got %d messages, want emu-pending/1", len(got))
	}

	if strings.Contains(r.logs.String(), emuToken) {
		t.Errorf("the token reached the log:\n%s", r.logs)
	}
}
