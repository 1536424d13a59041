package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/store"
)

// status reads a deployment's store and says, on one screen, whether
// anything needs a person: a watch that failed or is gone, a renewal that
// is overdue, a Renew pass that is stale or failed, strays not stopped. It
// exits 1 (errUnhealthy) when something does, so a cron or CI step can run
// it. docs/DESIGN.md, "Operations", lists the rules.

// statusStore is what status reads; both stores have it.
type statusStore interface {
	Watches(ctx context.Context, state store.WatchState, limit int) ([]store.Watch, error)
	Strays(ctx context.Context, state store.StrayState, limit int) ([]store.Stray, error)
	LastPass(ctx context.Context) (store.PassRecord, error)
	Cursors(ctx context.Context, limit int) ([]store.Cursor, error)
}

var (
	_ statusStore = (*store.Firestore)(nil)
	_ statusStore = (*store.Memory)(nil)
)

const (
	// strayCap bounds the strays read per state: forged strays can be
	// many, and past this the count is shown as a lower bound.
	strayCap = 1000
	// latestStrays is how many of the newest strays are listed.
	latestStrays = 5
	// screenRows bounds each table of the text report; --json lists all.
	screenRows = 20
	// syncFailures is how many reads in a row Sync may fail (each one
	// delivered again by Pub/Sub) before a person is asked to look.
	syncFailures = 3
)

// strayStates are read in this order, the ones that need a person first.
var strayStates = []store.StrayState{store.StraySeen, store.StrayFailed, store.StrayStopped, store.StrayKnown}

// report is what status prints, as text or as JSON (--json). Unset times
// are left out.
type report struct {
	CheckedAt time.Time `json:"checkedAt"`
	// Healthy is false when Problems is not empty.
	Healthy bool `json:"healthy"`
	// Problems says, one line each, what needs a person.
	Problems []string                 `json:"problems,omitempty"`
	Watches  map[store.WatchState]int `json:"watches"`
	// Overdue lists active watches whose renewal is late.
	Overdue []overdue `json:"overdue,omitempty"`
	// Ended lists the failed and gone watches.
	Ended []ended    `json:"ended,omitempty"`
	Pass  passHealth `json:"pass"`
	// Deliveries has one row per active watch: when Sync last counted a
	// notification of it.
	Deliveries []delivery  `json:"deliveries,omitempty"`
	Strays     strayHealth `json:"strays"`
	// Sync lists the watches whose last Sync read failed.
	Sync []syncing `json:"sync,omitempty"`
}

// syncing is a watch whose change reads are failing: each failure is
// delivered again by Pub/Sub, until the dead-letter topic keeps it.
type syncing struct {
	WatchID   string    `json:"watchId"`
	Failures  int       `json:"failures"`
	LastError string    `json:"lastError"`
	SyncedAt  time.Time `json:"syncedAt,omitzero"`
}

type overdue struct {
	WatchID           string    `json:"watchId"`
	Kind              string    `json:"kind"`
	ChannelID         string    `json:"channelId,omitempty"`
	ChannelExpiration time.Time `json:"channelExpiration,omitzero"`
	Reason            string    `json:"reason"`
}

type ended struct {
	WatchID   string           `json:"watchId"`
	Kind      string           `json:"kind"`
	State     store.WatchState `json:"state"`
	Subject   string           `json:"subject,omitempty"`
	LastError string           `json:"lastError,omitempty"`
	Since     time.Time        `json:"since,omitzero"`
}

type passHealth struct {
	// Last is the last pass recorded; absent before the first.
	Last *store.PassRecord `json:"last,omitempty"`
	// Stale: no pass is recorded, or the last started more than
	// StaleAfter ago.
	Stale      bool   `json:"stale"`
	StaleAfter string `json:"staleAfter"`
}

