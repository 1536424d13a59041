package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// How `watchrelay status` prints its report for a person.

// print writes the report for a person.
func (r report) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var states []string
	for _, s := range []store.WatchState{store.WatchActive, store.WatchFailed, store.WatchGone, store.WatchDeleted} {
		states = append(states, fmt.Sprintf("%d %s", r.Watches[s], s))
	}
	fmt.Fprintf(tw, "watches\t%s\n", strings.Join(states, ", "))
	fmt.Fprintf(tw, "last pass\t%s\n", r.Pass.line(r.CheckedAt))
	var strays []string
	for _, s := range strayStates {
		strays = append(strays, bounded(r.Strays.Counts[s])+" "+string(s))
	}
	fmt.Fprintf(tw, "strays\t%s\n", strings.Join(strays, ", "))
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\nNEEDS A PERSON (%d)\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	if len(r.Deliveries) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(tw, "ACTIVE WATCH\tKIND\tCHANNEL EXPIRES IN\tLAST NOTIFICATION")
		for _, d := range r.Deliveries[:min(screenRows, len(r.Deliveries))] {
			expires := "no channel"
			if d.ChannelID != "" {
				expires = human(d.ChannelExpiration.Sub(r.CheckedAt))
			}
			last := ago(r.CheckedAt, d.NotifiedAt, "none yet")
			if d.Unrecorded != "" {
				last = "not recorded (" + d.Unrecorded + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.WatchID, d.Kind, expires, last)
		}
		more(tw, len(r.Deliveries))
	}
	if len(r.Sync) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "SYNC FAILING\tFAILURES\tLAST READ\tREASON")
		for _, c := range r.Sync[:min(screenRows, len(r.Sync))] {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", c.WatchID, c.Failures, ago(r.CheckedAt, c.SyncedAt, "never"), dash(c.LastError))
		}
		more(tw, len(r.Sync))
	}
	if len(r.Ended) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "ENDED WATCH\tKIND\tSTATE\tSUBJECT\tSINCE\tREASON")
		for _, e := range r.Ended[:min(screenRows, len(r.Ended))] {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.WatchID, e.Kind, e.State, dash(e.Subject), ago(r.CheckedAt, e.Since, "-"), dash(e.LastError))
		}
		more(tw, len(r.Ended))
	}
	if len(r.Strays.Latest) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "LATEST STRAYS\tSTATE\tSEEN\tRESOURCE")
		for _, s := range r.Strays.Latest {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ChannelID, s.State, ago(r.CheckedAt, s.SeenAt, "-"), dash(s.ResourceURI))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Healthy {
		fmt.Fprintln(w, "\nhealthy")
	}
	return nil
}

// line is the last pass in one line: when, how long, and what it did or
// why it could not run.
func (p passHealth) line(now time.Time) string {
	if p.Last == nil {
		return "none recorded"
	}
	s := fmt.Sprintf("%s (%s), took %s", p.Last.StartedAt.UTC().Format(time.RFC3339), ago(now, p.Last.StartedAt, "-"),
		(time.Duration(p.Last.DurationMs) * time.Millisecond).String())
	if p.Stale {
		s += ", STALE"
	}
	if p.Last.Error != "" {
		return s + ": could not run: " + p.Last.Error
	}
	return s + ": " + summaryLine(p.Last.Summary)
}

// summaryOrder is renew.Summary's field order, read off its JSON tags so
// that a field added there shows here; fields it lacks follow, sorted.
var summaryOrder = func() []string {
	t := reflect.TypeFor[renew.Summary]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}()

// summaryLine is a pass's summary in one line: what it did, leaving out
// what it did none of.
func summaryLine(sum map[string]any) string {
	rank := func(k string) int {
		if i := slices.Index(summaryOrder, k); i >= 0 {
			return i
		}
		return len(summaryOrder)
	}
	keys := slices.Collect(maps.Keys(sum))
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		v, err := json.Marshal(sum[k])
		if err != nil {
			v = []byte(fmt.Sprint(sum[k]))
		}
		switch string(v) {
		case "0", "null", "{}", "[]":
			continue
		}
		parts = append(parts, k+" "+string(v))
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}

func more(w io.Writer, n int) {
	if n > screenRows {
		fmt.Fprintf(w, "... %d more (--json lists all)\n", n-screenRows)
	}
}

// ago says how long before now t was, or none when t is unset.
func ago(now, t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return human(now.Sub(t)) + " ago"
}

// human rounds a duration for a person: 42s, 17m, 5h3m, 6d23h.
func human(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	switch {
	case d < time.Minute:
		return sign + d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%s%dm", sign, d/time.Minute)
	case d < 48*time.Hour:
		return fmt.Sprintf("%s%dh%dm", sign, d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%s%dd%dh", sign, d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}

// bounded is n, or "1000+" when n passed the read bound of strays.
func bounded(n int) string {
	if n > strayCap {
		return fmt.Sprintf("%d+", strayCap)
	}
	return fmt.Sprint(n)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
