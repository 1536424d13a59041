package renew_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/internal/emulator"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/googlesim"
	"github.com/watchrelay/watchrelay/internal/inproc"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// clock is a test clock that starts at the real time and only moves when a
// test advances it, shared by the simulator, Receive and the pass.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// testStore is a renew.Store that tests can also add watches to.
type testStore interface {
	renew.Store
	CreateWatch(ctx context.Context, w store.Watch) error
}

// rig is the whole of watchrelay on real parts: the simulator that the real
// google.golang.org/api clients reach, Receive on a loopback port, a store
// (memory, or Firestore on the emulator) and Pub/Sub in process.
type rig struct {
	t      testing.TB
	clock  *clock
	sim    *googlesim.Sim
	store  testStore
	apis   *renew.APIs
	pubsub *inproc.Server
	events *event.Publisher
	opts   renew.Options
}

// stores runs a test once per store: the memory store, and Firestore on the
// real emulator.
func stores(t *testing.T, f func(t *testing.T, s testStore)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, store.NewMemory())
	})
	t.Run("firestore", func(t *testing.T) {
		t.Parallel()
		emulator.Require(t)
		fs, err := store.OpenFirestore(context.Background(), "renew-test", "", "t"+uuid.NewString()[:8]+"_")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		f(t, fs)
	})
}

