package changes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// paused is a store whose WantSync waits when its context says so: the
// moment after Sync read the watch and before it reads Google, where a
// Renew pass or a person may change the watch under it. Only the test's
// own sync waits, not one a channel's sync message started.
type paused struct {
	service.Store
	reached chan struct{}
	resume  chan struct{}
}

// pauseKey marks the context of the sync that paused holds.
type pauseKey struct{}

func (p *paused) WantSync(ctx context.Context, cl store.SyncClaim) (store.Cursor, bool, error) {
	if ctx.Value(pauseKey{}) != nil {
		p.reached <- struct{}{}
		<-p.resume
	}
	return p.Store.WantSync(ctx, cl)
}

// lifecycle returns the data of the one lifecycle event of type typ about
// watch.
func (r *rig) lifecycle(watch, typ string) event.LifecycleData {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.events {
		if p.Attributes[event.AttrType] == typ && p.Attributes[event.AttrWatchID] == watch {
			var d event.LifecycleData
			if err := json.Unmarshal(p.Data, &d); err != nil {
				r.t.Errorf("%s event: %v", typ, err)
			}
			return d
		}
	}
	return event.LifecycleData{}
}

// refusedAfterChange has a `watch sync` of a live watch read the watch, then
// runs change on it (the watch as Sync read it), then has Google refuse the
// read with refusal. It returns what the sync did.
func refusedAfterChange(t *testing.T, r *rig, p *paused, w store.Watch, refusal googlesim.Failure, change func(store.Watch)) changes.Outcome {
	t.Helper()
	type result struct {
		out changes.Outcome
		err error
	}
	done := make(chan result, 1)
	ctx := context.WithValue(context.Background(), pauseKey{}, true)
	for read := false; !read; {
		go func() {
			out, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID})
			done <- result{out, err}
		}()
		select {
		case <-p.reached:
			read = true
		case res := <-done:
			// A channel's sync message holds the watch's read: the
			// watch sync joined it. Ask again once it is done.
			if !res.out.Joined {
				t.Fatalf("watch sync did not read: %+v, %v", res.out, res.err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	change(w)
	r.sim.FailNext(1, googlesim.Match{Op: googlesim.OpList, Kind: w.Kind}, refusal)
	close(p.resume)
	res := <-done
	if res.err != nil {
		t.Fatalf("Handle: %v", res.err)
	}
	return res.out
}

// TestEndAfterRenewal: Sync read a watch, a Renew pass then renewed it,
// and Google refused the read for good. The end is the watch's as it is
// now: its new channel is retired (and stopped by the next pass), the
// event names that channel, and no channel of the watch is left live at
// Google or active in the store.
func TestEndAfterRenewal(t *testing.T) {
	for _, backend := range backends {
		for _, tt := range []struct {
			name    string
			refusal googlesim.Failure
			state   store.WatchState
			typ     string
		}{
			// The subject's grant revoked: the watch failed.
			{"401", googlesim.FailAuth, store.WatchFailed, event.TypeFailed},
			// The calendar deleted: the watch is gone.
			{"404", googlesim.FailNotFound, store.WatchGone, event.TypeGone},
		} {
			t.Run(backend+"/"+tt.name, func(t *testing.T) {
				p := &paused{reached: make(chan struct{}), resume: make(chan struct{})}
				r := newRig(t, backend, rigOptions{wrap: func(s service.Store) service.Store { p.Store = s; return p }})
				w := r.add(calendarWatch("team-cal"))
				ctx := context.Background()

				var renewed store.Watch
				out := refusedAfterChange(t, r, p, w, tt.refusal, func(read store.Watch) {
					// Make the channel due, as time would, and renew it.
					due := store.WatchUpdate{ChannelExpiration: store.Ptr(time.Now().Add(time.Minute))}
					if err := r.svc.Store.UpdateWatch(ctx, read.ID, due, time.Now()); err != nil {
						t.Fatal(err)
					}
					if sum := r.pass(); sum.Renewed != 1 {
						t.Fatalf("pass renewed %d channels, want 1: %+v", sum.Renewed, sum)
					}
					var err error
					if renewed, err = r.svc.Store.Watch(ctx, read.ID); err != nil || renewed.ChannelID == read.ChannelID {
						t.Fatalf("watch after the renewal: %+v, %v; want a new channel", renewed, err)
					}
				})
				if out.Ended != tt.state {
					t.Errorf("sync ended the watch %q, want %q", out.Ended, tt.state)
				}
				got, err := r.svc.Store.Watch(ctx, w.ID)
				if err != nil || got.State != tt.state || got.ChannelID != "" {
					t.Fatalf("watch: %+v, %v; want %s with no channel", got, err, tt.state)
				}
				for _, id := range []string{w.ChannelID, renewed.ChannelID} {
					if c, err := r.svc.Store.Channel(ctx, id); err != nil || c.State == store.ChannelActive || c.State == store.ChannelPending {
						t.Errorf("channel %s: %s, %v; want retired", id, c.State, err)
					}
				}
				r.waitFor("the "+tt.typ+" event", func() bool { return len(r.ofType(w.ID, tt.typ)) == 1 })
				if e := r.lifecycle(w.ID, tt.typ); e.OldChannelID != renewed.ChannelID {
					t.Errorf("the event's oldChannelId is %q, want the channel retired, %q", e.OldChannelID, renewed.ChannelID)
				}
				if sum := r.pass(); sum.ChannelsStopped != 1 {
					t.Errorf("the next pass stopped %d channels, want the renewed one: %+v", sum.ChannelsStopped, sum)
				}
				for _, c := range r.sim.Live() {
					if c.ID == w.ChannelID || c.ID == renewed.ChannelID {
						t.Errorf("channel %s is still live at Google", c.ID)
					}
				}
			})
		}
	}
}

// TestEndOfRemovedWatch: Sync read a watch, the user then removed it, and
// Google refused the read. The watch stays deleted, with no event, and the
// next pass purges it.
func TestEndOfRemovedWatch(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			p := &paused{reached: make(chan struct{}), resume: make(chan struct{})}
			r := newRig(t, backend, rigOptions{wrap: func(s service.Store) service.Store { p.Store = s; return p }})
			w := r.add(calendarWatch("team-cal"))
			ctx := context.Background()

			out := refusedAfterChange(t, r, p, w, googlesim.FailAuth, func(read store.Watch) {
				if err := renew.RemoveWatch(ctx, r.svc.Store, read.ID, time.Now()); err != nil {
					t.Fatal(err)
				}
			})
			if out.Ended != "" {
				t.Errorf("sync ended a removed watch %q", out.Ended)
			}
			if got, err := r.svc.Store.Watch(ctx, w.ID); err != nil || got.State != store.WatchDeleted || got.ChannelID != w.ChannelID {
				t.Fatalf("watch: %+v, %v; want it deleted, its channel left for the purge", got, err)
			}
			if sum := r.pass(); sum.Stopped != 1 {
				t.Errorf("pass: %+v; want the removed watch purged", sum)
			}
			if _, err := r.svc.Store.Watch(ctx, w.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("watch after the pass: %v; want it purged", err)
			}
			if slices.ContainsFunc(r.sim.Live(), func(c googlesim.Channel) bool { return c.ID == w.ChannelID }) {
				t.Errorf("channel %s is still live at Google", w.ChannelID)
			}
			if n := len(r.ofType(w.ID, event.TypeFailed)); n != 0 {
				t.Errorf("%d failed events for a watch that was removed, not ended", n)
			}
		})
	}
}
