package renew_test

import (
	"context"
	"flag"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

var benchWatches = flag.Int("renew.watches", 10000, "due watches in BenchmarkPass")

// counting counts the store calls of a pass, to turn them into Firestore
// operations per renewal.
type counting struct {
	renew.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *counting) count(name string) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
}

func (c *counting) LeaseWatch(ctx context.Context, id string, now, until time.Time) (store.Watch, error) {
	c.count("LeaseWatch")
	return c.Store.LeaseWatch(ctx, id, now, until)
}

func (c *counting) UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error {
	c.count("UpdateWatch")
	return c.Store.UpdateWatch(ctx, id, u, now)
}

func (c *counting) CreateChannel(ctx context.Context, ch store.Channel) error {
	c.count("CreateChannel")
	return c.Store.CreateChannel(ctx, ch)
}

func (c *counting) Channel(ctx context.Context, id string) (store.Channel, error) {
	c.count("Channel")
	return c.Store.Channel(ctx, id)
}

func (c *counting) UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error {
	c.count("UpdateChannel")
	return c.Store.UpdateChannel(ctx, id, u)
}

func (c *counting) ActivateChannel(ctx context.Context, id, rid, uri string, exp, acceptOld, now time.Time) error {
	c.count("ActivateChannel")
	return c.Store.ActivateChannel(ctx, id, rid, uri, exp, acceptOld, now)
}

func (c *counting) DueWatches(ctx context.Context, before time.Time, limit int) ([]store.Watch, error) {
	ws, err := c.Store.DueWatches(ctx, before, limit)
	c.mu.Lock()
	c.calls["query result"] += len(ws)
	c.mu.Unlock()
	return ws, err
}

// firestoreOps is what each store call costs in Firestore document reads
// and writes, as store/firestore.go makes them: the two transactions read
// what they write.
var firestoreOps = map[string]int{
	"LeaseWatch":      2, // transaction: read + update
	"UpdateWatch":     1,
	"CreateChannel":   1,
	"Channel":         1,
	"UpdateChannel":   1,
	"ActivateChannel": 4, // transaction: read channel and watch, update both
	"query result":    1, // one read per document a query returns
}

// BenchmarkPass renews -renew.watches due watches (10,000) against the
// simulator with 20 ms of latency per call under a limit of 100 calls/s. A
// renewal is two calls (watch, stop), so the ceiling is 50 renewals/s.
// Run: go test ./renew -run '^$' -bench Pass -benchtime 1x -timeout 30m
func BenchmarkPass(b *testing.B) {
	n := *benchWatches
	b.StopTimer() // setup is not measured; each iteration times its own pass
	for range b.N {
		r := newRig(b, store.NewMemory(), func(o *googlesim.Options) { o.Latency = 20 * time.Millisecond })
		for i := range n {
			id := "w" + strconv.Itoa(i)
			r.add(store.Watch{ID: id, Kind: "drive.files", Params: map[string]string{"fileId": id}, TTLSeconds: 7200})
		}
		// Open every channel first, unthrottled: that is setup.
		r.opts.QPS, r.opts.Concurrency, r.opts.Budget = 1e6, 64, 30*time.Minute
		if sum := r.pass(nil); sum.Started != n {
			b.Fatalf("setup: %+v", sum)
		}
		r.clock.Advance(90 * time.Minute)
		r.opts.QPS, r.opts.Concurrency = 100, 16
		c := &counting{Store: r.store, calls: map[string]int{}}
		p, err := renew.New(c, r.apis, r.events, r.opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		sum, err := p.Run(context.Background())
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil || sum.Renewed != n {
			b.Fatalf("pass: %+v, %v", sum, err)
		}
		ops := 0
		for name, k := range c.calls {
			ops += k * firestoreOps[name]
		}
		b.ReportMetric(float64(sum.Renewed)/elapsed.Seconds(), "renewals/s")
		b.ReportMetric(50, "ceiling-renewals/s")
		b.ReportMetric(float64(ops)/float64(sum.Renewed), "firestore-ops/renewal")
		b.ReportMetric(float64(len(r.sim.Live())), "live-channels")
	}
}
