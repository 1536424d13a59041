package changes_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/fscount"
	"github.com/watchrelay/watchrelay/store"
)

// BenchmarkStorm counts what one notification storm costs Sync: the issue's
// storm, 200 notifications in 2 s for one calendar, 50 of them edits, each
// notification a concurrent request as Pub/Sub pushes them, with the
// deployment's debounce. It counts the list calls the simulated Google
// answered, the Firestore RPCs, reads and writes on the emulator (at the
// gRPC connection, as Firestore bills them) and the events published, per
// storm. It fails if an edited item was not published.
//
//	go test ./changes -run '^$' -bench Storm -benchtime 1x
func BenchmarkStorm(b *testing.B) {
	bs := newBenchSync(b)
	sim, ops, s, counted := bs.sim, bs.ops, bs.s, bs.counted
	var calls, published int
	var firestore fscount.Tally
	for i := 0; b.Loop(); i++ {
		w := bs.watch(fmt.Sprintf("storm-%d", i))
		ops.Reset()
		counted.reset()
		before := sim.Stats().ListCalls
		storm(b, s, sim, w)
		calls += sim.Stats().ListCalls - before
		published += counted.count()
		firestore = firestore.Plus(ops.Snapshot())
		bs.ps.ClearMessages()
	}
	n := float64(b.N)
	b.ReportMetric(float64(calls)/n, "list-calls/storm")
	b.ReportMetric(float64(firestore.Total())/n, "fs-rpcs/storm")
	b.ReportMetric(float64(firestore.Reads)/n, "fs-reads/storm")
	b.ReportMetric(float64(firestore.Writes)/n, "fs-writes/storm")
	b.ReportMetric(float64(published)/n, "events/storm")
	b.Logf("Firestore over %d storms: %s", b.N, firestore)
}

// benchSync is Sync on the Firestore emulator (its RPCs counted), the
// simulator and an in-process Pub/Sub, with the deployment's debounce.
type benchSync struct {
	b       *testing.B
	sim     *googlesim.Sim
	ops     *fscount.Counter
	fs      *store.Firestore
	ps      *inproc.Server
	counted *countingPublisher
	s       *changes.Syncer
}

func newBenchSync(b *testing.B) *benchSync {
	space := backend.New(b)
	sim, err := googlesim.Start(googlesim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	apis, err := google.NewAPIs(context.Background(), google.APIConfig{BaseURL: sim.URL})
	if err != nil {
		b.Fatal(err)
	}
	bs := &benchSync{b: b, sim: sim, ops: fscount.New()}
	bs.fs = fscount.Open(b, space, bs.ops)
	var pub *event.Publisher
	bs.ps, pub = benchPublisher(b)
	bs.counted = &countingPublisher{Publisher: pub}
	bs.s, err = changes.New(bs.fs, apis, bs.counted, changes.Options{Debounce: config.Defaults.SyncDebounce})
	if err != nil {
		b.Fatal(err)
	}
	return bs
}

// watch creates an active calendar watch of its own calendar, with its
// first cursor taken as Renew takes it.
func (bs *benchSync) watch(id string) store.Watch {
	ctx := context.Background()
	w := calendarWatch(id)
	w.Params = map[string]string{"calendarId": w.ID}
	w.State = store.WatchActive
	if err := bs.fs.CreateWatch(ctx, w); err != nil {
		bs.b.Fatal(err)
	}
	if done, err := bs.s.Baseline(ctx, w); err != nil || !done {
		bs.b.Fatalf("Baseline = %v, %v", done, err)
	}
	return w
}

// BenchmarkIsolated counts what one notification costs Sync when it is
// alone (one edit, one notification, nothing else on the watch): the
// Firestore RPCs, reads and writes on the emulator (at the gRPC
// connection, as Firestore bills them), the list calls, and how long the
// push request is held (the median, with the deployment's debounce). It
// fails unless the edit is published, and if a notification costs more
// than 2 reads, 2 writes or 4 RPCs.
//
//	CI=true go test ./changes -run '^$' -bench Isolated -benchtime 10x
func BenchmarkIsolated(b *testing.B) {
	bs := newBenchSync(b)
	var calls, published int
	var firestore fscount.Tally
	var held []time.Duration
	for i := 0; b.Loop(); i++ {
		w := bs.watch(fmt.Sprintf("isolated-%d", i))
		bs.sim.EditEvent(w.Params["calendarId"], googlesim.Event{ID: "ev", Summary: "edited"})
		bs.ops.Reset()
		bs.counted.reset()
		before := bs.sim.Stats().ListCalls
		began := time.Now()
		out, err := bs.s.Handle(context.Background(), changes.Trigger{WatchID: w.ID, Message: fmt.Sprint("m", i)})
		held = append(held, time.Since(began))
		if err != nil || out.Published != 1 {
			b.Fatalf("Handle = %+v, %v; want the edit published", out, err)
		}
		calls += bs.sim.Stats().ListCalls - before
		published += bs.counted.count()
		firestore = firestore.Plus(bs.ops.Snapshot())
		bs.ps.ClearMessages()
	}
	if firestore.Reads > 2*b.N || firestore.Writes > 2*b.N || firestore.Total() > 4*b.N {
		b.Errorf("%d notifications cost %s; want at most 2 reads, 2 writes and 4 RPCs each", b.N, firestore)
	}
	n := float64(b.N)
	slices.Sort(held)
	b.ReportMetric(float64(firestore.Total())/n, "fs-rpcs/notification")
	b.ReportMetric(float64(firestore.Reads)/n, "fs-reads/notification")
	b.ReportMetric(float64(firestore.Writes)/n, "fs-writes/notification")
	b.ReportMetric(float64(calls)/n, "list-calls/notification")
	b.ReportMetric(float64(held[len(held)/2].Milliseconds()), "held-ms-p50")
	b.Logf("Firestore over %d notifications: %s", b.N, firestore)
}

// storm sends the 200 notifications, 10 ms apart, each handled on its own
// goroutine, and checks that every edited item was published.
func storm(b *testing.B, s *changes.Syncer, sim *googlesim.Sim, w store.Watch) {
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		if i%4 == 0 {
			sim.EditEvent(w.Params["calendarId"], googlesim.Event{ID: fmt.Sprintf("ev%03d", i/4), Summary: "edited"})
		}
		wg.Go(func() {
			if _, err := s.Handle(context.Background(), changes.Trigger{WatchID: w.ID, Message: fmt.Sprint(i)}); err != nil {
				errs <- err
			}
		})
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// benchPublisher publishes to a topic of an in-process Pub/Sub, both gone
// with the benchmark.
func benchPublisher(b *testing.B) (*inproc.Server, *event.Publisher) {
	ps, err := inproc.Start(context.Background(), "sync-bench", "events")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ps.Close() })
	pub, err := event.NewPublisher(ps.Client, "events", changes.PublishPolicy())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pub.Stop)
	return ps, pub
}

// countingPublisher counts the events confirmed.
type countingPublisher struct {
	*event.Publisher
	mu sync.Mutex
	n  int
}

func (p *countingPublisher) PublishAll(ctx context.Context, es []event.Event) error {
	err := p.Publisher.PublishAll(ctx, es)
	if err == nil {
		p.mu.Lock()
		p.n += len(es)
		p.mu.Unlock()
	}
	return err
}

func (p *countingPublisher) reset() { p.mu.Lock(); p.n = 0; p.mu.Unlock() }
func (p *countingPublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
