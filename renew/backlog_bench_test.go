package renew_test

import (
	"context"
	"flag"
	"strconv"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/fscount"
	"github.com/watchrelay/watchrelay/internal/testing/heappeak"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

var (
	backlogWatches = flag.Int("backlog.watches", 2000, "due watches in BenchmarkBacklog")
	backlogBudget  = flag.Duration("backlog.budget", 5*time.Second, "each pass's budget in BenchmarkBacklog: short, so that one pass renews a part of the backlog")
	heapWatches    = flag.Int("heap.watches", 100000, "due watches in BenchmarkPassHeap")
)

// BenchmarkBacklog measures what a backlog costs the passes that work it
// off, on the Firestore emulator (the pass's RPCs and documents counted at
// its gRPC connection by internal/testing/fscount): -backlog.watches due
// watches (2,000) with live channels, a quarter of them waiting out a
// backoff (their retry an hour away, as a pass that met a throttle leaves
// them), and passes of -backlog.budget (5 s) at 100 calls/s, each renewing a
// part of the rest, until every due one is renewed. It reports
// fs-reads/renewal over all the passes (the target: at most 4,
// whatever the backlog; before paging it was 3 + backlog ÷ renewed per
// pass), fs-rpcs/renewal, the passes and the renewals per pass, and fails
// unless every due watch was renewed once and no watch in its backoff was
// touched.
func BenchmarkBacklog(b *testing.B) {
	for range b.N {
		benchBacklog(b, *backlogWatches)
	}
}

func benchBacklog(b *testing.B, n int) {
	b.StopTimer()
	ctx := context.Background()
	space := backend.New(b)
	passOps := fscount.New()
	s, passStore := fscount.Open(b, space, fscount.New()), fscount.Open(b, space, passOps)
	r := newRig(b, s)
	seedWatches(b, r, n)
	r.opts.QPS, r.opts.Concurrency, r.opts.Budget = 1e6, 64, 30*time.Minute
	if sum := r.pass(nil); sum.Started != n {
		b.Fatalf("setup: %+v", sum)
	}
	r.flush()
	r.clock.Advance(90 * time.Minute) // every channel inside RENEW_BEFORE
	waiting := n / 4
	retry := r.clock.Now().Add(time.Hour)
	for i := range waiting {
		if err := s.UpdateWatch(ctx, "w"+strconv.Itoa(i), store.WatchUpdate{RetryAt: &retry, DueAt: &retry}, r.clock.Now()); err != nil {
			b.Fatal(err)
		}
	}

	r.opts.QPS, r.opts.Concurrency, r.opts.Budget = benchQPS, benchConcurrency, *backlogBudget
	p, err := renew.New(passStore, r.apis, r.events, r.opts)
	if err != nil {
		b.Fatal(err)
	}
	passOps.Reset()
	renewed, passes := 0, 0
	b.StartTimer()
	for renewed < n-waiting && passes < 100 {
		sum, err := p.Run(ctx)
		if err != nil || sum.Failed+sum.Gone+sum.Lapsed != 0 {
			b.Fatalf("pass %d: %+v, %v", passes, sum, err)
		}
		renewed += sum.Renewed
		passes++
	}
	b.StopTimer()
	t := passOps.Snapshot()
	if renewed != n-waiting {
		b.Fatalf("%d passes renewed %d, want %d", passes, renewed, n-waiting)
	}
	for i := range waiting {
		if w := r.watch("w" + strconv.Itoa(i)); !w.RetryAt.Equal(retry.UTC().Truncate(time.Microsecond)) || w.Failures != 0 {
			b.Errorf("watch %s in its backoff was touched: %+v", w.ID, w)
		}
	}
	b.ReportMetric(float64(t.Reads)/float64(renewed), "fs-reads/renewal")
	b.ReportMetric(float64(t.Total())/float64(renewed), "fs-rpcs/renewal")
	b.ReportMetric(float64(passes), "passes")
	b.ReportMetric(float64(renewed)/float64(passes), "renewals/pass")
	b.Logf("%d due (and %d in a backoff), renewed by %d passes: %v", n-waiting, waiting, passes, t)
}

// BenchmarkPassHeap measures the live heap a pass holds at its largest
// over a large due backlog on the memory store: -heap.watches new watches
// (100,000), all due, and one pass at 100 calls/s with the budget of
// BenchmarkBacklog, which starts what it can and leaves the rest. The store's
// own records are in the heap before the pass and are not counted; what is
// counted is the pass: its pages of due watches and its work in flight.
// For comparison it also reports reading the whole backlog at once, as a
// pass did before it paged (whole-query-heap-MB).
func BenchmarkPassHeap(b *testing.B) {
	for range b.N {
		b.StopTimer()
		ctx := context.Background()
		s := store.NewMemory()
		r := newRig(b, s)
		seedWatches(b, r, *heapWatches)
		r.opts.QPS, r.opts.Concurrency, r.opts.Budget = benchQPS, benchConcurrency, *backlogBudget
		p, err := renew.New(s, r.apis, r.events, r.opts)
		if err != nil {
			b.Fatal(err)
		}

		stop := heappeak.Start()
		ws, err := s.DueWatches(ctx, r.clock.Now(), store.Watch{}, 100001)
		if err != nil || len(ws) != min(*heapWatches, 100001) {
			b.Fatalf("whole query: %d, %v", len(ws), err)
		}
		whole := stop()

		stop = heappeak.Start()
		b.StartTimer()
		sum, err := p.Run(ctx)
		b.StopTimer()
		grew := stop()
		if err != nil || sum.Started == 0 || sum.Remaining == 0 {
			b.Fatalf("pass: %+v, %v; want some started and the rest left", sum, err)
		}
		b.ReportMetric(float64(grew)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(whole)/(1<<20), "whole-query-heap-MB")
		b.ReportMetric(float64(sum.Started), "started")
		b.Logf("%d due; the pass started %d and left %+v", *heapWatches, sum.Started, sum)
	}
}
