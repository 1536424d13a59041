package receive_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// The channels of the contract tests. Tokens are long and distinctive so a
// test can search every log line and response for them.
const (
	tok1 = "tok-one-7f3a9c1e5b2d8f4a6c0e"
	tok2 = "tok-two-1b9d7f5a3c8e2d6f4a0c"
)

var contractChannels = map[string]testChannel{
	// A live channel.
	"ch-1": {watch: "w-1", kind: "calendar.events", token: tok1, resourceID: "res-1",
		labels: map[string]string{"tenant": "acme"}},
	// Another live channel, of another resource.
	"ch-2": {watch: "w-2", kind: "drive.files", token: tok2, resourceID: "res-2"},
	// Retired, grace over.
	"ch-old": {watch: "w-1", kind: "calendar.events", token: tok1, resourceID: "res-1",
		state: store.ChannelStopped, acceptUntil: t0.Add(-time.Second)},
	// Retired, still within its grace period.
	"ch-grace": {watch: "w-1", kind: "calendar.events", token: tok1, resourceID: "res-1",
		state: store.ChannelStopping, acceptUntil: t0.Add(time.Minute)},
	// Google refused the watch call.
	"ch-failed": {watch: "w-1", kind: "calendar.events", token: tok1, resourceID: "res-1",
		state: store.ChannelFailed},
	// Watch call in flight; the resource id is not known yet.
	"ch-pending": {watch: "w-3", kind: "calendar.events", token: tok1, state: store.ChannelPending},
}

// valid is a notification ch-1 accepts.
func valid(kv ...string) *http.Request {
	return notification("ch-1", tok1, "res-1", "exists", 7, kv...)
}