type delivery struct {
	WatchID           string    `json:"watchId"`
	Kind              string    `json:"kind"`
	ChannelID         string    `json:"channelId,omitempty"`
	ChannelExpiration time.Time `json:"channelExpiration,omitzero"`
	// NotifiedAt is store.Cursor.NotifiedAt: written by Sync's claim of
	// the watch's cursor, so it costs Receive nothing, and it may be up
	// to a debounce behind.
	NotifiedAt time.Time `json:"notifiedAt,omitzero"`
	// Unrecorded says why a watch has no NotifiedAt whatever it
	// receives: Sync keeps no cursor for it. "" when it has one.
	Unrecorded string `json:"unrecorded,omitempty"`
}

type strayHealth struct {
	// Counts by state; a count over strayCap means at least that many.
	Counts map[store.StrayState]int `json:"counts"`
	// AtLeast: some count reached the read bound and is a lower bound.
	AtLeast bool `json:"atLeast,omitempty"`
	// Latest are the most recently seen strays, in any state.
	Latest []store.Stray `json:"latest,omitempty"`
}

// observed is what status read from the store.
type observed struct {
	watches []store.Watch
	pass    *store.PassRecord
	strays  map[store.StrayState][]store.Stray
	cursors []store.Cursor
}

// healthRules are the settings the rules depend on, from the config.
type healthRules struct {
	renewBefore, interval time.Duration
}

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := flags("status", e)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("status takes no arguments")
	}
	if e.cfg.Local() {
		return errors.New("status: no GOOGLE_CLOUD_PROJECT or emulator, so there is no deployment to read (the embedded store lives in one process only)")
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	st, ok := s.Store.(statusStore)
	if !ok {
		return fmt.Errorf("status: the store (%T) cannot list strays or passes", s.Store)
	}
	o, err := observe(ctx, st)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	r := assess(time.Now(), healthRules{renewBefore: e.cfg.RenewBefore, interval: e.cfg.RenewInterval}, o)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if err := r.print(e.stdout); err != nil {
		return err
	}
	if !r.Healthy {
		return fmt.Errorf("%w: %d problem%s", errUnhealthy, len(r.Problems), plural(len(r.Problems)))
	}
	return nil
}

// observe reads what status needs: every watch and cursor, the last pass
// and the strays, each state bounded.
func observe(ctx context.Context, st statusStore) (observed, error) {
	o := observed{strays: map[store.StrayState][]store.Stray{}}
	var err error
	if o.watches, err = st.Watches(ctx, "", 0); err != nil {
		return o, err
	}
	switch p, err := st.LastPass(ctx); {
	case err == nil:
		o.pass = &p
	case !errors.Is(err, store.ErrNotFound):
		return o, err
	}
	for _, state := range strayStates {
		if o.strays[state], err = st.Strays(ctx, state, strayCap+1); err != nil {
			return o, err
		}
	}
	o.cursors, err = st.Cursors(ctx, 0)
	return o, err
}

