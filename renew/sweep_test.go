package renew_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/fscount"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// beforeSweep is the store as a version from before the due sweep used it:
// it never sweeps, and never says the sweep is done.
type beforeSweep struct{ renew.Store }

func (beforeSweep) SweepDue(context.Context, int, func(store.Watch) time.Time, time.Time) (store.SweepPage, error) {
	return store.SweepPage{}, nil
}

// sweepReads counts the watches the due sweep read.
type sweepReads struct {
	renew.Store
	mu   sync.Mutex
	read int
}

func (s *sweepReads) SweepDue(ctx context.Context, limit int, dueAt func(store.Watch) time.Time, now time.Time) (store.SweepPage, error) {
	page, err := s.Store.SweepDue(ctx, limit, dueAt, now)
	s.mu.Lock()
	s.read += page.Read
	s.mu.Unlock()
	return page, err
}

// An upgraded store: its watches were written before dueAt, so the due
// query never reads them. The passes' sweep gives each active one its due
// time, a capacity's page a pass (4 here, of 10), and then stops: every
// watch whose channel is near expiry is renewed before it expires, one in
// backoff once its retry time comes, one whose channel is far from expiry
// not at all, an ended one is left as it was; and once the sweep is done a
// pass reads what an idle pass reads, no more.
func TestPassesSweepWatchesFromBeforeDueAt(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		testSweep(t, store.NewMemory(), nil)
	})
	t.Run("firestore", func(t *testing.T) {
		t.Parallel()
		ops := fscount.New()
		testSweep(t, fscount.Open(t, backend.New(t), ops), ops)
	})
}

func testSweep(t *testing.T, s testStore, ops *fscount.Counter) {
	ctx := context.Background()
	r := newRig(t, s)
	roles := map[string]string{}
	for i := range 12 {
		id, role := fmt.Sprintf("w%02d", i), [...]string{"soon", "soon", "later", "soon", "backoff", "ended"}[i%6]
		roles[id] = role
		ttl := int64(2 * 3600) // due an hour before it expires
		if role == "later" {
			ttl = 24 * 3600
		}
		r.add(store.Watch{ID: id, Kind: "drive.files", Params: map[string]string{"fileId": id}, TTLSeconds: ttl})
	}
	// The old version opens their channels, and some end or back off.
	if sum, err := r.passWith(beforeSweep{s}, r.apis, r.events); err != nil || sum.Started != 12 {
		t.Fatalf("the old version's pass: %+v, %v; want 12 started", sum, err)
	}
	retryAt := r.clock.Now().Add(90 * time.Minute)
	before := map[string]store.Watch{}
	for id, role := range roles {
		w := r.watch(id)
		switch role {
		case "ended":
			w.State = store.WatchFailed
		case "backoff":
			w.RetryAt = retryAt
		}
		// As the old version wrote it: no dueAt.
		if err := s.DeleteWatch(ctx, id); err != nil {
			t.Fatal(err)
		}
		backend.CreateWatchWithoutDueAt(t, s, w)
		before[id] = r.watch(id)
	}

	r.clock.Advance(61 * time.Minute) // the soon ones expire in 59 minutes
	r.opts.MaxWork = 4
	var sum renew.Summary
	for pass := range 4 {
		got := r.pass(nil)
		t.Logf("pass %d: %+v", pass, got)
		sum.Renewed += got.Renewed
		sum.Dated += got.Dated
		sum.Lapsed += got.Lapsed
	}
	if sum.Dated != 10 || sum.Renewed != 6 || sum.Lapsed != 0 {
		t.Errorf("the passes dated %d, renewed %d, found %d lapsed; want the 10 active dated, the 6 soon renewed, none lapsed",
			sum.Dated, sum.Renewed, sum.Lapsed)
	}
	for id, role := range roles {
		w, was := r.watch(id), before[id]
		switch renewed := w.ChannelID != was.ChannelID; {
		case role == "soon" && (!renewed || !w.ChannelExpiration.After(was.ChannelExpiration)):
			t.Errorf("%s, due: channel %s expiring %v, want a new one", id, w.ChannelID, w.ChannelExpiration)
		case (role == "later" || role == "backoff") && renewed:
			t.Errorf("%s, %s: renewed early", id, role)
		case role == "ended":
			if diff := cmp.Diff(was, w); diff != "" {
				t.Errorf("%s, ended: changed (-before +after):\n%s", id, diff)
			}
		}
	}

	// The sweep is done: two passes with nothing to do read the same, and
	// the sweep reads no watch.
	var reads [2]int
	for i := range reads {
		count := &sweepReads{Store: s}
		if ops != nil {
			ops.Reset()
		}
		if got, err := r.passWith(count, r.apis, r.events); err != nil || !got.Idle() || count.read != 0 {
			t.Errorf("idle pass %d: %+v, %v, the sweep read %d watches; want idle, none read", i, got, err, count.read)
		}
		if ops != nil {
			reads[i] = ops.Snapshot().Reads
		}
	}
	if ops != nil {
		t.Logf("idle passes read %v Firestore documents", reads)
	}
	if reads[0] != reads[1] {
		t.Errorf("idle passes read %v Firestore documents; want the same each pass", reads)
	}

	// The backoff ends before their channels expire: renewed then.
	r.clock.Advance(30 * time.Minute)
	if got := r.pass(nil); got.Renewed != 2 || got.Lapsed != 0 {
		t.Errorf("pass once the backoff is over: %+v, want the 2 renewed, none lapsed", got)
	}
}