// TestReceiveContract has one row per line of docs/DESIGN.md's Receive table (and
// the cases of the issue under each): the status, the headers that go with
// it, and what reached Pub/Sub, read from the fake's side. After each row a
// valid notification is sent and must be the only message, which proves the
// pipeline was live while the row published nothing.
func TestReceiveContract(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	tests := []struct {
		name      string
		req       func() *http.Request
		status    int
		published string // the ce-id of the one event the row publishes, or ""
		reason    string // in the body of a 4xx
	}{
		// Row: valid notification of a live channel → 2xx, one event.
		{"valid, active channel", func() *http.Request { return valid() }, 200, "ch-1/7", ""},
		// Row: a pending channel accepts (the sync may beat the watch
		// response).
		{"valid, pending channel", func() *http.Request {
			return notification("ch-pending", tok1, "res-9", "exists", 3)
		}, 200, "ch-pending/3", ""},
		// Row: a retired channel within acceptUntil still accepts.
		{"valid, retired within grace", func() *http.Request {
			return notification("ch-grace", tok1, "res-1", "exists", 8)
		}, 200, "ch-grace/8", ""},
		// A state Google may add later is not refused.
		{"unknown resource state kept", func() *http.Request { return valid(receive.HeaderResourceState, "teleported") }, 200, "ch-1/7", ""},
		// Two copies of a header with the same value are one value.
		{"duplicated header, same value", func() *http.Request {
			r := valid()
			r.Header.Add(receive.HeaderChannelID, "ch-1")
			return r
		}, 200, "ch-1/7", ""},
		// A body that is not JSON is dropped, the event still goes out.
		{"non-JSON body", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader("not json"))
			r.Header = valid().Header
			return r
		}, 200, "ch-1/7", ""},
		// 64 KiB exactly is still accepted.
		{"body of 64 KiB", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(`"`+strings.Repeat("x", receive.MaxBody-2)+`"`))
			r.Header = valid().Header
			return r
		}, 200, "ch-1/7", ""},

		// Row: not POST → 405 with Allow: POST.
		{"GET", func() *http.Request { r := valid(); r.Method = http.MethodGet; return r }, 405, "", "POST"},
		{"PUT", func() *http.Request { r := valid(); r.Method = http.MethodPut; return r }, 405, "", "POST"},

		// Row: required header missing or malformed → 400 with a reason.
		{"message number 0", func() *http.Request { return valid(receive.HeaderMessageNumber, "0") }, 400, "", "X-Goog-Message-Number"},
		{"message number -1", func() *http.Request { return valid(receive.HeaderMessageNumber, "-1") }, 400, "", "X-Goog-Message-Number"},
		{"message number abc", func() *http.Request { return valid(receive.HeaderMessageNumber, "abc") }, 400, "", "X-Goog-Message-Number"},
		{"message number 1e3", func() *http.Request { return valid(receive.HeaderMessageNumber, "1e3") }, 400, "", "X-Goog-Message-Number"},
		{"message number +1", func() *http.Request { return valid(receive.HeaderMessageNumber, "+1") }, 400, "", "X-Goog-Message-Number"},
		{"message number past int64", func() *http.Request {
			return valid(receive.HeaderMessageNumber, "9223372036854775808")
		}, 400, "", "X-Goog-Message-Number"},
		{"message number empty", func() *http.Request {
			r := valid()
			r.Header[receive.HeaderMessageNumber] = []string{""}
			return r
		}, 400, "", "X-Goog-Message-Number"},
		{"resource id blank", func() *http.Request {
			r := valid()
			r.Header[receive.HeaderResourceID] = []string{"   "}
			return r
		}, 400, "", "X-Goog-Resource-Id"},
		{"channel id missing", func() *http.Request { return valid(receive.HeaderChannelID, "") }, 400, "", "X-Goog-Channel-Id"},
		{"resource state missing", func() *http.Request { return valid(receive.HeaderResourceState, "") }, 400, "", "X-Goog-Resource-State"},
		{"resource uri missing", func() *http.Request { return valid(receive.HeaderResourceURI, "") }, 400, "", "X-Goog-Resource-Uri"},
		{"channel id sent twice, different", func() *http.Request {
			r := valid()
			r.Header.Add(receive.HeaderChannelID, "ch-2")
			return r
		}, 400, "", "sent twice"},
		{"message number sent twice, different", func() *http.Request {
			r := valid()
			r.Header.Add(receive.HeaderMessageNumber, "8")
			return r
		}, 400, "", "sent twice"},
		{"token sent twice, different", func() *http.Request {
			r := valid()
			r.Header.Add(receive.HeaderChannelToken, tok2)
			return r
		}, 400, "", "sent twice"},
		{"channel id over 64", func() *http.Request { return valid(receive.HeaderChannelID, long) }, 400, "", "longer than 64"},
		{"token over 256", func() *http.Request {
			return valid(receive.HeaderChannelToken, strings.Repeat("t", 257))
		}, 400, "", "longer than 256"},
		{"expiration not a date", func() *http.Request {
			return valid(receive.HeaderChannelExpiration, "tomorrow")
		}, 400, "", "X-Goog-Channel-Expiration"},

		// Row: body over 64 KiB → 413.
		{"65 KiB body", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(strings.Repeat("x", 65<<10)))
			r.Header = valid().Header
			return r
		}, 413, "", "body over"},

		// Row: token missing or wrong, resource id mismatch → 403.
		{"token missing", func() *http.Request { return valid(receive.HeaderChannelToken, "") }, 403, "", "token"},
		{"token wrong", func() *http.Request { return valid(receive.HeaderChannelToken, "guess") }, 403, "", "token"},
		{"token of another channel", func() *http.Request { return valid(receive.HeaderChannelToken, tok2) }, 403, "", "token"},
		{"resource id of another resource", func() *http.Request { return valid(receive.HeaderResourceID, "res-2") }, 403, "", "resource id"},
		// A retired channel still checks its token.
		{"retired channel, wrong token", func() *http.Request {
			return notification("ch-old", tok2, "res-1", "exists", 9)
		}, 403, "", "token"},

		// Row: unknown channel, or retired past acceptUntil → 2xx, stray.
		{"unknown channel", func() *http.Request {
			return notification("ch-nobody", tok1, "res-1", "exists", 7)
		}, 204, "", ""},
		// An id no channel can have (Firestore refuses "/" in ids): a
		// stray, as on the emulator, not an outage.
		{"impossible channel id", func() *http.Request { return valid(receive.HeaderChannelID, "a/b") }, 204, "", ""},
		// googleapiclient: a different channel id is rejected.
		{"different channel id", func() *http.Request { return valid(receive.HeaderChannelID, "different_id") }, 204, "", ""},
		{"retired past acceptUntil", func() *http.Request {
			return notification("ch-old", tok1, "res-1", "exists", 9)
		}, 204, "", ""},
		{"failed channel", func() *http.Request {
			return notification("ch-failed", tok1, "res-1", "exists", 9)
		}, 204, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, contractChannels, nil)
			req := tt.req()
			req.Header.Set("X-Cloud-Trace-Context", "0123456789abcdef/1;o=1")
			w := r.serve(req)
			if w.Code != tt.status {
				t.Fatalf("status %d (%q), want %d", w.Code, w.Body.String(), tt.status)
			}
			if tt.status == 405 && w.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
			}
			body := w.Body.String()
			if tt.reason != "" && !strings.Contains(body, tt.reason) {
				t.Errorf("body %q does not give the reason %q", body, tt.reason)
			}
			if strings.Count(strings.TrimSpace(body), "\n") > 0 {
				t.Errorf("body %q is more than one line", body)
			}
			for _, tok := range []string{tok1, tok2} {
				if strings.Contains(body, tok) || strings.Contains(r.logs.String(), tok) {
					t.Errorf("a token reached the response or the log:\nbody %q\nlog %s", body, r.logs)
				}
			}
			msgs := r.pubsub.Messages()
			var ids []string
			for _, m := range msgs {
				ids = append(ids, m.Attributes["ce-id"])
			}
			if tt.published == "" && len(ids) != 0 {
				t.Fatalf("published %v, want nothing", ids)
			}
			if tt.published != "" && (len(ids) != 1 || ids[0] != tt.published) {
				t.Fatalf("published %v, want [%s]", ids, tt.published)
			}
			if tt.status == 204 {
				if !strings.Contains(r.logs.String(), `"severity":"WARNING","message":"stray notification"`) {
					t.Errorf("no WARNING stray line in the log:\n%s", r.logs)
				}
				if !strings.Contains(r.logs.String(), `"logging.googleapis.com/trace":"projects/watchrelay-test/traces/0123456789abcdef"`) {
					t.Errorf("the stray line has no trace:\n%s", r.logs)
				}
			}

			// The pipeline was live: a valid notification goes through.
			if w := r.serve(notification("ch-1", tok1, "res-1", "exists", 1000)); w.Code != 200 {
				t.Fatalf("the follow-up valid notification got %d", w.Code)
			}
			if got := len(r.pubsub.Messages()) - len(ids); got != 1 {
				t.Fatalf("the follow-up published %d messages, want 1", got)
			}
		})
	}
}

