package renew_test

import (
	"context"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// annMailbox is the mailbox the shared-mailbox tests watch.
const annMailbox = "ann@example.com"

// labelWatch is a gmail.users watch of ann's mailbox that wants the
// messages with label.
func labelWatch(id, label string) store.Watch {
	return store.Watch{ID: id, Kind: "gmail.users", Subject: annMailbox,
		Params: map[string]string{"labelIds": label, "labelFilterBehavior": "include"}}
}

// gmailRig is a rig whose Gmail pushes go nowhere (the simulator records
// them) and whose Renew gives users.watch the inbound topic.
func gmailRig(t *testing.T, s testStore) *rig {
	r := newRig(t, s, func(o *googlesim.Options) {
		o.Publish = func(string, []byte) error { return nil }
	})
	r.opts.GmailTopic = gmailTopic
	return r
}

// pushed adds a message with labels to ann's mailbox and reports whether
// Gmail pushed its change.
func pushed(r *rig, labels ...string) bool {
	before := len(r.sim.GmailPushes())
	r.sim.AddMessage(annMailbox, googlesim.GmailMessage{LabelIDs: labels})
	return len(r.sim.GmailPushes()) > before
}

// TestGmailMailboxFilterIsTheUnion: Gmail keeps one watch per mailbox, so
// users.watch carries what every active watch of the mailbox needs. Two
// watches wanting different labels both have their messages pushed, and a
// label neither wants is not.
func TestGmailMailboxFilterIsTheUnion(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := gmailRig(t, s)
		r.add(labelWatch("a", "Label_A"))
		r.pass(nil)
		r.add(labelWatch("b", "Label_B"))
		if sum := r.pass(nil); sum.Started != 1 {
			t.Fatalf("second watch's pass: %+v", sum)
		}
		if !pushed(r, "Label_A") {
			t.Error("a Label_A message was not pushed: the second watch's users.watch dropped the first's label")
		}
		if !pushed(r, "Label_B") {
			t.Error("a Label_B message was not pushed")
		}
		if pushed(r, "Label_C") {
			t.Error("a Label_C message was pushed: the filter is wider than the watches need")
		}
	})
}

// mailboxEnds are the three ways a gmail.users watch ends. Each prepares
// the end of w; the pass the test runs next ends it.
var mailboxEnds = []struct {
	name string
	end  func(t *testing.T, r *rig, w store.Watch)
}{
	// A person removes it (watch rm): the pass purges it.
	{"watch rm", func(t *testing.T, r *rig, w store.Watch) {
		if err := renew.RemoveWatch(context.Background(), r.store, w.ID, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}},
	// Gmail refuses its renewal for good: the pass ends it failed.
	{"Renew ends it", func(t *testing.T, r *rig, w store.Watch) {
		soon := r.clock.Now().Add(time.Minute)
		if err := r.store.UpdateWatch(context.Background(), w.ID, store.WatchUpdate{ChannelExpiration: &soon}, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		r.sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch, Kind: googlesim.KindGmailUsers}, googlesim.FailAuth)
	}},
	// Gmail refuses a history read for good: Sync ends it failed, with
	// the writes changes.(*fetch).end makes (its grant retired, the watch
	// failed), and leaves the stop to the pass.
	{"Sync ends it", func(t *testing.T, r *rig, w store.Watch) {
		ctx, now := context.Background(), r.clock.Now()
		w = r.watch(w.ID)
		if err := r.store.UpdateChannel(ctx, w.ChannelID, store.Retiring(now)); err != nil {
			t.Fatal(err)
		}
		u := store.WatchUpdate{State: store.Ptr(store.WatchFailed), ChannelID: store.Ptr(""), ChannelExpiration: &time.Time{},
			LastError: store.Ptr("read refused"), Failures: store.Ptr(1)}
		if err := r.store.UpdateWatch(ctx, w.ID, u, now); err != nil {
			t.Fatal(err)
		}
	}},
}

