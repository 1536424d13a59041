package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	scheduler "cloud.google.com/go/scheduler/apiv1"
	"cloud.google.com/go/scheduler/apiv1/schedulerpb"
	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

func runWatchAdd(ctx context.Context, e *env, args []string) error {
	fs := flags("watch add", e)
	w := store.Watch{Params: map[string]string{}, Labels: map[string]string{}}
	fs.StringVar(&w.ID, "id", "", "watch id (default a fresh one)")
	fs.StringVar(&w.Kind, "kind", "", "kind, e.g. calendar.events (see docs/how-it-works.md, Kinds)")
	fs.Var(pairs(w.Params), "param", "API parameter k=v (repeatable)")
	fs.StringVar(&w.Subject, "subject", "", "user to impersonate (domain-wide delegation)")
	fs.Var(pairs(w.Labels), "label", "label k=v copied onto every event (repeatable)")
	fs.StringVar(&w.Address, "address", "", "webhook URL (default WATCHRELAY_ADDRESS)")
	ttl := fs.Duration("ttl", 0, "requested channel lifetime (default the kind's maximum)")
	changesOn := fs.Bool("changes", true, "publish a change event per changed item (Sync); false: notifications only")
	fs.BoolVar(&w.Snapshot, "snapshot", false, "publish the items as they stand when the watch starts, too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w.TTLSeconds = int64(ttl.Seconds())
	if !*changesOn {
		w.Changes = store.Ptr(false)
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if w, err = renew.AddWatch(ctx, s.Store, w, e.cfg.RenewInterval, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "watch %s added\n", w.ID)
	if e.cfg.Local() {
		fmt.Fprintln(e.stderr, "note: with no GOOGLE_CLOUD_PROJECT or emulator, watches live in this process only; `watchrelay demo` shows the flow")
	}
	if passNow(ctx, e, s, "the watch is stored; its channel will come from the next scheduled pass") {
		return opened(ctx, e, s, w.ID)
	}
	return nil
}

// passNow asks for a pass (startChannel), so a change to a watch is acted on
// now, and reports whether that pass ran here, so its outcome can be read
// back. The change is stored already and the next scheduled pass acts on it
// anyway: if no pass can be had now, the command still exits 0, and later
// says what happens instead.
func passNow(ctx context.Context, e *env, s *service.Service, later string) (ranHere bool) {
	if err := startChannel(ctx, e, s.Renew.Run); err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", later, err)
		return false
	}
	if e.cfg.SchedulerJob != "" {
		fmt.Fprintln(e.stdout, "the deployed Renew opens the channel, so this command cannot know whether it did: `watchrelay status` says, once the job has run")
		return false
	}
	return true
}

// opened reads back a watch the pass just worked on. One that failed or is
// gone needs its person now (errUnhealthy, exit status 1), with the reason;
// one whose channel could not be opened for a passing reason is left to the
// next pass, and the command says why.
func opened(ctx context.Context, e *env, s *service.Service, id string) error {
	w, err := s.Store.Watch(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case w.State == store.WatchFailed || w.State == store.WatchGone:
		return fmt.Errorf("%w: watch %s is %s after its first pass: %s", errUnhealthy, w.ID, w.State, dash(w.LastError))
	case w.State == store.WatchActive && w.ChannelID == "":
		fmt.Fprintf(e.stderr, "note: watch %s has no channel yet; the next pass tries again: %s\n", w.ID, dash(w.LastError))
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
	ws, err := s.Store.Watches(ctx, "", 0)
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
	return changeWatch(ctx, e, "watch rm", args, func(s service.Store, id string) error {
		return renew.RemoveWatch(ctx, s, id, time.Now())
	}, "marked deleted", "the next scheduled pass stops its channel", false)
}

func runWatchRetry(ctx context.Context, e *env, args []string) error {
	return changeWatch(ctx, e, "watch retry", args, func(s service.Store, id string) error {
		return renew.RetryWatch(ctx, s, id, time.Now())
	}, "is active again", "its channel will come from the next scheduled pass", true)
}

// changeWatch runs a command whose one argument is a watch id: it changes
// the watch, says so (done), then asks for a pass to act on it, and with
// readBack, reads back what that pass made of the watch (see opened).
func changeWatch(ctx context.Context, e *env, name string, args []string, change func(s service.Store, id string) error, done, later string, readBack bool) error {
	fs := flags(name, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s takes one watch id", name)
	}
	id := fs.Arg(0)
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := change(s.Store, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "watch %s %s\n", id, done)
	if passNow(ctx, e, s, later) && readBack {
		return opened(ctx, e, s, id)
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

// runWatchSync fetches a watch's changes now, as a notification would have
// Sync do, and prints what it did. If a fetch is running already, this one
// is counted and that fetch reads again for it.
func runWatchSync(ctx context.Context, e *env, args []string) error {
	fs := flags("watch sync", e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("watch sync: want one watch id, got %d arguments", fs.NArg())
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	out, err := s.Sync.Handle(ctx, changes.Trigger{WatchID: fs.Arg(0)})
	if err != nil {
		return err
	}
	b, _ := json.Marshal(out)
	fmt.Fprintf(e.stdout, "sync: %s\n", b)
	return nil
}
