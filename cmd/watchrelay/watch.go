package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	scheduler "cloud.google.com/go/scheduler/apiv1"
	"cloud.google.com/go/scheduler/apiv1/schedulerpb"
	"github.com/google/uuid"
	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

func runWatchAdd(ctx context.Context, e *env, args []string) error {
	fs := flags("watch add", e)
	w := store.Watch{Params: map[string]string{}, Labels: map[string]string{}, State: store.WatchActive}
	fs.StringVar(&w.ID, "id", "", "watch id (default a fresh one)")
	fs.StringVar(&w.Kind, "kind", "", "kind, e.g. calendar.events (see README)")
	fs.Var(pairs(w.Params), "param", "API parameter k=v (repeatable)")
	fs.StringVar(&w.Subject, "subject", "", "user to impersonate (domain-wide delegation)")
	fs.Var(pairs(w.Labels), "label", "label k=v copied onto every event (repeatable)")
	fs.StringVar(&w.Address, "address", "", "webhook URL (default WATCHRELAY_ADDRESS)")
	ttl := fs.Duration("ttl", 0, "requested channel lifetime (default the kind's maximum)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if w.ID == "" {
		w.ID = "w-" + uuid.NewString()[:8]
	}
	w.TTLSeconds = int64(ttl.Seconds())
	if err := google.ValidateWatch(w); err != nil {
		return err
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now()
	w.CreatedAt, w.UpdatedAt = now, now
	if err := s.Store.CreateWatch(ctx, w); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "watch %s added\n", w.ID)
	if e.cfg.Local() {
		fmt.Fprintln(e.stderr, "note: with no GOOGLE_CLOUD_PROJECT or emulator, watches live in this process only; `watchrelay demo` shows the flow")
	}
	// Exit 0 once stored: the channel comes from the pass, now or later.
	if err := startChannel(ctx, e, s.Renew.Run); err != nil {
		fmt.Fprintf(e.stderr, "the watch is stored; its channel will come from the next scheduled pass: %v\n", err)
	}
	return nil
}

// schedulerOptions reach a fake Cloud Scheduler in tests.
var schedulerOptions []option.ClientOption

// startChannel opens the new watch's channel now. Against a deployment it
// asks Cloud Scheduler to run the renew job, so the channel is created by the
// deployed service account: one created with the user's own credentials
// could not be stopped by that account later. Otherwise it runs a pass here.
func startChannel(ctx context.Context, e *env, pass func(context.Context) (renew.Summary, error)) error {
	if e.cfg.SchedulerJob != "" {
		c, err := scheduler.NewCloudSchedulerClient(ctx, schedulerOptions...)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.RunJob(ctx, &schedulerpb.RunJobRequest{Name: e.cfg.SchedulerJob}); err != nil {
			return fmt.Errorf("run %s: %w", e.cfg.SchedulerJob, err)
		}
		fmt.Fprintf(e.stdout, "asked Cloud Scheduler to run %s now\n", e.cfg.SchedulerJob)
		return nil
	}
	sum, err := pass(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "renew: %s\n", sum.JSON())
	return nil
}

func runWatchList(ctx context.Context, e *env, args []string) error {
	fs := flags("watch list", e)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	ws, err := s.Store.Watches(ctx, "")
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if ws == nil {
			ws = []store.Watch{}
		}
		return enc.Encode(ws)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPARAMS\tSTATE\tCHANNEL\tEXPIRES IN\tLAST ERROR")
	now := time.Now()
	for _, w := range ws {
		expires := "-"
		if !w.ChannelExpiration.IsZero() && w.ChannelID != "" {
			expires = w.ChannelExpiration.Sub(now).Round(time.Minute).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w.ID, w.Kind, pairs(w.Params), w.State, dash(w.ChannelID), expires, dash(w.LastError))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runWatchRm(ctx context.Context, e *env, args []string) error {
	fs := flags("watch rm", e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("watch rm takes one watch id")
	}
	id := fs.Arg(0)
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	// Marked, not deleted: Renew stops its channel, then purges it.
	if err := s.Store.UpdateWatch(ctx, id, store.WatchUpdate{State: store.Ptr(store.WatchDeleted)}, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "watch %s marked deleted\n", id)
	if err := startChannel(ctx, e, s.Renew.Run); err != nil {
		fmt.Fprintf(e.stderr, "the next scheduled pass stops its channel: %v\n", err)
	}
	return nil
}

func runRenew(ctx context.Context, e *env, args []string) error {
	if err := flags("renew", e).Parse(args); err != nil {
		return err
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	sum, err := s.Renew.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n", sum.JSON())
	return nil
}