// TestGmailMailboxOutlivesAWatch: a watch's end stops Gmail's watch
// (users.stop) only when no other active watch uses the mailbox. While
// another does, its changes are still pushed, and the next pass watches
// again for it alone, so the filter narrows; the last watch's end stops.
func TestGmailMailboxOutlivesAWatch(t *testing.T) {
	for _, end := range mailboxEnds {
		t.Run(end.name, func(t *testing.T) {
			stores(t, func(t *testing.T, s testStore) {
				r := gmailRig(t, s)
				a := r.add(labelWatch("a", "Label_A"))
				r.pass(nil)
				b := r.add(labelWatch("b", "Label_B"))
				r.pass(nil)

				end.end(t, r, a)
				r.pass(nil)
				if st := r.sim.Stats(); st.StopCalls != 0 {
					t.Errorf("%d users.stop calls when the first of two watches ended; want none", st.StopCalls)
				}
				if !pushed(r, "Label_B") {
					t.Fatal("the other watch's messages are no longer pushed")
				}
				if w, err := s.Watch(context.Background(), a.ID); err == nil && w.State == store.WatchActive {
					t.Errorf("the ended watch is %s", w.State)
				}

				// The next pass watches again for the rest alone.
				r.clock.Advance(10 * time.Minute)
				if sum := r.pass(nil); sum.Renewed != 1 || sum.Lapsed != 0 {
					t.Errorf("pass after the end: %+v; want the other watch renewed, not lapsed", sum)
				}
				if pushed(r, "Label_A") {
					t.Error("a Label_A message is still pushed after the re-watch; want the filter narrowed")
				}
				if !pushed(r, "Label_B") {
					t.Error("a Label_B message was not pushed after the re-watch")
				}

				// The last watch's end stops Gmail's watch.
				end.end(t, r, r.watch(b.ID))
				r.pass(nil)
				if st := r.sim.Stats(); st.StopOK != 1 {
					t.Errorf("%d users.stop after the last watch ended; want 1", st.StopOK)
				}
				if pushed(r, "Label_B") {
					t.Error("a message was pushed after the last watch ended")
				}
			})
		})
	}
}

// TestGmailSubjectCase: a mailbox address matches whatever its case. A
// gmail.users watch stored with its subject in another case (by Terraform,
// or before subjects were kept in lower case) has it lowered by its next
// renewal, so Sync finds it by the address Gmail pushes; its grant is
// recorded as opened for that address.
func TestGmailSubjectCase(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := gmailRig(t, s)
		w := r.add(store.Watch{ID: "ann-mail", Kind: "gmail.users", Subject: "Ann@Example.com"})
		if sum := r.pass(nil); sum.Started != 1 {
			t.Fatalf("pass: %+v", sum)
		}
		got := r.watch(w.ID)
		if got.Subject != annMailbox || r.channel(got.ChannelID).Subject != annMailbox {
			t.Errorf("watch subject %q, grant subject %q; want %s", got.Subject, r.channel(got.ChannelID).Subject, annMailbox)
		}
		ws, err := s.WatchesOf(context.Background(), "gmail.users", annMailbox)
		if err != nil || len(ws) != 1 {
			t.Errorf("watches of %s: %v, %v; want the watch", annMailbox, ws, err)
		}
		if !pushed(r, "INBOX") {
			t.Error("the mailbox's change was not pushed")
		}
	})
}

// TestGmailReplacedGrantLeftStopping: a renewal's activation retires the
// replaced grant (stopping) and then finishes it without a stop call,
// since the new grant superseded it. If the pass dies between the two, the
// next pass finds it stopping; a users.stop then would end the new grant,
// so it is finished with no call: its own watch still uses the mailbox.
func TestGmailReplacedGrantLeftStopping(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := gmailRig(t, s)
		w := r.add(labelWatch("a", "Label_A"))
		r.pass(nil)
		old := r.watch(w.ID).ChannelID
		r.clock.Advance(23 * time.Hour)
		if sum := r.pass(nil); sum.Renewed != 1 {
			t.Fatalf("renewing pass: %+v", sum)
		}
		// As the dead pass left it.
		if err := s.UpdateChannel(context.Background(), old, store.Retiring(r.clock.Now().Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		r.pass(nil)
		if st := r.sim.Stats(); st.StopCalls != 0 {
			t.Errorf("%d users.stop calls for a replaced grant; want none", st.StopCalls)
		}
		if c := r.channel(old); c.State != store.ChannelStopped {
			t.Errorf("replaced grant %s, want stopped", c.State)
		}
		if !pushed(r, "Label_A") {
			t.Error("the watch's messages are no longer pushed")
		}
		// Its grant asked for what the mailbox needs: nothing to narrow.
		r.clock.Advance(10 * time.Minute)
		if sum := r.pass(nil); sum.Renewed != 0 {
			t.Errorf("pass after: %+v; want no renewal brought forward", sum)
		}
	})
}
