package renew_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
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
	receive.Strays
	CreateWatch(ctx context.Context, w store.Watch) error
}

// rig is the whole of watchrelay on real parts: the simulator that the real
// google.golang.org/api clients reach, Receive on a loopback port, and
// either the memory store with Pub/Sub in process (pstest) or Firestore and
// Pub/Sub on their emulators. Tests read the events from a subscription of
// the topic, the same way on both.
type rig struct {
	t      testing.TB
	clock  *clock
	sim    *googlesim.Sim
	store  testStore
	apis   *google.APIs
	events *countedPublisher
	opts   renew.Options
	// project is the project of the rig's Pub/Sub.
	project string
	// deaf makes Receive answer 410, which Google does not retry: the
	// notification is lost.
	deaf atomic.Bool

	mu       sync.Mutex
	received []*pubsub.Message
	seen     map[string]bool // message ids: the emulator may redeliver
}

// countedPublisher counts the events Pub/Sub confirmed, so that a reader of
// the subscription knows when it has them all.
type countedPublisher struct {
	*event.Publisher
	n atomic.Int64
}

func (p *countedPublisher) Publish(ctx context.Context, e event.Event) error {
	err := p.Publisher.Publish(ctx, e)
	if err == nil {
		p.n.Add(1)
	}
	return err
}

// stores runs a test once per store: the memory store, and Firestore on the
// real emulator.
func stores(t *testing.T, f func(t *testing.T, s testStore)) { backend.Each(t, f) }

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
	topic := "events-" + uuid.NewString()[:8]
	r.subscribe(r.pubsubClient(topic), topic)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	recv, err := receive.New(receive.Deps{Channels: s, Strays: s, Publisher: r.events, Logger: quiet, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.deaf.Load() {
			http.Error(w, "deaf", http.StatusGone)
			return
		}
		recv.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.apis, err = google.NewAPIs(ctx, google.APIConfig{BaseURL: r.sim.URL})
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

// rigProject is the project of the memory rig's Pub/Sub, and of the
// topics the tests name.
const rigProject = "renew-test"

// pubsubClient returns, for the Firestore rig, a client of the Pub/Sub
// emulator in a project of the test's own (backend.Space), or, for the
// memory rig, of a pstest server with the topic; r.project is its project.
func (r *rig) pubsubClient(topic string) *pubsub.Client {
	r.t.Helper()
	if _, ok := r.store.(*store.Firestore); ok {
		space := backend.New(r.t)
		r.project = space.Project
		return space.PubSub(r.t)
	}
	r.project = rigProject
	srv, err := inproc.Start(context.Background(), rigProject, topic)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { srv.Close() })
	return srv.Client
}

// subscribe makes the rig's own topic, publishes the events there, and
// receives them, from the start, on a subscription of that topic.
func (r *rig) subscribe(client *pubsub.Client, name string) {
	r.t.Helper()
	ctx := context.Background()
	if err := event.EnsureTopic(ctx, client, r.project, name); err != nil {
		r.t.Fatal(err)
	}
	sub, err := event.Subscribe(ctx, client, r.project, name, name)
	if err != nil {
		r.t.Fatal(err)
	}
	pub, err := event.NewPublisher(client, name, renew.PublishPolicy())
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(pub.Stop)
	r.events = &countedPublisher{Publisher: pub}
	r.seen = map[string]bool{}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := client.Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
			m.Ack()
			r.mu.Lock()
			defer r.mu.Unlock()
			if !r.seen[m.ID] {
				r.seen[m.ID] = true
				r.received = append(r.received, m)
			}
		})
		if err != nil {
			r.t.Errorf("receive events: %v", err)
		}
	}()
	r.t.Cleanup(func() { cancel(); <-done })
}

// pass runs one pass with the rig's options over google (the simulator's
// adapters unless a test wraps them).
func (r *rig) pass(google renew.Google) renew.Summary {
	r.t.Helper()
	if google == nil {
		google = r.apis
	}
	sum, err := r.passWith(r.store, google, r.events)
	if err != nil {
		r.t.Fatal(err)
	}
	return sum
}

