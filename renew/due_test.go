package renew_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// dueReads counts what a pass's due query returned, and the leases it took.
type dueReads struct {
	renew.Store
	mu           sync.Mutex
	read, leases int
	pages        int
}

func (d *dueReads) DueWatches(ctx context.Context, now time.Time, after store.Watch, limit int) ([]store.Watch, error) {
	ws, err := d.Store.DueWatches(ctx, now, after, limit)
	d.mu.Lock()
	d.read += len(ws)
	d.pages++
	d.mu.Unlock()
	return ws, err
}

func (d *dueReads) LeaseWatch(ctx context.Context, id string, l store.Lease, now time.Time, open func(store.Watch) (store.Channel, bool)) (store.Watch, error) {
	d.mu.Lock()
	d.leases++
	d.mu.Unlock()
	return d.Store.LeaseWatch(ctx, id, l, now, open)
}

// A watch's due time follows its channel: a renewal sets it to the new
// channel's renewal time, so the due query leaves the watch alone until
// then; and a watch whose due time was set early (here a hand-made stop
// cleared, then an import that gave it a channel again, both writers that
// do not know the renewal window) is read once, by the pass that finds it
// early, which writes its real due time under its lease, and not again.
func TestDueAtFollowsTheChannel(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f"}, TTLSeconds: 7200})
		if sum := r.pass(nil); sum.Started != 1 {
			t.Fatalf("first pass %+v, want 1 started", sum)
		}
		w := r.watch("w")
		// Two hours asked; RENEW_BEFORE 1 h is the smaller threshold.
		if want := w.ChannelExpiration.Add(-time.Hour); !w.DueAt.Equal(want) {
			t.Errorf("due at %v, want the channel's expiration less an hour, %v", w.DueAt, want)
		}
		count := &dueReads{Store: s}
		if sum, err := r.passWith(count, r.apis, r.events); err != nil || !sum.Idle() || count.read != 0 {
			t.Errorf("pass before it is due: %+v, %v, %d watches read; want none read", sum, err, count.read)
		}

		// An import's write names the channel and no due time: due at once.
		if err := s.UpdateWatch(context.Background(), "w", store.WatchUpdate{ChannelID: &w.ChannelID, ChannelExpiration: &w.ChannelExpiration}, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if got := r.watch("w"); !got.DueAt.IsZero() {
			t.Fatalf("due at %v after a write that did not say, want zero", got.DueAt)
		}
		count = &dueReads{Store: s}
		if sum, err := r.passWith(count, r.apis, r.events); err != nil || sum.Started+sum.Renewed != 0 || count.read != 1 || count.leases != 1 {
			t.Errorf("pass over the early one: %+v, %v, %d read, %d leases; want it read and leased once, nothing renewed", sum, err, count.read, count.leases)
		}
		if got := r.watch("w"); !got.DueAt.Equal(w.DueAt) || got.LeaseHolder != "" {
			t.Errorf("due at %v, lease %q after the pass; want %v again, released", got.DueAt, got.LeaseHolder, w.DueAt)
		}
		count = &dueReads{Store: s}
		if _, err := r.passWith(count, r.apis, r.events); err != nil || count.read != 0 {
			t.Errorf("the pass after read %d, %v; want none", count.read, err)
		}

		// Once due, it is renewed, and due again by its new channel.
		r.clock.Advance(61 * time.Minute)
		if sum := r.pass(nil); sum.Renewed != 1 {
			t.Fatalf("pass once due %+v, want 1 renewed", sum)
		}
		if got := r.watch("w"); !got.DueAt.Equal(got.ChannelExpiration.Add(-time.Hour)) || got.ChannelID == w.ChannelID {
			t.Errorf("after the renewal: channel %s due at %v, want a new channel due an hour before %v", got.ChannelID, got.DueAt, got.ChannelExpiration)
		}
	})
}

// A pass reads its due watches a page at a time as it hands them out, and
// never more than it can hand out in its time at its rate: with 300 due and
// room for a few dozen, it reads about what it starts, and the next passes
// pick up the rest.
func TestPassReadsWhatItCanWork(t *testing.T) {
	r := newRig(t, store.NewMemory())
	const n = 300
	for i := range n {
		id := "w" + strconv.Itoa(i)
		r.add(store.Watch{ID: id, Kind: "drive.files", Params: map[string]string{"fileId": id}})
	}
	// 0.9 s of claiming at 20 calls/s: a capacity of 18 + burst 2 +
	// concurrency 2 = 22, read 2 at a time.
	r.opts.QPS, r.opts.Concurrency, r.opts.Budget, r.opts.Margin = 20, 2, time.Second, 100*time.Millisecond
	count := &dueReads{Store: r.store}
	sum, err := r.passWith(count, r.apis, r.events)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Started == 0 || sum.Remaining == 0 || count.read > 23 {
		t.Errorf("pass %+v read %d due watches in %d pages; want some started and at most the capacity (22) and one more read", sum, count.read, count.pages)
	}
	if unworked := count.read - sum.Started; unworked > r.opts.Concurrency+1 {
		t.Errorf("read %d, started %d: more than a page (and the one past the capacity) read and left", count.read, sum.Started)
	}
	started := sum.Started
	r.opts.QPS, r.opts.Budget, r.opts.Margin = 1000, time.Minute, 0
	for pass := 0; started < n && pass < 5; pass++ {
		started += r.pass(nil).Started
	}
	if started != n {
		t.Errorf("started %d in all, want %d", started, n)
	}
}
