package changes_test

import (
	"context"
	"testing"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

const mailbox = "ann@example.com"

// TestGmailChanges follows Gmail from its push to the change events: the
// push on the inbound topic becomes a notification of the mailbox's watch,
// and Sync reads the history since the watch's cursor, one change per
// message added or deleted. A history id too old gives one resync and a
// fresh cursor, after which changes flow again; a revoked grant ends the
// watch failed, with its event.
func TestGmailChanges(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			w := r.add(store.Watch{ID: "ann-mail", Kind: "gmail.users", Subject: mailbox, Labels: map[string]string{"team": "sales"},
				Params: map[string]string{"labelIds": "INBOX", "labelFilterBehavior": "include"}})

			m1 := r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			m2 := r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			r.sim.DeleteMessage(mailbox, m1.ID)
			defer func() {
				if t.Failed() {
					for _, c := range r.changes(w.ID) {
						t.Logf("change %s %s %s", c.ID, c.Change, c.Data.Item)
					}
					cur, err := r.svc.Store.Cursor(context.Background(), w.ID)
					t.Logf("cursor %+v %v; pushes %+v", cur, err, r.sim.GmailPushes())
				}
			}()
			got := r.waitItems(w.ID, []string{m1.ID, m2.ID}, func(c change) bool { return c.Data.ItemID != m1.ID || c.Data.Removed })
			if c := got[m2.ID]; c.Change != "upsert" || field(c, "change") != "messageAdded" || !hasThread(c, m2.ThreadID) {
				t.Errorf("change of %s: %+v %s; want messageAdded with its thread", m2.ID, c, c.Data.Item)
			}
			if n := len(r.ofType(w.ID, event.TypeNotification)); n < 1 {
				t.Errorf("%d notifications of the watch; the pushes were not published as its notifications", n)
			}
			// status reads when the watch was last notified from its
			// cursor, as for a webhook's watch.
			if c, err := r.svc.Store.Cursor(context.Background(), w.ID); err != nil || c.NotifiedAt.IsZero() {
				t.Errorf("cursor of %s after the pushes: notified %v, %v; want it recorded", w.ID, c.NotifiedAt, err)
			}

			// Once Sync is idle, history moves on with nothing pushed (the
			// watch wants INBOX only), then Gmail drops it: the cursor is
			// too old. (A read still running would have taken the cursor
			// past the drop.)
			r.idle(w.ID)
			r.sim.AddMessage(mailbox, googlesim.GmailMessage{LabelIDs: []string{"SPAM"}})
			r.sim.ExpireHistory(mailbox)
			r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			// What changes between the resync and the fresh baseline is
			// in the baseline: the resync event says to read it whole.
			r.waitFor("the resync", func() bool { return len(r.ofType(w.ID, event.TypeResync)) == 1 })
			r.idle(w.ID)
			m4 := r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			r.waitItems(w.ID, []string{m4.ID}, nil)
			if n := len(r.ofType(w.ID, event.TypeResync)); n != 1 {
				t.Errorf("%d resync events, want 1", n)
			}

			r.sim.RevokeSubject(mailbox)
			r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			// The event goes first, then the state.
			r.waitFor("the failed event and state", func() bool {
				got, err := r.svc.Store.Watch(context.Background(), w.ID)
				return len(r.ofType(w.ID, event.TypeFailed)) == 1 && err == nil && got.State == store.WatchFailed
			})
		})
	}
}

// hasThread reports whether a Gmail change's item names the thread.
func hasThread(c change, thread string) bool {
	var item struct {
		Message struct {
			ThreadID string `json:"threadId"`
		} `json:"message"`
	}
	return jsonInto(c, &item) && item.Message.ThreadID == thread && thread != ""
}
