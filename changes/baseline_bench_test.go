package changes_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/testing/heappeak"
	"github.com/watchrelay/watchrelay/store"
)

var (
	baselineEvents  = flag.Int("baseline.events", 50000, "events of the calendar in BenchmarkBaseline")
	baselineLatency = flag.Duration("baseline.latency", 2*time.Second, "the simulator's time per call (a page of 2,500 events) in BenchmarkBaseline")
	baselineRenew   = flag.Duration("baseline.renew", 30*time.Second, "Renew's budget for a baseline call (its CallTimeout) in BenchmarkBaseline")
	baselineSync    = flag.Duration("baseline.sync", 10*time.Second, "WATCHRELAY_SYNC_TIMEOUT for the re-baseline in BenchmarkBaseline")
)

// BenchmarkBaseline measures a first cursor of a calendar whose listing
// outlasts the budgets, the case: 50,000 events, 2,500 a page, 2 s a
// page from the simulator, so 40 s a listing against Renew's 30 s per call.
// It calls Baseline as Renew's passes would, each under the call budget,
// until it is done, and reports the calls (passes), the list calls, the
// time, and the peak of the Go heap while reading above where it stood
// before (the simulator's own calendar, in the same process, excluded):
// one page's worth, not the calendar's. Then Google drops the sync token
// and a notification's Sync turns, each under WATCHRELAY_SYNC_TIMEOUT,
// take the re-baseline: it reports the turns. Memory store and in-process
// Pub/Sub: what is measured is the reads.
//
//	go test ./changes -run '^$' -bench Baseline -benchtime 1x
func BenchmarkBaseline(b *testing.B) {
	sim, err := googlesim.Start(googlesim.Options{Latency: *baselineLatency})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	for i := range *baselineEvents {
		sim.EditEvent("busy", googlesim.Event{ID: fmt.Sprintf("e%06d", i), Summary: "a meeting of a busy shared calendar"})
	}
	apis, err := google.NewAPIs(context.Background(), google.APIConfig{BaseURL: sim.URL})
	if err != nil {
		b.Fatal(err)
	}
	st := store.NewMemory()
	_, pub := benchPublisher(b)
	s, err := changes.New(st, apis, pub, changes.Options{Timeout: *baselineSync})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		w := store.Watch{ID: fmt.Sprint("busy-", i), Kind: "calendar.events", State: store.WatchActive,
			Params: map[string]string{"calendarId": "busy"}}
		if err := st.CreateWatch(context.Background(), w); err != nil {
			b.Fatal(err)
		}
		lists := sim.Stats().ListCalls
		peak := heappeak.Start()
		began := time.Now()
		passes := 0
		for done := false; !done; passes++ {
			ctx, cancel := context.WithTimeout(context.Background(), *baselineRenew)
			done, err = s.Baseline(ctx, w)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
		}
		took := time.Since(began)
		grew := peak()
		b.ReportMetric(float64(passes), "passes")
		b.ReportMetric(float64(sim.Stats().ListCalls-lists), "list-calls")
		b.ReportMetric(took.Seconds(), "s/first-cursor")
		b.ReportMetric(float64(grew)/(1<<20), "peak-heap-MB")

		sim.ExpireSyncTokens()
		turns := 0
		for ; turns < 100; turns++ {
			_, err := s.Handle(context.Background(), changes.Trigger{WatchID: w.ID, Message: fmt.Sprint("m", turns)})
			if err == nil {
				break
			}
			if !errors.Is(err, changes.ErrTransient) {
				b.Fatal(err)
			}
		}
		c, err := st.Cursor(context.Background(), w.ID)
		if err != nil || !c.Baselined() || c.Page != "" {
			b.Fatalf("after the re-baseline: %+v, %v", c, err)
		}
		b.ReportMetric(float64(turns+1), "sync-turns/re-baseline")
	}
}
