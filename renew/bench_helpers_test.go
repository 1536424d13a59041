package renew_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// This file holds BenchmarkPass's instruments: they count what reached
// Firestore (RPCs and documents, at the gRPC connection), what reached the
// simulated Google (calls, at its HTTP handler, with their arrival times)
// and which store methods the pass called. None of them predicts a figure:
// each counts what happened.

// callLog records when each Google call reached the simulator, by wrapping
// its HTTP handler: the rate the simulated Google saw, not the rate the
// pass meant to send.
type callLog struct {
	mu    sync.Mutex
	watch []time.Time
	stop  []time.Time
}

func (l *callLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		l.mu.Lock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/channels/stop"):
			l.stop = append(l.stop, now)
		case strings.HasSuffix(r.URL.Path, "/watch"):
			l.watch = append(l.watch, now)
		}
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// calls returns the arrival times of every watch and stop call, sorted.
func (l *callLog) calls() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	all := append(slices.Clone(l.watch), l.stop...)
	slices.SortFunc(all, time.Time.Compare)
	return all
}

// peak is the most calls that arrived within any window of the given length.
func peak(ts []time.Time, window time.Duration) int {
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= window {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// storeCalls counts the store methods a pass calls, so the benchmark can
// check that each renewal made exactly the steps docs/DESIGN.md lists.
type storeCalls struct {
	renew.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *storeCalls) count(name string) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
}

func (c *storeCalls) Watch(ctx context.Context, id string) (store.Watch, error) {
	c.count("Watch")
	return c.Store.Watch(ctx, id)
}

func (c *storeCalls) DueWatches(ctx context.Context, now time.Time, after store.Watch, limit int) ([]store.Watch, error) {
	c.count("DueWatches")
	return c.Store.DueWatches(ctx, now, after, limit)
}

func (c *storeCalls) Watches(ctx context.Context, state store.WatchState, limit int) ([]store.Watch, error) {
	c.count("Watches")
	return c.Store.Watches(ctx, state, limit)
}

func (c *storeCalls) LeaseWatch(ctx context.Context, id string, l store.Lease, now time.Time, open func(store.Watch) (store.Channel, bool)) (store.Watch, error) {
	name := "LeaseWatch"
	if open != nil {
		name += " with a pending channel"
	}
	c.count(name)
	return c.Store.LeaseWatch(ctx, id, l, now, open)
}

func (c *storeCalls) ReleaseWatch(ctx context.Context, id, holder string, u store.WatchUpdate, now time.Time, events ...store.OutboxEvent) error {
	c.count("ReleaseWatch")
	return c.Store.ReleaseWatch(ctx, id, holder, u, now, events...)
}

func (c *storeCalls) UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error {
	c.count("UpdateWatch")
	return c.Store.UpdateWatch(ctx, id, u, now)
}

func (c *storeCalls) DeleteWatch(ctx context.Context, id string, events ...store.OutboxEvent) error {
	c.count("DeleteWatch")
	return c.Store.DeleteWatch(ctx, id, events...)
}

func (c *storeCalls) Channel(ctx context.Context, id string) (store.Channel, error) {
	c.count("Channel")
	return c.Store.Channel(ctx, id)
}

func (c *storeCalls) UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error {
	name := "UpdateChannel"
	if u.State != nil {
		name += " " + string(*u.State)
	}
	c.count(name)
	return c.Store.UpdateChannel(ctx, id, u)
}

func (c *storeCalls) ActivateChannel(ctx context.Context, a store.Activation) error {
	c.count("ActivateChannel")
	return c.Store.ActivateChannel(ctx, a)
}

func (c *storeCalls) Strays(ctx context.Context, state store.StrayState, limit int) ([]store.Stray, error) {
	c.count("Strays")
	return c.Store.Strays(ctx, state, limit)
}

func (c *storeCalls) Outbox(ctx context.Context, limit int) ([]store.OutboxEvent, error) {
	c.count("Outbox")
	return c.Store.Outbox(ctx, limit)
}

// Forget is named for what it does: "Forget 2 events, channel stopped".
func (c *storeCalls) Forget(ctx context.Context, published []string, channelID string, u store.ChannelUpdate) error {
	name := fmt.Sprintf("Forget %d events", len(published))
	if channelID != "" && u.State != nil {
		name += ", channel " + string(*u.State)
	}
	c.count(name)
	return c.Store.Forget(ctx, published, channelID, u)
}

func (c *storeCalls) RecordPass(ctx context.Context, p store.PassRecord) error {
	c.count("RecordPass")
	return c.Store.RecordPass(ctx, p)
}

func (c *storeCalls) ChannelsByState(ctx context.Context, state store.ChannelState, before time.Time, limit int) ([]store.Channel, error) {
	c.count("ChannelsByState")
	return c.Store.ChannelsByState(ctx, state, before, limit)
}

func (c *storeCalls) SweepDue(ctx context.Context, limit int, dueAt func(store.Watch) time.Time, now time.Time) (store.SweepPage, error) {
	page, err := c.Store.SweepDue(ctx, limit, dueAt, now)
	if page.Read == 0 && page.Dated == 0 {
		c.count("SweepDue, done")
	} else {
		c.count("SweepDue")
	}
	return page, err
}