func newRig(t testing.TB, s testStore, simOpts ...func(*googlesim.Options)) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, clock: &clock{}, store: s}
	var err error
	so := googlesim.Options{Now: r.clock.Now, RetryBase: 5 * time.Millisecond, Seed: 7}
	for _, f := range simOpts {
		f(&so)
	}
	r.sim, err = googlesim.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.sim.Close)
	r.pubsub, err = inproc.Start(ctx, "renew-test", "events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.pubsub.Close() })
	r.events, err = event.NewPublisher(r.pubsub.Client, "events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.events.Stop)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	recv, err := receive.New(receive.Deps{Channels: s, Publisher: r.events, Logger: quiet, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	r.apis, err = renew.NewAPIs(ctx, renew.APIConfig{BaseURL: r.sim.URL})
	if err != nil {
		t.Fatal(err)
	}
	r.opts = renew.Options{
		Address:     srv.URL,
		RenewBefore: time.Hour,
		Grace:       10 * time.Minute,
		Concurrency: 4,
		QPS:         1000,
		Budget:      time.Minute,
		Backoff:     time.Millisecond,
		Now:         r.clock.Now,
		Logger:      quiet,
	}
	return r
}

// pass runs one pass with the rig's options over google (the simulator's
// adapters unless a test wraps them).
func (r *rig) pass(google renew.Google) renew.Summary {
	r.t.Helper()
	if google == nil {
		google = r.apis
	}
	p, err := renew.New(r.store, google, r.events, r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	sum, err := p.Run(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return sum
}

// add stores an active watch.
func (r *rig) add(w store.Watch) store.Watch {
	r.t.Helper()
	w.State = store.WatchActive
	w.CreatedAt = r.clock.Now()
	if err := r.store.CreateWatch(context.Background(), w); err != nil {
		r.t.Fatal(err)
	}
	return w
}

func (r *rig) watch(id string) store.Watch {
	r.t.Helper()
	w, err := r.store.Watch(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return w
}

func (r *rig) channel(id string) store.Channel {
	r.t.Helper()
	c, err := r.store.Channel(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// flush waits for the simulator's deliveries and for Receive's publishes.
func (r *rig) flush() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.sim.Flush(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// published returns the events on the topic, in publish order.
type published struct {
	Type, ID, WatchID string
	Data              map[string]any
}

func (r *rig) published() []published {
	var out []published
	for _, m := range r.pubsub.Messages() {
		p := published{Type: m.Attributes[event.AttrType], ID: m.Attributes[event.AttrID], WatchID: m.Attributes[event.AttrWatchID]}
		_ = json.Unmarshal(m.Data, &p.Data)
		out = append(out, p)
	}
	return out
}

// count returns how many events of a type were published for a watch.
func (r *rig) count(typ, watchID string) int {
	n := 0
	for _, p := range r.published() {
		if p.Type == typ && p.WatchID == watchID {
			n++
		}
	}
	return n
}

// converged asserts the invariant every pass must restore: each active watch
// has exactly one channel live at Google, the one it names, recorded active;
// no other channel is live (none leaked); a removed watch has none.
func (r *rig) converged(watchIDs ...string) {
	r.t.Helper()
	live := map[string]googlesim.Channel{}
	for _, c := range r.sim.Live() {
		live[c.ID] = c
	}
	want := map[string]bool{}
	for _, id := range watchIDs {
		w := r.watch(id)
		if w.State != store.WatchActive {
			r.t.Errorf("watch %s: state %s, want active", id, w.State)
			continue
		}
		if _, ok := live[w.ChannelID]; !ok || w.ChannelID == "" {
			r.t.Errorf("watch %s names channel %q, which is not live at Google", id, w.ChannelID)
			continue
		}
		if c := r.channel(w.ChannelID); c.State != store.ChannelActive {
			r.t.Errorf("watch %s: channel %s recorded %s, want active", id, c.ID, c.State)
		}
		want[w.ChannelID] = true
	}
	for id, c := range live {
		if !want[id] {
			r.t.Errorf("channel %s (%s) leaked: live at Google, serving no watch", id, c.Kind)
		}
	}
}

// crash makes a store and a Google that work until a given step of a
// renewal has succeeded, and then fail every call, as a process that died
// there would make no more calls.
type crash struct {
	step string
	n    int // which occurrence of step
	mu   sync.Mutex
	seen int
	dead bool
}

var errCrashed = errors.New("crashed")

func (c *crash) after(step string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if step == c.step {
		c.seen++
		if c.seen >= c.n {
			c.dead = true
		}
	}
}

func (c *crash) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return errCrashed
	}
	return nil
}

type crashStore struct {
	renew.Store
	*crash
}

func (c crashStore) CreateChannel(ctx context.Context, ch store.Channel) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Store.CreateChannel(ctx, ch)
	c.after("create pending")
	return err
}

func (c crashStore) ActivateChannel(ctx context.Context, id, rid, uri string, exp, acceptOld, now time.Time) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Store.ActivateChannel(ctx, id, rid, uri, exp, acceptOld, now)
	c.after("activate")
	return err
}

func (c crashStore) UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Store.UpdateChannel(ctx, id, u)
	if u.State != nil {
		c.after("mark " + string(*u.State))
	}
	return err
}

func (c crashStore) UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error {
	if err := c.check(); err != nil {
		return err
	}
	return c.Store.UpdateWatch(ctx, id, u, now)
}

func (c crashStore) DeleteWatch(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	return c.Store.DeleteWatch(ctx, id)
}

type crashGoogle struct {
	renew.Google
	*crash
}

func (c crashGoogle) Watch(ctx context.Context, w store.Watch, req renew.ChannelRequest) (renew.Granted, error) {
	if err := c.check(); err != nil {
		return renew.Granted{}, err
	}
	g, err := c.Google.Watch(ctx, w, req)
	c.after("watch")
	return g, err
}

func (c crashGoogle) Stop(ctx context.Context, w store.Watch, id, rid string) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Google.Stop(ctx, w, id, rid)
	c.after("stop")
	return err
}

// crashed runs a pass that dies after the n-th occurrence of step, over the
// rig's store and adapters.
func (r *rig) crashed(step string, n int) {
	r.t.Helper()
	c := &crash{step: step, n: n}
	p, err := renew.New(crashStore{r.store, c}, crashGoogle{r.apis, c}, r.events, r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := p.Run(context.Background()); err != nil && !errors.Is(err, errCrashed) {
		r.t.Fatal(err)
	}
	if !c.dead {
		r.t.Fatalf("the pass never reached step %q #%d", step, n)
	}
}
