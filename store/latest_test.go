package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// exp1 and exp2 are the expirations of a watch's channels c1 and c2, c2
// opened after c1.
var (
	exp1 = t0.Add(6 * time.Hour)
	exp2 = t0.Add(9 * time.Hour)
)

// body is message number of channel ch (expiring exp) carrying item of
// watch w, claimed while the watch's channel is current.
func body(w, item, ch string, number int64, exp time.Time, current string) store.BodyClaim {
	return store.BodyClaim{WatchID: w, ItemID: item, Version: fmt.Sprint("v", number), ChannelID: ch, Number: number,
		Expiration: exp, Current: current, Now: t0}
}

// recorded is the record a claim of b leaves.
func recorded(b store.BodyClaim) store.Latest {
	return store.Latest{WatchID: b.WatchID, ItemID: b.ItemID, Version: b.Version, ChannelID: b.ChannelID,
		MessageNumber: b.Number, ChannelExpiration: stored(b.Expiration), ClaimedAt: stored(b.Now)}
}

func mustClaim(t *testing.T, s latestStore, b store.BodyClaim) (store.Latest, store.Verdict) {
	t.Helper()
	l, v, err := s.ClaimBody(t.Context(), b)
	if err != nil {
		t.Fatalf("ClaimBody(%+v): %v", b, err)
	}
	return l, v
}

func testClaimBodyRule(t *testing.T, s contractStore) {
	tests := []struct {
		name  string
		first *store.BodyClaim // what was published last for the item, if anything
		claim store.BodyClaim
		want  store.Verdict
	}{
		// An item never published: any body is its latest.
		{"unknown item", nil, body("w", "a", "c1", 7, exp1, "c1"), store.BodyNewer},
		// Within one channel the higher number is the later change.
		{"same channel, newer", new(body("w", "a", "c1", 7, exp1, "c1")), body("w", "a", "c1", 9, exp1, "c1"), store.BodyNewer},
		// The case of the issue: the add (7) delivered again after the
		// delete (9) was published.
		{"same channel, older", new(body("w", "a", "c1", 9, exp1, "c1")), body("w", "a", "c1", 7, exp1, "c1"), store.BodyOlder},
		// The same message delivered again: published again, the record
		// left as it is.
		{"same channel, equal", new(body("w", "a", "c1", 9, exp1, "c1")), body("w", "a", "c1", 9, exp1, "c1"), store.BodySame},
		// A renewal made c2 current: its body wins whatever the numbers,
		// which no two channels share an order of.
		{"current channel over an older one", new(body("w", "a", "c1", 900, exp1, "c1")), body("w", "a", "c2", 3, exp2, "c2"), store.BodyNewer},
		// The retired c1, still delivering in its grace period, loses to
		// what the current c2 delivered, whatever the numbers.
		{"older channel under the current one", new(body("w", "a", "c2", 3, exp2, "c2")), body("w", "a", "c1", 900, exp1, "c2"), store.BodyOlder},
		// Neither current (c3 replaced both): the later-expiring channel
		// is the later-opened one.
		{"neither current, later channel", new(body("w", "a", "c1", 900, exp1, "c1")), body("w", "a", "c2", 3, exp2, "c3"), store.BodyNewer},
		{"neither current, earlier channel", new(body("w", "a", "c2", 3, exp2, "c2")), body("w", "a", "c1", 900, exp1, "c3"), store.BodyOlder},
		// Neither current and no expiration to go by: the arrival stands,
		// as without the rule.
		{"neither current, no expiration", new(body("w", "a", "c2", 3, time.Time{}, "c2")), body("w", "a", "c1", 900, time.Time{}, "c3"), store.BodyNewer},
		// Records are per watch and per item.
		{"another item", new(body("w", "a", "c1", 9, exp1, "c1")), body("w", "b", "c1", 7, exp1, "c1"), store.BodyNewer},
		{"another watch", new(body("w", "a", "c1", 9, exp1, "c1")), body("w2", "a", "c1", 7, exp1, "c1"), store.BodyNewer},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A watch and item of their own per row: one store for all.
			prefix := fmt.Sprint("r", i, "-")
			tt.claim.WatchID = prefix + tt.claim.WatchID
			want := recorded(tt.claim)
			if tt.first != nil {
				tt.first.WatchID = prefix + tt.first.WatchID
				mustClaim(t, s, *tt.first)
				if tt.want != store.BodyNewer {
					want = recorded(*tt.first)
				}
			}
			got, v := mustClaim(t, s, tt.claim)
			if v != tt.want {
				t.Errorf("verdict %q, want %q", v, tt.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("returned record (-want +got):\n%s", diff)
			}
			kept, err := s.Latest(t.Context(), tt.claim.WatchID, tt.claim.ItemID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, kept); diff != "" {
				t.Errorf("stored record (-want +got):\n%s", diff)
			}
		})
	}
}

