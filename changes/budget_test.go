package changes_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// Reads longer than their budget: every call to the simulated Google takes
// slowCall, and a page of events (2,500, Google's largest) or of Gmail
// history (500) is several of them long, so neither Renew's call timeout
// nor Sync's own fits a whole read. The figures (50,000 events at
// 2 s a page, a 10 s Sync timeout) scaled down a hundredfold in time.
const (
	slowCall = 150 * time.Millisecond
	// slowBudget is Renew's CallTimeout and WATCHRELAY_SYNC_TIMEOUT:
	// several pages, with room for a page's decoding under -race on a
	// loaded machine, since a page that does not fit is never done.
	slowBudget  = 1500 * time.Millisecond
	bigCalendar = 10 * 2500 // ten pages
)

// slowRig is a rig whose Google answers every call slowCall late and whose
// budgets are slowBudget.
func slowRig(t *testing.T, backend string) *rig {
	return newRig(t, backend, rigOptions{latency: slowCall, timeout: slowBudget,
		renew: renew.Options{CallTimeout: slowBudget}})
}

// TestLongListing: a calendar whose listing outlasts both budgets gets its
// first cursor across Renew's passes and then a live channel, and an edit
// after that is published; after Google drops the sync token (410), the
// re-baseline runs across Sync's turns, and the next edit is published.
// Before cursors kept a listing's page, every pass listed the calendar
// from the start within 30 s and never finished, so the watch never got a
// channel.
func TestLongListing(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := slowRig(t, backend)
			ctx := context.Background()
			for i := range bigCalendar {
				r.sim.EditEvent("team", googlesim.Event{ID: fmt.Sprint("e", i), Summary: "busy"})
			}
			w, err := renew.AddWatch(ctx, r.svc.Store, calendarWatch("big"), r.svc.Config.RenewInterval, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			before := r.sim.Stats().ListCalls
			passes := 0
			for ; passes < 20; passes++ {
				if w, err = r.svc.Store.Watch(ctx, w.ID); err != nil || w.ChannelID != "" {
					break
				}
				r.pass()
			}
			if w.ChannelID == "" || passes < 2 {
				t.Fatalf("after %d passes: channel %q; want one, after more than one pass", passes, w.ChannelID)
			}
			// Each page listed once, or twice where a pass ran out
			// mid-page: never the calendar again from the start.
			if n := r.sim.Stats().ListCalls - before; n > 10+passes {
				t.Errorf("%d list calls for a first cursor of 10 pages over %d passes", n, passes)
			}
			t.Logf("first cursor of %d events: %d passes, %d list calls", bigCalendar, passes, r.sim.Stats().ListCalls-before)

			r.sim.EditEvent("team", googlesim.Event{ID: "after-start", Summary: "published"})
			r.waitItems(w.ID, []string{"after-start"}, nil)
			r.idle(w.ID)

			r.sim.ExpireSyncTokens()
			r.sim.EditEvent("team", googlesim.Event{ID: "in-resync", Summary: "read whole"})
			r.waitFor("the resync", func() bool { return len(r.ofType(w.ID, event.TypeResync)) == 1 })
			r.waitFor("the re-baseline, across turns", func() bool {
				c, err := r.svc.Store.Cursor(ctx, w.ID)
				return err == nil && c.Baselined() && c.Page == "" && c.Holder == ""
			})
			r.sim.EditEvent("team", googlesim.Event{ID: "after-resync", Summary: "published"})
			r.waitItems(w.ID, []string{"after-resync"}, nil)
			if n := len(r.ofType(w.ID, event.TypeResync)); n != 1 {
				t.Errorf("%d resync events, want 1", n)
			}
		})
	}
}

// TestLongHistory: a Gmail history of thousands of records, read slower
// than Sync's timeout allows, publishes every message, none more than twice
// (a page cut off and read again), and then the next new message. Before,
// each redelivery read the history from the same cursor, and republished
// the same pages forever.
func TestLongHistory(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			// A page of history is a slow call and 500 events to
			// publish: the budget holds two, not the four.
			r := newRig(t, backend, rigOptions{latency: 8 * slowCall, timeout: 5 * time.Second})
			w := r.add(store.Watch{ID: "ann-mail", Kind: "gmail.users", Subject: mailbox})
			const n = 2000 // four pages of 500
			// Their pushes are lost but the last one's: one read of the
			// whole history, across turns.
			r.mute.Store(true)
			for range n - 1 {
				r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			}
			r.mute.Store(false)
			r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			times := map[string]int{}
			r.waitFor(fmt.Sprintf("%d messages", n), func() bool {
				times = r.published(w.ID)
				return len(times) >= n
			})
			for id, k := range times {
				if k > 2 {
					t.Fatalf("message %s published %d times, want once or, for a page cut off, twice", id, k)
				}
			}
			next := r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			r.waitItems(w.ID, []string{next.ID}, nil)
		})
	}
}

// published counts the change events of each item of watch so far, from
// their ids (watch/item/version), without decoding them: a read of
// thousands of items is checked after every event.
func (r *rig) published(watch string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, p := range r.events {
		if p.Attributes[event.AttrType] == event.TypeChange && p.Attributes[event.AttrWatchID] == watch {
			out[strings.Split(p.Attributes[event.AttrID], "/")[1]]++
		}
	}
	return out
}

// TestKeepTimeoutInTerraform: Terraform leaves room past sync_timeout for
// a request to keep the page it read (changes.KeepTimeout); the figure is
// written there too, and must be the same.
func TestKeepTimeoutInTerraform(t *testing.T) {
	b, err := os.ReadFile("../terraform/sync.tf")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*sync_keep_seconds\s*=\s*(\d+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("terraform/sync.tf sets no local sync_keep_seconds")
	}
	if got, want := string(m[1]), fmt.Sprint(changes.KeepTimeout.Seconds()); got != want {
		t.Errorf("terraform/sync.tf: sync_keep_seconds = %s, want changes.KeepTimeout, %s", got, want)
	}
}