// passWith runs one pass with the rig's options over the given parts.
func (r *rig) passWith(s renew.Store, g renew.Google, pub renew.Publisher) (renew.Summary, error) {
	// No t.Fatal here: tests run passes in goroutines of their own.
	p, err := renew.New(s, g, pub, r.opts)
	if err != nil {
		return renew.Summary{}, err
	}
	return p.Run(context.Background())
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

// published is an event as a subscriber sees it.
type published struct {
	Type, ID, WatchID string
	Data              map[string]any
}

// published returns every event Pub/Sub has confirmed so far, each watch's
// in publish order (the ordering key is the watch id), once the
// subscription has delivered them all.
func (r *rig) published() []published {
	r.t.Helper()
	want := int(r.events.n.Load())
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.received)
		msgs := r.received[:got:got]
		r.mu.Unlock()
		if got >= want {
			var out []published
			for _, m := range msgs {
				p := published{Type: m.Attributes[event.AttrType], ID: m.Attributes[event.AttrID], WatchID: m.Attributes[event.AttrWatchID]}
				_ = json.Unmarshal(m.Data, &p.Data)
				out = append(out, p)
			}
			return out
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the subscription delivered %d of the %d events published", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
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

// crash makes a store, a Google and a publisher that work until a given step
// of a pass has succeeded, and then fail every call, as a process that died
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

// LeaseWatch's step is "create pending" when it stores a pending channel.
func (c crashStore) LeaseWatch(ctx context.Context, id string, l store.Lease, now time.Time, open func(store.Watch) (store.Channel, bool)) (store.Watch, error) {
	if err := c.check(); err != nil {
		return store.Watch{}, err
	}
	created := false
	w, err := c.Store.LeaseWatch(ctx, id, l, now, func(w store.Watch) (store.Channel, bool) {
		created = false // a transaction that met contention runs this again
		if open == nil {
			return store.Channel{}, false
		}
		ch, ok := open(w)
		created = ok
		return ch, ok
	})
	if err == nil && created {
		c.after("create pending")
	}
	return w, err
}

func (c crashStore) ReleaseWatch(ctx context.Context, id, holder string, u store.WatchUpdate, now time.Time, events ...store.OutboxEvent) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Store.ReleaseWatch(ctx, id, holder, u, now, events...)
	if err == nil && u.State != nil {
		c.after("mark " + string(*u.State))
	}
	return err
}

// EndWatch's step is "end <state>" when it ended the watch.
func (c crashStore) EndWatch(ctx context.Context, e store.End) (store.Channel, bool, error) {
	if err := c.check(); err != nil {
		return store.Channel{}, false, err
	}
	ch, ended, err := c.Store.EndWatch(ctx, e)
	if ended {
		c.after("end " + string(e.State))
	}
	return ch, ended, err
}

func (c crashStore) ActivateChannel(ctx context.Context, a store.Activation) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Store.ActivateChannel(ctx, a)
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

// Forget's step is "mark <state>" when it finishes a channel.
func (c crashStore) Forget(ctx context.Context, published []string, channelID string, u store.ChannelUpdate) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Store.Forget(ctx, published, channelID, u)
	if channelID != "" && u.State != nil {
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

func (c crashStore) DeleteWatch(ctx context.Context, id string, events ...store.OutboxEvent) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Store.DeleteWatch(ctx, id, events...)
	c.after("delete watch")
	return err
}

type crashGoogle struct {
	renew.Google
	*crash
}

func (c crashGoogle) Watch(ctx context.Context, w store.Watch, req google.ChannelRequest) (google.Granted, error) {
	if err := c.check(); err != nil {
		return google.Granted{}, err
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

type crashPublisher struct {
	renew.Publisher
	*crash
}

func (c crashPublisher) Publish(ctx context.Context, e event.Event) error {
	if err := c.check(); err != nil {
		return err
	}
	err := c.Publisher.Publish(ctx, e)
	c.after("publish")
	return err
}

// crashed runs a pass that dies after the n-th occurrence of step, over the
// rig's store, adapters and publisher, and then lets the lease it held lapse.
func (r *rig) crashed(step string, n int) {
	r.t.Helper()
	c := &crash{step: step, n: n}
	if _, err := r.passWith(crashStore{r.store, c}, crashGoogle{r.apis, c}, crashPublisher{r.events, c}); err != nil && !errors.Is(err, errCrashed) {
		r.t.Fatal(err)
	}
	if !c.dead {
		r.t.Fatalf("the pass never reached step %q #%d", step, n)
	}
	r.clock.Advance(r.opts.Budget + time.Minute + time.Second) // the default lease
}

// settle runs passes until one leaves nothing remaining, and fails the test
// if three do not: an orphan whose resource id is unknown takes one pass to
// open its watch's next channel, which names the resource, and one to stop
// it by that.
func (r *rig) settle() {
	r.t.Helper()
	for range 3 {
		r.flush()
		if r.pass(nil).Remaining == 0 {
			r.flush()
			return
		}
	}
	r.t.Fatal("three passes and still work remaining")
}