// assess applies the rules to what was observed at now. It is pure, so the
// rules are tested without a store.
func assess(now time.Time, h healthRules, o observed) report {
	r := report{
		CheckedAt: now.UTC(),
		Watches:   map[store.WatchState]int{},
		Pass:      passHealth{Last: o.pass, StaleAfter: (3 * h.interval).String()},
		Strays:    strayHealth{Counts: map[store.StrayState]int{}},
	}
	problem := func(format string, a ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, a...)) }
	notified := make(map[string]time.Time, len(o.cursors))
	for _, c := range o.cursors {
		notified[c.WatchID] = c.NotifiedAt
	}

	for _, w := range o.watches {
		r.Watches[w.State]++
		switch w.State {
		case store.WatchActive:
			r.Deliveries = append(r.Deliveries, delivery{WatchID: w.ID, Kind: w.Kind, ChannelID: w.ChannelID,
				ChannelExpiration: w.ChannelExpiration, NotifiedAt: notified[w.ID], Unrecorded: changes.NoCursor(w)})
			if reason := lateRenewal(now, h, w); reason != "" {
				r.Overdue = append(r.Overdue, overdue{WatchID: w.ID, Kind: w.Kind, ChannelID: w.ChannelID,
					ChannelExpiration: w.ChannelExpiration, Reason: reason})
				problem("watch %s: renewal overdue: %s", w.ID, reason)
			}
		case store.WatchFailed, store.WatchGone:
			r.Ended = append(r.Ended, ended{WatchID: w.ID, Kind: w.Kind, State: w.State, Subject: w.Subject,
				LastError: w.LastError, Since: w.UpdatedAt})
			as := ""
			if w.Subject != "" && !strings.Contains(w.LastError, w.Subject) {
				as = " (as " + w.Subject + ")"
			}
			problem("watch %s is %s%s: %s; once the cause is fixed: watchrelay watch retry %s", w.ID, w.State, as, dash(w.LastError), w.ID)
		}
	}

	switch p := o.pass; {
	case p == nil:
		r.Pass.Stale = true
		problem("no Renew pass recorded: is the scheduler job running?")
	case now.Sub(p.StartedAt) > 3*h.interval:
		r.Pass.Stale = true
		problem("the last Renew pass started %s ago, and one should run every %s: is the scheduler job running?", human(now.Sub(p.StartedAt)), h.interval)
	}
	if p := o.pass; p != nil && p.Error != "" {
		problem("the last Renew pass could not run: %s", p.Error)
	}

	var all []store.Stray
	var unstopped int
	for _, state := range strayStates {
		ss := o.strays[state]
		r.Strays.Counts[state] = len(ss)
		r.Strays.AtLeast = r.Strays.AtLeast || len(ss) > strayCap
		all = append(all, ss...)
		for _, s := range ss {
			// A stray is the next pass's to stop; one that two passes
			// left alone, or whose stop failed, is a person's.
			if s.State == store.StrayFailed || s.State == store.StraySeen && now.Sub(s.SeenAt) > 2*h.interval {
				unstopped++
			}
		}
	}
	if unstopped > 0 {
		problem("%s stray%s not stopped: see the strays below; `watchrelay channel stop` stops one by hand", bounded(unstopped), plural(unstopped))
	}
	slices.SortStableFunc(all, func(a, b store.Stray) int { return b.SeenAt.Compare(a.SeenAt) })
	r.Strays.Latest = all[:min(latestStrays, len(all))]

	for _, c := range o.cursors {
		if c.Failures == 0 {
			continue
		}
		r.Sync = append(r.Sync, syncing{WatchID: c.WatchID, Failures: c.Failures, LastError: c.LastError, SyncedAt: c.SyncedAt})
		if c.Failures >= syncFailures {
			problem("watch %s: Sync's reads failed %d times in a row: %s; then `watchrelay watch sync %s`", c.WatchID, c.Failures, dash(c.LastError), c.WatchID)
		}
	}

	r.Healthy = len(r.Problems) == 0
	return r
}

// lateRenewal says why an active watch's renewal is overdue, or "" if it is
// not. A watch is due google.RenewThreshold before its channel expires, and
// the next pass renews it: still unrenewed two passes later, something is
// in the way (a throttled API, a failing call, no pass at all). A watch with
// no channel is overdue once a pass has failed to open one, or two passes
// after it last changed.
func lateRenewal(now time.Time, h healthRules, w store.Watch) string {
	why := ""
	if w.LastError != "" {
		why = " (" + w.LastError + ")"
	}
	if w.ChannelID == "" {
		if w.Failures > 0 || now.Sub(w.UpdatedAt) > 2*h.interval {
			return fmt.Sprintf("no channel for %s%s", human(now.Sub(w.UpdatedAt)), why)
		}
		return ""
	}
	left := w.ChannelExpiration.Sub(now)
	if left <= 0 {
		return fmt.Sprintf("channel %s lapsed %s ago: notifications since then are missed%s", w.ChannelID, human(-left), why)
	}
	due := google.RenewThreshold(w, h.renewBefore)
	if late := due - left; late > 2*h.interval {
		return fmt.Sprintf("channel %s expires in %s, and was due for renewal %s ago%s", w.ChannelID, human(left), human(late), why)
	}
	return ""
}