// testClaimBodyConcurrent: twenty bodies of one item on one channel,
// claimed at once. Each is judged on the record as it stood when it was
// claimed, and no claim overwrites a newer one: the highest number ends
// recorded, and was claimed newer.
func testClaimBodyConcurrent(t *testing.T, s contractStore) {
	const n = 20
	verdicts := make([]store.Verdict, n+1)
	var wg sync.WaitGroup
	for i := int64(1); i <= n; i++ {
		wg.Go(func() { _, verdicts[i] = mustClaim(t, s, body("w", "a", "c1", i, exp1, "c1")) })
	}
	wg.Wait()
	if verdicts[n] != store.BodyNewer {
		t.Errorf("the highest number's verdict is %q, want newer", verdicts[n])
	}
	got, err := s.Latest(t.Context(), "w", "a")
	if err != nil || got.MessageNumber != n {
		t.Errorf("record after the claims: %+v, %v; want number %d", got, err, n)
	}
}

func testClaimBodyInvalid(t *testing.T, s contractStore) {
	ctx := t.Context()
	for _, id := range invalidIDs {
		if _, _, err := s.ClaimBody(ctx, body(id, "a", "c1", 1, exp1, "c1")); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("ClaimBody for watch %q: %v, want ErrInvalidID", id, err)
		}
		if _, err := s.Latest(ctx, id, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Latest of watch %q: %v, want ErrNotFound", id, err)
		}
	}
	// An item id may hold anything, "/" too; but it must be there, and
	// so must the channel.
	if _, v := mustClaim(t, s, body("w", "a/b", "c1", 1, exp1, "c1")); v != store.BodyNewer {
		t.Errorf("item a/b: %q, want newer", v)
	}
	for _, b := range []store.BodyClaim{body("w", "", "c1", 1, exp1, "c1"), body("w", "a", "", 1, exp1, "c1")} {
		if _, _, err := s.ClaimBody(ctx, b); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("ClaimBody(%+v): %v, want ErrInvalidID", b, err)
		}
	}
	if _, err := s.Latest(ctx, "w", "never"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Latest of an item never claimed: %v, want ErrNotFound", err)
	}
}

// testDeleteWatchLatest: a purge deletes the watch's records, and only
// its: a body of a watch created again under the id is new, whatever its
// number.
func testDeleteWatchLatest(t *testing.T, s contractStore) {
	ctx := t.Context()
	mustCreateWatches(t, s, sampleWatch("gone"))
	for _, item := range []string{"a", "b", "c/d"} {
		mustClaim(t, s, body("gone", item, "c1", 9, exp1, "c1"))
	}
	mustClaim(t, s, body("kept", "a", "c1", 9, exp1, "c1"))
	if err := s.DeleteWatch(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{"a", "b", "c/d"} {
		if _, err := s.Latest(ctx, "gone", item); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Latest of gone/%s after DeleteWatch: %v, want ErrNotFound", item, err)
		}
	}
	if _, v := mustClaim(t, s, body("gone", "a", "c1", 1, exp1, "c1")); v != store.BodyNewer {
		t.Errorf("a body of the purged watch's item: %q, want newer", v)
	}
	if _, err := s.Latest(ctx, "kept", "a"); err != nil {
		t.Errorf("another watch's record: %v", err)
	}
	// A watch that had no records, or is not there, purges as before.
	for _, id := range []string{"none", "a/b"} {
		if err := s.DeleteWatch(ctx, id); err != nil {
			t.Errorf("DeleteWatch(%q): %v", id, err)
		}
	}
}
