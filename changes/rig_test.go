package changes_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// backends are the two sets of real parts the end-to-end tests run on: the
// memory store with Pub/Sub in process (pstest), and Firestore and Pub/Sub
// on their emulators.
var backends = []string{"memory", "emulators"}

// rig is all of watchrelay, assembled as `watchrelay serve` assembles it: a
// simulated Google that the real typed clients reach, Receive on a loopback
// port, Renew, and Sync fed by a pull subscription of the topic
// (service.PullSync). Tests read every event from a subscription of the
// topic, as a subscriber would.
type rig struct {
	t   testing.TB
	sim *googlesim.Sim
	svc *service.Service

	// mute drops Gmail's pushes, so that one push after many changes has
	// Sync read them all in one read.
	mute atomic.Bool

	mu        sync.Mutex
	events    []service.Printed
	delivered map[string]bool // Pub/Sub message ids recorded
	seen      chan struct{}   // signalled on every event
}

type rigOptions struct {
	debounce time.Duration
	pageSize int
	log      io.Writer
	// wrap, when set, stands between the service and its store, so a test
	// can pause or fail one call.
	wrap func(service.Store) service.Store
	// now, when set, is the clock of Renew's and Sync's records.
	now func() time.Time
	// renew tunes the pass (its call timeout, as Renew's budget for a
	// baseline).
	renew renew.Options
	// timeout is WATCHRELAY_SYNC_TIMEOUT; default 30s.
	timeout time.Duration
	// latency is added to every simulated Google call.
	latency time.Duration
}