// Row: the same channel id and message number again (a Google retry) → 2xx
// and an event with the same id, which consumers dedupe on.
func TestReceiveRetrySameID(t *testing.T) {
	t.Parallel()
	now := t0
	r := newRig(t, contractChannels, func(d *receive.Deps) {
		d.Now = func() time.Time { now = now.Add(time.Second); return now }
	})
	for i := range 2 {
		if w := r.serve(valid()); w.Code != 200 {
			t.Fatalf("attempt %d: status %d", i, w.Code)
		}
	}
	msgs := r.pubsub.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2 (Receive does not dedupe; consumers do)", len(msgs))
	}
	if a, b := msgs[0].Attributes["ce-id"], msgs[1].Attributes["ce-id"]; a != "ch-1/7" || a != b {
		t.Errorf("ce-ids %q and %q, want both ch-1/7", a, b)
	}
	if msgs[0].Attributes["ce-time"] == msgs[1].Attributes["ce-time"] {
		t.Errorf("both attempts have ce-time %s; the clock moved", msgs[0].Attributes["ce-time"])
	}
}

// countingChannels counts store calls and can fail them.
type countingChannels struct {
	receive.Channels
	reads, updates     atomic.Int32
	readErr, updateErr atomic.Pointer[error]
}

func (c *countingChannels) Channel(ctx context.Context, id string) (store.Channel, error) {
	c.reads.Add(1)
	if err := c.readErr.Load(); err != nil {
		return store.Channel{}, *err
	}
	return c.Channels.Channel(ctx, id)
}

func (c *countingChannels) UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error {
	c.updates.Add(1)
	if err := c.updateErr.Load(); err != nil {
		return *err
	}
	return c.Channels.UpdateChannel(ctx, id, u)
}

