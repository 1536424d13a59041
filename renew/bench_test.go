package renew_test

import (
	"context"
	"flag"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/fscount"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

var (
	benchWatches = flag.Int("renew.watches", 10000, "due watches in BenchmarkPass")
	benchStore   = flag.String("renew.store", "firestore", "BenchmarkPass's store: firestore (the emulator; counts Firestore RPCs and documents) or memory (the pass and Google only)")
)

// The conditions: 20 ms added to every Google call, 100 calls/s. A
// renewal is two calls (watch, channels.stop), so the ceiling is 50
// renewals/s; the benchmark measures the calls per renewal rather than
// assuming two.
const (
	benchLatency     = 20 * time.Millisecond
	benchQPS         = 100
	benchConcurrency = 16
)

// BenchmarkPass renews -renew.watches due watches (10,000) against the
// simulator with 20 ms of latency per call under a limit of 100 calls/s, on
// the store -renew.store names, and reports what it measured:
//
//   - renewals/s: channels renewed per second of the pass;
//   - calls/s and peak-calls/1s: watch and channels.stop calls as they
//     reached the simulator (at its HTTP handler), over the pass and in
//     its busiest second;
//   - calls/renewal, and of-ceiling: renewals/s over the ceiling the limit
//     allows (limit ÷ calls/renewal), 1.0 when the limit is the bottleneck;
//   - on firestore, counted at the gRPC connection: fs-rpcs/renewal,
//     fs-reads/renewal and fs-writes/renewal for the pass, and
//     recv-reads/renewal and recv-writes/renewal for Receive handling the
//     new channels' sync messages during the pass.
//
// Run: go test ./renew -run '^$' -bench 'Pass$' -benchtime 1x -timeout 60m
// [-renew.watches 1000] [-renew.store memory]. bench/README.md has figures.
func BenchmarkPass(b *testing.B) {
	switch *benchStore {
	case "firestore", "memory":
	default:
		b.Fatalf("-renew.store=%q: want firestore or memory", *benchStore)
	}
	b.Run(*benchStore, func(b *testing.B) {
		var total passFigures
		for range b.N {
			total.add(benchPass(b, *benchStore, *benchWatches))
		}
		total.report(b)
	})
}

// passFigures is what one or more timed passes measured.
type passFigures struct {
	renewed       int
	elapsed       time.Duration
	calls         int
	peak          int // most calls in one second, over all passes
	pass, receive fscount.Tally
	firestore     bool
}

func (f *passFigures) add(g passFigures) {
	f.renewed += g.renewed
	f.elapsed += g.elapsed
	f.calls += g.calls
	f.peak = max(f.peak, g.peak)
	f.firestore = g.firestore
	f.pass = f.pass.Plus(g.pass)
	f.receive = f.receive.Plus(g.receive)
}

func (f passFigures) report(b *testing.B) {
	n := float64(f.renewed)
	secs := f.elapsed.Seconds()
	perRenewal := float64(f.calls) / n
	b.ReportMetric(n/secs, "renewals/s")
	b.ReportMetric(float64(f.calls)/secs, "calls/s")
	b.ReportMetric(float64(f.peak), "peak-calls/1s")
	b.ReportMetric(perRenewal, "calls/renewal")
	b.ReportMetric((n/secs)/(benchQPS/perRenewal), "of-ceiling")
	if !f.firestore {
		return
	}
	b.ReportMetric(float64(f.pass.Total())/n, "fs-rpcs/renewal")
	b.ReportMetric(float64(f.pass.Reads)/n, "fs-reads/renewal")
	b.ReportMetric(float64(f.pass.Writes)/n, "fs-writes/renewal")
	b.ReportMetric(float64(f.receive.Reads)/n, "recv-reads/renewal")
	b.ReportMetric(float64(f.receive.Writes)/n, "recv-writes/renewal")
	b.Logf("pass, Firestore over %d renewals: %v", f.renewed, f.pass)
	b.Logf("Receive, Firestore during the pass: %v", f.receive)
}

// benchPass sets up n watches with live channels, all due, and times one
// pass that renews them.
func benchPass(b *testing.B, storeName string, n int) passFigures {
	b.StopTimer() // setup is not measured; the pass times itself
	ctx := context.Background()

	// On Firestore, two clients on one set of collections, each counted:
	// one for setup and Receive, one for the timed pass alone.
	var s, passStore testStore
	var receiveOps, passOps *fscount.Counter
	if storeName == "firestore" {
		space := backend.New(b)
		receiveOps, passOps = fscount.New(), fscount.New()
		s = fscount.Open(b, space, receiveOps)
		passStore = fscount.Open(b, space, passOps)
	} else {
		s = store.NewMemory()
		passStore = s
	}

	r := newRig(b, s, func(o *googlesim.Options) { o.Latency = benchLatency })
	seedWatches(b, r, n)
	// Open every channel first, unthrottled: that is setup.
	r.opts.QPS, r.opts.Concurrency, r.opts.Budget = 1e6, 64, 30*time.Minute
	if sum := r.pass(nil); sum.Started != n {
		b.Fatalf("setup: %+v", sum)
	}
	r.flush() // the syncs of the new channels are Receive's, and setup's
	r.clock.Advance(90 * time.Minute)

	// The pass reaches the simulator through a handler that notes when
	// each call arrived.
	arrivals := &callLog{}
	front := httptest.NewServer(arrivals.wrap(r.sim.Handler()))
	defer front.Close()
	apis, err := google.NewAPIs(ctx, google.APIConfig{BaseURL: front.URL})
	if err != nil {
		b.Fatal(err)
	}
	r.opts.QPS, r.opts.Concurrency = benchQPS, benchConcurrency
	calls := &storeCalls{Store: passStore, calls: map[string]int{}}
	p, err := renew.New(calls, apis, r.events, r.opts)
	if err != nil {
		b.Fatal(err)
	}
	before := r.sim.Stats()
	if receiveOps != nil {
		receiveOps.Reset()
	}

	b.StartTimer()
	start := time.Now()
	sum, err := p.Run(ctx)
	elapsed := time.Since(start)
	b.StopTimer()

	if err != nil || sum.Renewed != n || sum.ChannelsStopped != n || sum.Remaining != 0 {
		b.Fatalf("pass: %+v, %v", sum, err)
	}
	r.flush() // Receive's work for the new channels' syncs
	f := passFigures{renewed: sum.Renewed, elapsed: elapsed, firestore: passOps != nil}
	if passOps != nil {
		f.pass, f.receive = passOps.Snapshot(), receiveOps.Snapshot()
	}
	ts := arrivals.calls()
	f.calls, f.peak = len(ts), peak(ts, time.Second)
	if len(ts) > 0 {
		// Where the pass was not calling Google: its queries before the
		// first call, its last store writes after the last.
		b.Logf("first call %v into the pass, last call %v before its end",
			ts[0].Sub(start).Round(time.Millisecond), start.Add(elapsed).Sub(ts[len(ts)-1]).Round(time.Millisecond))
	}

	// What the figures mean depends on the pass having done exactly n
	// renewals of exactly the steps docs/DESIGN.md gives: claim the watch
	// and store the new channel pending (one commit), watch, activate it
	// (which retires the old one and releases the lease in the same
	// transaction), channels.stop, mark the old one stopped.
	after := r.sim.Stats()
	seen := googlesim.Stats{
		WatchCalls: after.WatchCalls - before.WatchCalls, WatchOK: after.WatchOK - before.WatchOK,
		StopCalls: after.StopCalls - before.StopCalls, StopOK: after.StopOK - before.StopOK,
	}
	if want := (googlesim.Stats{WatchCalls: n, WatchOK: n, StopCalls: n, StopOK: n}); seen != want {
		b.Errorf("the simulator answered %+v, want %+v", seen, want)
	}
	if len(ts) != seen.WatchCalls+seen.StopCalls {
		b.Errorf("%d calls reached the handler, the simulator counted %d", len(ts), seen.WatchCalls+seen.StopCalls)
	}
	if live := len(r.sim.Live()); live != n {
		b.Errorf("%d channels live at Google after the pass, want %d", live, n)
	}
	wantCalls := map[string]int{
		"ChannelsByState": 2, "Watches": 1, "Strays": 1, "Outbox": 1, // the pass's queries
		"DueWatches":                        n/benchConcurrency + 1, // a page of Concurrency at a time, the last one short
		"RecordPass":                        1,
		"SweepDue, done":                    1, // a new Pass reads the sweep's record once; setup's pass finished it
		"LeaseWatch with a pending channel": n,
		"ActivateChannel":                   n, // retire the old one, release the lease, keep the renewed event
		"Forget 1 events, channel stopped":  n, // the old one stopped, the event published
	}
	if diff := cmp.Diff(wantCalls, calls.calls); diff != "" {
		b.Errorf("store calls of the pass (-want +got):\n%s", diff)
	}
	return f
}

// seedWatches stores n active watches of drive files, each asking for two
// hours (drive.files grants up to a day), sixteen at a time.
func seedWatches(b *testing.B, r *rig, n int) {
	b.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	now := r.clock.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			id := "w" + strconv.Itoa(i)
			errs <- r.store.CreateWatch(context.Background(), store.Watch{
				ID: id, Kind: "drive.files", Params: map[string]string{"fileId": id},
				TTLSeconds: 7200, State: store.WatchActive, CreatedAt: now,
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}
