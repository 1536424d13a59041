package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/internal/testing/faultproxy"
	"github.com/watchrelay/watchrelay/store"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// publishRig is the service on a memory store, its Pub/Sub client reaching
// the emulator through a fault proxy; the test reads the topic straight
// from the emulator.
type publishRig struct {
	svc    *service.Service
	proxy  *faultproxy.Proxy
	direct *pubsub.Client
	sub    string
}

const (
	rigToken   = "receive-token"
	rigChannel = "ch-receive"
)

func newPublishRig(t *testing.T, cfg config.Config) *publishRig {
	t.Helper()
	space := backend.New(t)
	ctx := context.Background()
	cfg.Project = space.Project
	r := &publishRig{proxy: faultproxy.New(t, space.Hosts.Pubsub)}
	r.direct = space.PubSub(t)
	proxied := space.PubSub(t, option.WithEndpoint(r.proxy.Addr))
	var err error
	if err := event.EnsureTopic(ctx, r.direct, cfg.Project, cfg.Topic); err != nil {
		t.Fatal(err)
	}
	if r.sub, err = event.SubscribeUnordered(ctx, r.direct, cfg.Project, cfg.Topic, "seen-"+cfg.Topic); err != nil {
		t.Fatal(err)
	}

	mem := store.NewMemory()
	if err := mem.CreateChannel(ctx, store.Channel{
		ID: rigChannel, WatchID: "w-receive", Kind: "drive.files", ResourceID: "file-1",
		TokenHash: store.HashToken(rigToken), State: store.ChannelActive, Expiration: time.Now().Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	// Sync publishes an admin activity from the notification's body, with
	// no read of Google.
	if err := mem.CreateWatch(ctx, store.Watch{
		ID: "w-sync", Kind: "admin.reports.activities", State: store.WatchActive, ChannelID: "ch-sync",
		Params: map[string]string{"userKey": "all", "applicationName": "drive"},
	}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if r.svc, err = service.New(ctx, cfg, service.Options{Store: mem, PubSub: proxied, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.svc.Close)
	return r
}

// receive posts Google's notification number to Receive, and returns the
// status.
func (r *publishRig) receive(number int) int {
	req := httptest.NewRequest(http.MethodPost, "/receive", nil)
	for k, v := range map[string]string{
		"X-Goog-Channel-ID": rigChannel, "X-Goog-Channel-Token": rigToken, "X-Goog-Message-Number": fmt.Sprint(number),
		"X-Goog-Resource-ID": "file-1", "X-Goog-Resource-State": "update",
		"X-Goog-Resource-URI": "https://www.googleapis.com/drive/v3/files/file-1",
	} {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.svc.Receive.ServeHTTP(w, req)
	return w.Code
}

// sync has Sync publish activity number, and returns its change event's id.
func (r *publishRig) sync(ctx context.Context, number int) (string, error) {
	at := "2026-11-22T08:00:00Z"
	body := fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d"}}`, at, number)
	out, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: "w-sync", Notification: event.NotificationData{
		WatchID: "w-sync", ChannelID: "ch-sync", MessageNumber: int64(number), ResourceState: "edit", Body: json.RawMessage(body),
	}})
	if err == nil && out.Published != 1 {
		err = fmt.Errorf("Sync published %d events, want 1 (%+v)", out.Published, out)
	}
	return fmt.Sprintf("w-sync/%d/%s", number, at), err
}

// renew has Renew's publisher publish a lifecycle event, as a pass
// announces one, and returns its id.
func (r *publishRig) renew(ctx context.Context, number int) (string, error) {
	e := event.Lifecycle(event.TypeRenewed, event.LifecycleData{WatchID: "w-renew", Kind: "drive.files", NewChannelID: fmt.Sprint("ch-", number)}, time.Now())
	return e.ID, r.svc.Publishers.Renew.Publish(ctx, e)
}

// TestPublishersByPurpose runs an outage of Pub/Sub, through a fault proxy,
// under Receive, Renew and Sync at once: each part's publisher answers it
// by the policy of its part. Receive fails fast inside the outage, Sync rides out a refusal
// three times longer than Receive's allowance, and Renew, whose bounds are
// its own, outlasts a hang longer than Receive's share of a short deadline.
// Every event a part had confirmed is then on the topic.
func TestPublishersByPurpose(t *testing.T) {
	cfg := config.Defaults
	cfg.Topic = "events"
	// Receive's publish timeout is two fifths of it: 0.8 s.
	cfg.ReceiveTimeout = 2 * time.Second
	r := newPublishRig(t, cfg)
	ctx := t.Context()

	// Before any outage, each part publishes: the connection is up.
	number := 1
	var confirmed []string
	if code := r.receive(number); code != http.StatusOK {
		t.Fatalf("before the outage, Receive answered %d", code)
	}
	for _, part := range []func(context.Context, int) (string, error){r.sync, r.renew} {
		id, err := part(ctx, number)
		if err != nil {
			t.Fatalf("before the outage: %v", err)
		}
		confirmed = append(confirmed, id)
	}

	for _, tc := range []struct {
		name   string
		mode   faultproxy.Mode
		outage time.Duration
		// renews: Renew's publish is confirmed, once the outage ends;
		// else it fails inside it. Receive always fails inside it (503),
		// Sync's is always confirmed.
		renews bool
	}{
		// Refused for 1.5 s: Receive and Renew give up after their half
		// second; Sync retries for 8 s.
		{"refused", faultproxy.Refuse, 1500 * time.Millisecond, false},
		// Hanging for 2 s: Receive gives up after its 0.8 s; Renew's 4 s
		// and Sync's 10 s outlast it.
		{"hanging", faultproxy.Hang, 2 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			number++
			r.proxy.Set(tc.mode)
			start := time.Now()
			var (
				wg                 sync.WaitGroup
				code               int
				syncID, renewID    string
				syncErr, renewErr  error
				receiveAt, renewAt time.Duration
				syncAt             time.Duration
			)
			wg.Go(func() { code = r.receive(number); receiveAt = time.Since(start) })
			wg.Go(func() { syncID, syncErr = r.sync(ctx, number); syncAt = time.Since(start) })
			wg.Go(func() { renewID, renewErr = r.renew(ctx, number); renewAt = time.Since(start) })
			time.Sleep(tc.outage)
			r.proxy.Set(faultproxy.Pass)
			wg.Wait()
			t.Logf("%v outage: Receive %d after %v; Renew %v after %v; Sync %v after %v", tc.outage,
				code, receiveAt.Round(time.Millisecond), renewErr, renewAt.Round(time.Millisecond), syncErr, syncAt.Round(time.Millisecond))

			if code != http.StatusServiceUnavailable || receiveAt >= tc.outage {
				t.Errorf("Receive answered %d after %v, want 503 inside the %v outage", code, receiveAt, tc.outage)
			}
			if syncErr != nil {
				t.Errorf("Sync: %v, want its event published once the outage ended", syncErr)
			}
			confirmed = append(confirmed, syncID)
			switch {
			case tc.renews && renewErr != nil:
				t.Errorf("Renew: %v, want its event published once the outage ended", renewErr)
			case tc.renews:
				confirmed = append(confirmed, renewID)
			case renewErr == nil || renewAt >= tc.outage:
				t.Errorf("Renew: %v after %v, want a failure inside the %v outage", renewErr, renewAt, tc.outage)
			}
		})
	}
	r.expect(t, confirmed)
}

// expect reads the topic until every id in want has arrived, or fails the
// test after 30 s.
func (r *publishRig) expect(t *testing.T, want []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	missing := map[string]bool{}
	for _, id := range want {
		missing[id] = true
	}
	err := r.direct.Subscriber(r.sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		delete(missing, m.Attributes[event.AttrID])
		if len(missing) == 0 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range missing {
		t.Errorf("event %s was confirmed, but never arrived", id)
	}
}
