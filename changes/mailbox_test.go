package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// labelWatch is a gmail.users watch of the mailbox that wants the messages
// with label.
func labelWatch(id, label string) store.Watch {
	return store.Watch{ID: id, Kind: "gmail.users", Subject: mailbox,
		Params: map[string]string{"labelIds": label, "labelFilterBehavior": "include"}}
}

// TestGmailSharedMailbox: two watches of one mailbox with different labels
// each get the changes of their own label and no other's; a deleted
// message, which Gmail names with no labels, goes to both. Removing one
// keeps the other delivering: Gmail's watch of the mailbox is not stopped.
func TestGmailSharedMailbox(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			a := r.add(labelWatch("a", "Label_A"))
			b := r.add(labelWatch("b", "Label_B"))

			ma := r.sim.AddMessage(mailbox, googlesim.GmailMessage{LabelIDs: []string{"Label_A"}})
			mb := r.sim.AddMessage(mailbox, googlesim.GmailMessage{LabelIDs: []string{"Label_B"}})
			r.waitItems(a.ID, []string{ma.ID}, nil)
			r.waitItems(b.ID, []string{mb.ID}, nil)
			r.idle(a.ID)
			r.idle(b.ID)
			if _, ok := r.items(a.ID)[mb.ID]; ok {
				t.Errorf("watch a (Label_A) got the Label_B message %s", mb.ID)
			}
			if _, ok := r.items(b.ID)[ma.ID]; ok {
				t.Errorf("watch b (Label_B) got the Label_A message %s", ma.ID)
			}
			removed := func(c change) bool { return c.Data.ItemID != ma.ID || c.Data.Removed }
			r.sim.DeleteMessage(mailbox, ma.ID)
			r.waitItems(a.ID, []string{ma.ID}, removed)
			r.waitItems(b.ID, []string{ma.ID}, removed)

			if err := renew.RemoveWatch(context.Background(), r.svc.Store, a.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			r.pass()
			if st := r.sim.Stats(); st.StopCalls != 0 {
				t.Errorf("%d users.stop calls after removing one of two watches; want none", st.StopCalls)
			}
			mb2 := r.sim.AddMessage(mailbox, googlesim.GmailMessage{LabelIDs: []string{"Label_B"}})
			r.waitItems(b.ID, []string{mb2.ID}, nil)
		})
	}
}

// TestGmailMixedCaseSubject: a subject typed in another case than the
// address Gmail pushes is matched all the same: one added with AddWatch,
// and one stored as Terraform (or an older watchrelay) stores it, which
// its first renewal puts in lower case.
func TestGmailMixedCaseSubject(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			ann := r.add(store.Watch{ID: "ann-mail", Kind: "gmail.users", Subject: "Ann@Example.com"})
			bob := store.Watch{ID: "bob-mail", Kind: "gmail.users", Subject: "Bob@Example.COM", State: store.WatchActive}
			if err := r.svc.Store.CreateWatch(context.Background(), bob); err != nil {
				t.Fatal(err)
			}
			r.pass()
			r.idle(bob.ID)

			m1 := r.sim.AddMessage(mailbox, googlesim.GmailMessage{})
			m2 := r.sim.AddMessage("bob@example.com", googlesim.GmailMessage{})
			r.waitItems(ann.ID, []string{m1.ID}, nil)
			r.waitItems(bob.ID, []string{m2.ID}, nil)
		})
	}
}
