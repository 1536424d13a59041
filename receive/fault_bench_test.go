package receive_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/testing/faultproxy"
	"github.com/watchrelay/watchrelay/store"
)

// BenchmarkReceiveOutage measures how fast Receive answers on the emulators
// with the production defaults (config.Defaults: the deadline and the
// in-flight bound), through the fault proxies of TestReceiveOutagesOnEmulators:
// healthy (one at a time, and 60 at once), with Firestore or Pub/Sub
// refusing or hanging, and past the in-flight bound. Every op of the outage
// cases must be answered 503, every healthy one 200.
func BenchmarkReceiveOutage(b *testing.B) {
	deadline, maxInFlight := config.Defaults.ReceiveTimeout, config.Defaults.ReceiveMaxInFlight
	expect := func(b *testing.B, r *faultRig, want int) {
		b.Helper()
		for b.Loop() {
			if code, took := r.serve(11); code != want {
				b.Fatalf("status %d after %v, want %d", code, took, want)
			}
		}
	}
	b.Run("healthy", func(b *testing.B) {
		expect(b, newFaultRig(b, deadline, maxInFlight), http.StatusOK)
	})
	b.Run("healthy-in-flight", func(b *testing.B) {
		// maxInFlight notifications at once: the figure is the rate one
		// process sustains against the emulators on this machine.
		// Each goroutine posts to a channel of its own watch: one
		// watch's events are published in order, one at a time.
		r := newFaultRig(b, deadline, maxInFlight)
		for i := range maxInFlight {
			if err := r.store.CreateChannel(context.Background(), store.Channel{
				ID: fmt.Sprintf("par-%d", i), WatchID: fmt.Sprintf("w-par-%d", i), Kind: "drive.files", ResourceID: "file-1",
				TokenHash: store.HashToken(emuToken), State: store.ChannelActive, Expiration: emuNow.Add(time.Hour),
			}); err != nil {
				b.Fatal(err)
			}
		}
		// Warm: each watch's first publish, and the connections, are
		// not what is measured.
		for i := range maxInFlight {
			w := httptest.NewRecorder()
			r.handler.ServeHTTP(w, emuRequest(fmt.Sprintf("par-%d", i), emuToken, "file-1", "update", 10))
			if w.Code != http.StatusOK {
				b.Fatalf("warming par-%d: status %d", i, w.Code)
			}
		}
		b.ResetTimer()
		var next atomic.Int32
		b.SetParallelism(max(1, maxInFlight/runtime.GOMAXPROCS(0))) // RunParallel's goroutines: that many per P
		b.RunParallel(func(pb *testing.PB) {
			channel := fmt.Sprintf("par-%d", int(next.Add(1)-1)%maxInFlight)
			for pb.Next() {
				w := httptest.NewRecorder()
				r.handler.ServeHTTP(w, emuRequest(channel, emuToken, "file-1", "update", 11))
				if w.Code != http.StatusOK {
					b.Errorf("status %d, want 200", w.Code)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
	})
	for _, dep := range []string{"firestore", "pubsub"} {
		for _, mode := range []faultproxy.Mode{faultproxy.Refuse, faultproxy.Hang} {
			b.Run(dep+"-"+mode.String(), func(b *testing.B) {
				r := newFaultRig(b, deadline, maxInFlight)
				if dep == "firestore" {
					r.firestore.Set(mode)
				} else {
					r.pubsub.Set(mode)
				}
				expect(b, r, http.StatusServiceUnavailable)
			})
		}
	}
	b.Run("past-in-flight", func(b *testing.B) {
		// maxInFlight notifications held by a hanging Firestore, then
		// each op is one more.
		r := newFaultRig(b, deadline, maxInFlight)
		r.firestore.Set(faultproxy.Hang)
		for range maxInFlight {
			go r.serve(11)
		}
		for wait := time.Now().Add(deadline / 4); r.handler.InFlight() < maxInFlight; time.Sleep(time.Millisecond) {
			if time.Now().After(wait) {
				b.Fatalf("%d in flight, want %d", r.handler.InFlight(), maxInFlight)
			}
		}
		expect(b, r, http.StatusServiceUnavailable)
		if n := r.handler.InFlight(); n != maxInFlight {
			b.Fatalf("%d in flight at the end, want %d: the held ones ran out while measuring", n, maxInFlight)
		}
		r.firestore.Set(faultproxy.Pass)
	})
}