// Every notification costs exactly one store read and no write, except the
// sync of a pending channel whose resource id is unknown: one read and one
// write, which records resourceId, resourceUri and syncedAt. A channel
// quiet for hours costs no more: when a watch was last notified is Sync's
// to record (store.Cursor.NotifiedAt).
func TestReceiveStoreCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		req            *http.Request
		status         int
		reads, updates int32
	}{
		// The hot path.
		{"valid notification", valid(), 200, 1, 0},
		// A sync of an active channel: nothing to record.
		{"sync, active channel", notification("ch-1", tok1, "res-1", "sync", 1), 200, 1, 0},
		// Not sync: a pending channel's resource id waits for Renew.
		{"exists, pending channel", notification("ch-pending", tok1, "res-9", "exists", 2), 200, 1, 0},
		// The one write.
		{"sync, pending channel", notification("ch-pending", tok1, "res-9", "sync", 1), 200, 1, 1},
		// Refused before the store is asked.
		{"malformed", valid(receive.HeaderMessageNumber, "x"), 400, 0, 0},
		// Refused after the one read.
		{"forged", valid(receive.HeaderChannelToken, "guess"), 403, 1, 0},
		// A forged sync of a pending channel records nothing.
		{"forged sync, pending channel", notification("ch-pending", "guess", "res-9", "sync", 1), 403, 1, 0},
		// A stray: one read.
		{"unknown channel", notification("ch-nobody", tok1, "res-1", "sync", 1), 204, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cc *countingChannels
			r := newRig(t, contractChannels, func(d *receive.Deps) {
				cc = &countingChannels{Channels: d.Channels}
				d.Channels = cc
			})
			if w := r.serve(tt.req); w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := cc.reads.Load(); got != tt.reads {
				t.Errorf("%d reads, want %d", got, tt.reads)
			}
			if got := cc.updates.Load(); got != tt.updates {
				t.Errorf("%d updates, want %d", got, tt.updates)
			}
			c, err := r.store.Channel(t.Context(), "ch-pending")
			if err != nil {
				t.Fatal(err)
			}
			wantSynced := tt.updates == 1
			if got := c.ResourceID == "res-9" && c.SyncedAt.Equal(t0.Truncate(time.Microsecond)) && c.ResourceURI != ""; got != wantSynced {
				t.Errorf("pending channel recorded = %v, want %v: %+v", got, wantSynced, c)
			}
			if c.State != store.ChannelPending {
				t.Errorf("state %s; Receive must leave the state to Renew", c.State)
			}
		})
	}
}

// Row: Firestore unavailable → 503 and nothing published, until a retry
// succeeds. Any store error but "not found" counts: only Google's retry can
// keep the notification.
func TestReceiveStoreUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		readErr, writeErr error
		req               *http.Request
	}{
		// The store says it is unavailable.
		{"read unavailable", store.ErrUnavailable, nil, valid()},
		// An error the handler has never heard of.
		{"read fails otherwise", errors.New("store: decode channel: boom"), nil, valid()},
		// The caller's deadline ran out.
		{"read times out", context.DeadlineExceeded, nil, valid()},
		// The sync's record fails: no event yet, Google's retry records
		// and publishes.
		{"sync record fails", nil, store.ErrUnavailable, notification("ch-pending", tok1, "res-9", "sync", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cc *countingChannels
			r := newRig(t, contractChannels, func(d *receive.Deps) {
				cc = &countingChannels{Channels: d.Channels}
				d.Channels = cc
			})
			if tt.readErr != nil {
				cc.readErr.Store(&tt.readErr)
			}
			if tt.writeErr != nil {
				cc.updateErr.Store(&tt.writeErr)
			}
			w := r.serve(tt.req)
			if w.Code != 503 {
				t.Fatalf("status %d, want 503", w.Code)
			}
			if strings.Contains(w.Body.String(), "boom") {
				t.Errorf("the 503 body %q tells the caller about the store", w.Body)
			}
			if n := len(r.pubsub.Messages()); n != 0 {
				t.Fatalf("%d messages published during the outage", n)
			}
			if !strings.Contains(r.logs.String(), `"severity":"ERROR"`) {
				t.Errorf("the outage is not logged at ERROR:\n%s", r.logs)
			}

			// The store is back; Google retries the same request.
			cc.readErr.Store(nil)
			cc.updateErr.Store(nil)
			req := tt.req.Clone(t.Context())
			if w := r.serve(req); w.Code != 200 {
				t.Fatalf("retry: status %d, want 200", w.Code)
			}
			if n := len(r.pubsub.Messages()); n != 1 {
				t.Fatalf("retry: %d messages, want exactly 1", n)
			}
		})
	}
}