func newRig(t testing.TB, on string, o rigOptions) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rig{t: t, seen: make(chan struct{}, 1), delivered: map[string]bool{}}
	// Gmail publishes its pushes to the inbound topic, as Gmail does.
	var gmail atomic.Pointer[pubsub.Client]
	publish := func(topic string, data []byte) error {
		if r.mute.Load() {
			return nil // lost on the way, as a push may be
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p := gmail.Load().Publisher(topic)
		defer p.Stop()
		_, err := p.Publish(ctx, &pubsub.Message{Data: data}).Get(ctx)
		return err
	}
	sim, err := googlesim.Start(googlesim.Options{PageSize: o.pageSize, RetryBase: 50 * time.Millisecond, Publish: publish, Latency: o.latency})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	r.sim = sim

	var h http.Handler = http.NotFoundHandler()
	var hmu sync.RWMutex
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hmu.RLock()
		defer hmu.RUnlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(recv.Close)

	cfg := config.Defaults
	cfg.Topic = "events-" + uuid.NewString()[:8]
	cfg.Address = recv.URL + "/receive"
	cfg.APIBaseURL = sim.URL
	cfg.SyncDebounce = o.debounce
	cfg.SyncTimeout = cmp.Or(o.timeout, 30*time.Second)
	logw := o.log
	if logw == nil {
		logw = io.Discard
	}
	opts := service.Options{Logger: slog.New(slog.NewJSONHandler(logw, nil)), Renew: o.renew}
	opts.Renew.Now = o.now
	project := service.LocalProject
	switch on {
	case "memory":
		ps, err := inproc.Start(ctx, service.LocalProject, cfg.Topic)
		if err != nil {
			t.Fatal(err)
		}
		opts.Store, opts.PubSub, opts.Release = store.NewMemory(), ps.Client, ps.Close
	case "emulators":
		space := backend.New(t)
		cfg.Project, project = space.Project, space.Project
		cfg.FirestoreEmulator, cfg.PubsubEmulator = space.Hosts.Firestore, space.Hosts.Pubsub
		opts.PubSub, opts.Store = space.PubSub(t), space.Firestore(t)
	default:
		t.Fatalf("unknown backend %q", on)
	}
	if o.wrap != nil {
		opts.Store = o.wrap(opts.Store)
	}
	gmail.Store(opts.PubSub)
	svc, err := service.New(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	r.svc = svc
	hmu.Lock()
	h = svc.Mux()
	hmu.Unlock()

	if err := event.EnsureTopic(ctx, opts.PubSub, project, cfg.Topic); err != nil {
		t.Fatal(err)
	}
	// Unordered: pstest hands an ordering key's messages over one at a
	// time, too slowly for a storm.
	sub, err := event.SubscribeUnordered(ctx, opts.PubSub, project, cfg.Topic, "seen-"+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	reading := make(chan struct{})
	// The reader stops before the service and the clients close (cleanups
	// run last first), so it never logs into a test that has ended.
	t.Cleanup(func() { cancel(); <-reading })
	go func() {
		defer close(reading)
		// A streaming pull the loaded emulator drops ends Receive; the
		// events it had not delivered come again to the next one.
		for ctx.Err() == nil {
			err := opts.PubSub.Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
				r.record(m.ID, service.Printed{Attributes: m.Attributes, Data: m.Data})
				m.Ack()
			})
			if err != nil && ctx.Err() == nil {
				t.Logf("reading the events: %v; reading again", err)
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	if _, err := svc.PullSync(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// record keeps an event as the subscription delivered it, once per
// Pub/Sub message: a message redelivered to the reader is not a second
// publish (a replayed page is, under a new message id).
func (r *rig) record(id string, p service.Printed) {
	r.mu.Lock()
	if !r.delivered[id] {
		r.delivered[id] = true
		r.events = append(r.events, p)
	}
	r.mu.Unlock()
	select {
	case r.seen <- struct{}{}:
	default:
	}
}

// add opens a watch (see open); the channel's sync message then has Sync
// take the watch's cursor. It returns once the cursor exists.
func (r *rig) add(w store.Watch) store.Watch {
	r.t.Helper()
	w = r.open(w)
	if google.FromBody(w.Kind) {
		return w // no cursor: each notification carries its item
	}
	r.waitFor(fmt.Sprintf("the cursor of %s", w.ID), func() bool {
		c, err := r.svc.Store.Cursor(context.Background(), w.ID)
		return err == nil && c.Token != "" && c.Holder == ""
	})
	return w
}

// open stores a watch and runs a pass, which opens its channel.
func (r *rig) open(w store.Watch) store.Watch {
	r.t.Helper()
	ctx := context.Background()
	w, err := renew.AddWatch(ctx, r.svc.Store, w, r.svc.Config.RenewInterval, time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	r.pass()
	w, err = r.svc.Store.Watch(ctx, w.ID)
	if err != nil || w.ChannelID == "" {
		r.t.Fatalf("watch %s after its first pass: %+v, %v", w.ID, w, err)
	}
	return w
}

// pass runs one Renew pass, as Scheduler would.
func (r *rig) pass() renew.Summary {
	r.t.Helper()
	sum, err := r.svc.Renew.Run(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return sum
}

// waitFor polls cond until it holds, or fails the test after a minute: on
// a loaded machine (CI runs every package's emulators at once, under -race)
// a storm through Receive, the emulators and Sync takes tens of seconds.
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-r.seen:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// change is one change event as a subscriber reads it.
type change struct {
	ID     string
	Change string
	Data   event.ChangeData
	raw    json.RawMessage // the data as published, for events of other types
}

// changes returns the change events of watch so far, in arrival order.
func (r *rig) changes(watch string) []change {
	return r.ofType(watch, event.TypeChange)
}

func (r *rig) ofType(watch, typ string) []change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []change
	for _, p := range r.events {
		if p.Attributes[event.AttrType] != typ || p.Attributes[event.AttrWatchID] != watch {
			continue
		}
		c := change{ID: p.Attributes[event.AttrID], Change: p.Attributes[event.AttrChange], raw: p.Data}
		if err := json.Unmarshal(p.Data, &c.Data); err != nil {
			r.t.Errorf("event %s: %v", c.ID, err)
		}
		out = append(out, c)
	}
	return out
}

// items returns the latest change of each item of watch, by item id.
func (r *rig) items(watch string) map[string]change {
	out := map[string]change{}
	for _, c := range r.changes(watch) {
		out[c.Data.ItemID] = c
	}
	return out
}

// waitItems waits until every item id in want has a change event for watch
// that satisfies ok (nil: any), and returns those events by item id. Any
// event, not the last to arrive: the test's subscription is unordered, so
// an older version of an item may arrive after a newer one.
func (r *rig) waitItems(watch string, want []string, ok func(change) bool) map[string]change {
	r.t.Helper()
	got := map[string]change{}
	r.waitFor(fmt.Sprintf("changes of %d items of %s", len(want), watch), func() bool {
		for _, c := range r.changes(watch) {
			if ok == nil || ok(c) {
				got[c.Data.ItemID] = c
			}
		}
		for _, id := range want {
			if _, found := got[id]; !found {
				return false
			}
		}
		return true
	})
	return got
}

// idle waits until no request holds the watch's read: a test that edits
// after it knows the edit comes after every read so far.
func (r *rig) idle(watch string) {
	r.t.Helper()
	r.waitFor("Sync idle on "+watch, func() bool {
		c, err := r.svc.Store.Cursor(context.Background(), watch)
		return err == nil && c.Holder == "" && c.Token != ""
	})
}

// field reads a string field of a change's item JSON.
func field(c change, name string) string {
	var m map[string]any
	_ = json.Unmarshal(c.Data.Item, &m)
	s, _ := m[name].(string)
	return s
}

// jsonInto decodes a change's item into v.
func jsonInto(c change, v any) bool { return json.Unmarshal(c.Data.Item, v) == nil }
