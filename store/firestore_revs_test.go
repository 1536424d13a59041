package store_test

import (
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/store"
)

// TestFirestoreStaleCursor: two Sync instances (two stores on one
// database) write one cursor in turn, each writing against the cursor as
// it last read or wrote it. The one whose remembered cursor is stale must
// find out (its write's precondition fails) and decide again on the
// cursor as it is: the holder's finish must not release over a count the
// other instance made, nor its page's write be refused, and an instance
// that remembers a cursor covering a notification must not skip it once
// the lease is free.
func TestFirestoreStaleCursor(t *testing.T) {
	space := backend.New(t)
	a, b := space.Firestore(t), space.Firestore(t)
	ctx := t.Context()

	// a claims; b counts a notification a's remembered cursor lacks.
	held, _ := mustWant(t, a, claim("w1", "h1", "m1", t0))
	mustWant(t, b, claim("w1", "h2", "m2", t0.Add(time.Second)))
	c, released, err := a.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h1", Seen: held.Wanted, At: tok("t1"),
		Until: t0.Add(time.Minute), Now: t0.Add(2 * time.Second)})
	if err != nil || released || c.Wanted != 2 {
		t.Fatalf("finish on a stale cursor: released %v, wanted %d, %v; want kept, 2", released, c.Wanted, err)
	}
	// b remembers the cursor before a's finish; a's page is written all
	// the same, and the holder's finish from b releases it.
	if err := b.AdvanceCursor(ctx, "w1", "h1", tok("t2"), t0.Add(time.Minute), t0.Add(3*time.Second)); err != nil {
		t.Fatalf("advance from a stale cursor: %v", err)
	}
	c, released, err = b.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h1", Seen: 2, At: tok("t3"),
		Until: t0.Add(time.Minute), Now: t0.Add(4 * time.Second)})
	if err != nil || !released || c.Token != "t3" {
		t.Fatalf("finish: released %v, token %q, %v; want released at t3", released, c.Token, err)
	}

	// b claims with a debounce, and a reads the cursor while it covers.
	cl := claim("w2", "h3", "m3", t0)
	cl.Begins = t0.Add(10 * time.Second)
	mustWant(t, b, cl)
	if _, err := a.Cursor(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	// b's read began, a notification through b was counted meanwhile,
	// and b's next read saw it and released the lease. A notification
	// through a, whose remembered cursor is still covered by b's first
	// read, must take the free lease.
	mustWant(t, b, claim("w2", "h4", "m4", t0.Add(11*time.Second)))
	for _, seen := range []int64{1, 2} {
		if _, _, err := b.FinishSync(ctx, store.Finish{WatchID: "w2", Holder: "h3", Seen: seen,
			Until: t0.Add(time.Minute), Now: t0.Add(12 * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	got, took := mustWant(t, a, claim("w2", "h5", "m5", t0.Add(5*time.Second)))
	if !took || got.Holder != "h5" || got.Wanted != 3 {
		t.Errorf("a notification through a stale cursor: took %v, holder %q, wanted %d; want true, h5, 3", took, got.Holder, got.Wanted)
	}
}