// switchPublisher lets a test take Pub/Sub away and bring it back under the
// same handler.
type switchPublisher struct {
	p atomic.Pointer[receive.Publisher]
}

func (s *switchPublisher) set(p receive.Publisher) { s.p.Store(&p) }
func (s *switchPublisher) Publish(ctx context.Context, e event.Event) error {
	return (*s.p.Load()).Publish(ctx, e)
}

// deadPublisher publishes through a client whose connection goes to a port
// nothing listens on.
func deadPublisher(t testing.TB) *event.Publisher {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	client, err := pubsub.NewClient(context.Background(), testProject, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	p, err := event.NewPublisher(client, "events", policy)
	if err != nil {
		t.Fatal(err)
	}
	// No Stop: it would wait out the client's background retries of the
	// message (up to the policy's publish timeout) after Publish has
	// returned.
	t.Cleanup(func() { client.Close(); conn.Close() })
	return p
}

// Row: Pub/Sub unavailable → 503, nothing published; once it is back the
// same request answers 2xx with exactly one event.
func TestReceivePubsubUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		sw := &switchPublisher{}
		sw.set(deadPublisher(t))
		r := newRig(t, contractChannels, func(d *receive.Deps) {
			d.Publisher = sw
			d.Timeout = 500 * time.Millisecond
		})
		start := time.Now()
		if w := r.serve(valid()); w.Code != 503 {
			t.Fatalf("status %d, want 503", w.Code)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v; the handler's Timeout is 500ms", d)
		}
		if n := len(r.pubsub.Messages()); n != 0 {
			t.Fatalf("%d messages", n)
		}
		sw.set(r.events)
		if w := r.serve(valid()); w.Code != 200 {
			t.Fatalf("after recovery: status %d, want 200", w.Code)
		}
		if msgs := r.pubsub.Messages(); len(msgs) != 1 || msgs[0].Attributes["ce-id"] != "ch-1/7" {
			t.Fatalf("after recovery: %d messages, want exactly ch-1/7", len(msgs))
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		// Pub/Sub answers, with an error the client does not retry.
		r := newRig(t, contractChannels, nil, pstest.WithErrorInjection("Publish", codes.PermissionDenied, "no"))
		if w := r.serve(valid()); w.Code != 503 {
			t.Fatalf("status %d, want 503", w.Code)
		}
		if n := len(r.pubsub.Messages()); n != 0 {
			t.Fatalf("%d messages", n)
		}
	})
}

// The data of a published event decodes into event.NotificationData with
// the channel's labels and the body Google sent.
func TestReceiveEventData(t *testing.T) {
	t.Parallel()
	r := newRig(t, contractChannels, nil)
	req := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(`{"kind": "drive#changes"}`))
	req.Header = valid(receive.HeaderChanged, " content, permissions ,").Header
	if w := r.serve(req); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	var d event.NotificationData
	if err := json.Unmarshal(r.pubsub.Messages()[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Labels["tenant"] != "acme" || string(d.Body) != `{"kind":"drive#changes"}` ||
		strings.Join(d.Changed, "|") != "content|permissions" || !d.ReceivedAt.Equal(t0.Truncate(time.Millisecond)) {
		t.Errorf("data %+v", d)
	}
}

func TestNewChecksDeps(t *testing.T) {
	t.Parallel()
	pub := &switchPublisher{}
	tests := []struct {
		name string
		deps receive.Deps
	}{
		// Without a store nothing can be validated.
		{"no channels", receive.Deps{Publisher: pub}},
		// Without a publisher nothing can be made durable.
		{"no publisher", receive.Deps{Channels: store.NewMemory()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := receive.New(tt.deps); err == nil {
				t.Error("New succeeded")
			}
		})
	}
	if _, err := receive.New(receive.Deps{Channels: store.NewMemory(), Publisher: pub}); err != nil {
		t.Errorf("New with both: %v", err)
	}
}
