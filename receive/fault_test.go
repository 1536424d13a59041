package receive_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/faultproxy"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// faultRig is a Handler whose Firestore and Pub/Sub clients reach the
// emulators through fault proxies, built as internal/service builds them
// (store.DialEmulator, event.NewPublisher under receive.PublishPolicy of
// the deadline); the test reads the topic straight from the emulator.
type faultRig struct {
	emuRig
	handler           *receive.Handler
	logs              *logBuffer
	firestore, pubsub *faultproxy.Proxy
}

// faultChannel is the rig's channel; its notifications are emuRequest's.
const faultChannel = "emu-live"

func newFaultRig(t testing.TB, deadline time.Duration, maxInFlight int) *faultRig {
	t.Helper()
	space := backend.New(t)
	ctx := context.Background()
	r := &faultRig{
		logs:      &logBuffer{},
		firestore: faultproxy.New(t, space.Hosts.Firestore),
		pubsub:    faultproxy.New(t, space.Hosts.Pubsub),
	}

	fs := space.FirestoreOn(t, backend.Dial(t, r.firestore.Addr))
	if err := fs.CreateChannel(ctx, store.Channel{
		ID: faultChannel, WatchID: "w-emu", Kind: "drive.files", ResourceID: "file-1",
		TokenHash: store.HashToken(emuToken), State: store.ChannelActive, Expiration: emuNow.Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}

	direct := space.PubSub(t)
	proxied := space.PubSub(t, option.WithEndpoint(r.pubsub.Addr))
	topic, sub := emuTopic(t, direct, space.Project)
	r.emuRig = emuRig{store: fs, client: direct, sub: sub}
	pub, err := event.NewPublisher(proxied, topic, receive.PublishPolicy(deadline))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Stop)
	r.handler, err = receive.New(receive.Deps{
		Channels: fs, Publisher: pub, Logger: logging.New(r.logs, slog.LevelDebug),
		Now: func() time.Time { return emuNow }, Timeout: deadline, MaxInFlight: maxInFlight,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// serve sends Google's notification number to the rig's channel, and
// says how it was answered and how long that took.
func (r *faultRig) serve(number int) (int, time.Duration) {
	start := time.Now()
	w := httptest.NewRecorder()
	r.handler.ServeHTTP(w, emuRequest(faultChannel, emuToken, "file-1", "update", number))
	return w.Code, time.Since(start)
}

// retry serves number as Google does after a 503, with backoff, until it
// is acknowledged; false if it never is within wait.
func (r *faultRig) retry(number int, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if code, _ := r.serve(number); code == http.StatusOK {
			return true
		}
	}
	return false
}

// TestReceiveOutagesOnEmulators puts a proxy that refuses, then one that
// hangs, between a running Handler and each emulator in turn: refused, a
// notification is answered 503 within 2 s; hanging, within the deadline;
// past MaxInFlight notifications held by the hang, at once. Every outage is
// logged at ERROR. Once the service is back, Google's retries, on the same
// Handler and clients, are acknowledged, and every notification ever
// acknowledged has its event on the topic.
func TestReceiveOutagesOnEmulators(t *testing.T) {
	t.Parallel()
	const (
		// Long enough that a refusal retried until the store's half of
		// it, or the publisher's, would miss refusedWithin by far.
		deadline    = 6 * time.Second
		maxInFlight = 3
		// Generous on a loaded 2-core machine: the figures are logged
		// here and measured by BenchmarkReceiveOutage (bench/README.md).
		refusedWithin = 2 * time.Second
		atOnce        = time.Second
		slack         = time.Second
	)
	r := newFaultRig(t, deadline, maxInFlight)

	number := 10
	acked := map[int]bool{}
	if code, _ := r.serve(number); code != http.StatusOK {
		t.Fatalf("before any outage: status %d, want 200", code)
	}
	acked[number] = true

	for _, dep := range []struct {
		name  string
		proxy *faultproxy.Proxy
	}{{"firestore", r.firestore}, {"pubsub", r.pubsub}} {
		for _, mode := range []faultproxy.Mode{faultproxy.Refuse, faultproxy.Hang} {
			name := dep.name + " " + mode.String()
			dep.proxy.Set(mode)
			number++
			sent := []int{number}
			code, took := r.serve(number)
			t.Logf("%s: %d after %v", name, code, took.Round(time.Millisecond))
			if code != http.StatusServiceUnavailable {
				t.Fatalf("%s: status %d, want 503", name, code)
			}
			switch within := deadline + slack; {
			case mode == faultproxy.Refuse && took > refusedWithin:
				t.Errorf("%s: answered after %v, want within %v", name, took, refusedWithin)
			case mode == faultproxy.Hang && took > within:
				t.Errorf("%s: answered after %v, want within the %v deadline", name, took, deadline)
			}

			if mode == faultproxy.Hang {
				// maxInFlight notifications held by the hang; the next
				// is answered at once.
				var held sync.WaitGroup
				codes := make(chan int, maxInFlight)
				for range maxInFlight {
					number++
					sent = append(sent, number)
					n := number
					held.Go(func() {
						code, _ := r.serve(n)
						codes <- code
					})
				}
				for wait := time.Now().Add(deadline / 4); r.handler.InFlight() < maxInFlight && time.Now().Before(wait); {
					time.Sleep(5 * time.Millisecond)
				}
				if n := r.handler.InFlight(); n != maxInFlight {
					t.Fatalf("%s: %d notifications in flight, want %d held", name, n, maxInFlight)
				}
				number++
				sent = append(sent, number)
				code, took := r.serve(number)
				t.Logf("%s, %d in flight: %d after %v", name, maxInFlight, code, took.Round(time.Microsecond))
				if code != http.StatusServiceUnavailable || took > atOnce {
					t.Errorf("%s, %d in flight: status %d after %v, want 503 at once", name, maxInFlight, code, took)
				}
				held.Wait()
				close(codes)
				for code := range codes {
					if code != http.StatusServiceUnavailable {
						t.Errorf("%s: a held notification was answered %d, want 503", name, code)
					}
				}
			}

			dep.proxy.Set(faultproxy.Pass)
			start := time.Now()
			for _, n := range sent {
				if !r.retry(n, 45*time.Second) {
					t.Fatalf("%s, back: notification %d is still refused", name, n)
				}
				acked[n] = true
			}
			t.Logf("%s, back: every retry acknowledged within %v", name, time.Since(start).Round(time.Millisecond))
		}
	}

	// No notification acknowledged without its event. A publish that hung
	// may land once the connection thaws, beside its retry's: the same
	// ce-id, which subscribers dedupe on.
	published := map[string]bool{}
	for _, m := range r.receive(t, len(acked)*3, 10*time.Second) {
		published[m.Attributes["ce-id"]] = true
	}
	for n := range acked {
		if id := fmt.Sprintf("%s/%d", faultChannel, n); !published[id] {
			t.Errorf("notification %d was acknowledged, but its event %s never arrived", n, id)
		}
	}
	for id := range published {
		if n, ok := strings.CutPrefix(id, faultChannel+"/"); !ok || !acked[atoi(t, n)] {
			t.Errorf("event %s stands for no notification that was sent", id)
		}
	}
	if n := strings.Count(r.logs.String(), `"severity":"ERROR"`); n < 4 {
		t.Errorf("%d notifications logged at ERROR, want one per outage at least:\n%s", n, r.logs)
	}
	if strings.Contains(r.logs.String(), emuToken) {
		t.Errorf("the token reached the log")
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
