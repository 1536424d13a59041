package main

import (
	"context"

	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// runDemo runs the whole flow on embedded defaults, whatever the
// environment: a simulated Google, the in-memory store, an in-process
// Pub/Sub, Receive on a loopback port and a pass every second as Cloud
// Scheduler would run it. It fails if any notification Google delivered did
// not become an event, or if a channel leaked.
func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flags("demo", e)
	short := fs.Duration("short", 16*time.Second, "lifetime of the Drive channel, renewed live")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *short < 4*time.Second {
		return errors.New("demo: --short must be at least 4s")
	}
	d, err := startDemo(ctx, e, *short)
	if err != nil {
		return err
	}
	defer d.close()
	return d.run(ctx, *short)
}

// demo is the running flow: the simulator, the service and what was seen.
type demo struct {
	e   *env
	sim *googlesim.Sim
	svc *service.Service
	srv *http.Server

	mu      sync.Mutex
	events  map[string]int // ce-type → count
	ids     map[string]bool
	changed map[string]bool // summaries and names change events carried
	cancel  context.CancelFunc
}

func startDemo(ctx context.Context, e *env, short time.Duration) (*demo, error) {
	d := &demo{e: e, events: map[string]int{}, ids: map[string]bool{}, changed: map[string]bool{}}
	// The in-process Pub/Sub is made here, not by env.service, because
	// the simulated Gmail publishes its pushes to it too.
	ps, err := inproc.Start(ctx, service.LocalProject, config.Defaults.Topic)
	if err != nil {
		return nil, err
	}
	d.sim, err = googlesim.Start(googlesim.Options{RetryBase: 50 * time.Millisecond, Seed: 1,
		Publish: func(topic string, data []byte) error { return publishPush(ctx, ps.Client, topic, data) }})
	if err != nil {
		ps.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		d.sim.Close()
		return nil, err
	}
	cfg := config.Defaults
	cfg.APIBaseURL = d.sim.URL
	cfg.Address = "http://" + ln.Addr().String() + "/receive"
	cfg.RenewBefore = short / 2
	cfg.RenewInterval = time.Second // the demo runs a pass every second
	cfg.Grace = short
	// A short debounce, so each edit's change shows next to its
	// notification; a storm would want the default.
	cfg.SyncDebounce = 200 * time.Millisecond
	// The demo's log shows warnings and errors only; its story is on stdout.
	logger := logging.New(e.stderr, slog.LevelWarn)
	local := &env{cfg: cfg, logger: logger} // no project: the embedded defaults
	d.svc, err = local.service(ctx, service.Options{PubSub: ps.Client, Release: ps.Close})
	if err != nil {
		ln.Close()
		d.sim.Close()
		return nil, err
	}
	tctx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	if _, err := d.svc.Tail(tctx, d.seen); err != nil {
		d.close()
		return nil, err
	}
	if _, err := d.svc.PullSync(tctx); err != nil {
		d.close()
		return nil, err
	}
	d.srv = &http.Server{Handler: d.svc.Mux(), ReadHeaderTimeout: 5 * time.Second}
	go d.srv.Serve(ln)
	d.say("Simulated Google at %s; Receive at %s", d.sim.URL, cfg.Address)
	return d, nil
}

// publishPush sends data to topic and waits for Pub/Sub to have it, as Gmail's
// push service does.
func publishPush(ctx context.Context, c *pubsub.Client, topic string, data []byte) error {
	p := c.Publisher(topic)
	defer p.Stop()
	_, err := p.Publish(ctx, &pubsub.Message{Data: data}).Get(ctx)
	return err
}

func (d *demo) close() {
	d.cancel()
	if d.srv != nil {
		d.srv.Close()
	}
	d.sim.Close()
	d.svc.Close()
}

func (d *demo) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.e.stdout, "==> "+format+"\n", args...)
}

// seen prints one event as it arrives from Pub/Sub and counts it.
func (d *demo) seen(p service.Printed) {
	a := p.Attributes
	var data struct {
		Resource string `json:"resourceState"`
		New      string `json:"newChannelId"`
		Old      string `json:"oldChannelId"`
		Item     struct {
			Summary string `json:"summary"` // a calendar event's
			Name    string `json:"name"`    // a Drive file's
			Change  string `json:"change"`  // a Gmail message's
		} `json:"item"`
	}
	_ = json.Unmarshal(p.Data, &data)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events[a[event.AttrType]]++
	if a[event.AttrType] == event.TypeNotification {
		d.ids[a[event.AttrID]] = true
	}
	line := fmt.Sprintf("    event %-28s watch=%s", a[event.AttrType], a[event.AttrWatchID])
	switch {
	case a[event.AttrType] == event.TypeNotification:
		line += fmt.Sprintf(" state=%s id=%s", a[event.AttrResourceState], a[event.AttrID])
	case a[event.AttrType] == event.TypeChange:
		what := data.Item.Summary + data.Item.Name + data.Item.Change
		line += fmt.Sprintf(" %s item=%s %q", a[event.AttrChange], a[event.AttrSubject], what)
		d.changed[what] = true
	case data.New != "" && data.Old != "":
		line += fmt.Sprintf(" channel %s -> %s", short8(data.Old), short8(data.New))
	case data.New != "":
		line += " channel " + short8(data.New)
	}
	fmt.Fprintln(d.e.stdout, line)
}

func short8(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func (d *demo) pass(ctx context.Context) (renew.Summary, error) {
	sum, err := d.svc.Renew.Run(ctx)
	if err != nil {
		return sum, err
	}
	if !sum.Idle() {
		d.say("renew pass: %s", sum.JSON())
	}
	return sum, nil
}

func (d *demo) run(ctx context.Context, short time.Duration) error {
	cal := store.Watch{ID: "team-calendar", Kind: "calendar.events", Params: map[string]string{"calendarId": "team@example.com"}, Labels: map[string]string{"tenant": "acme"}}
	drv := store.Watch{ID: "budget-sheet", Kind: "drive.files", Params: map[string]string{"fileId": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"}, TTLSeconds: int64(short.Seconds())}
	d.sim.EditFile(googlesim.File{ID: drv.Params["fileId"], Name: "Budget draft"}) // the file exists before it is watched
	d.say("Adding a Calendar watch, a Gmail watch, and a Drive watch whose channel lives %s", short)
	mail := store.Watch{ID: "ann-inbox", Kind: "gmail.users", Subject: "ann@example.com"}
	for _, w := range []store.Watch{cal, drv, mail} {
		if _, err := renew.AddWatch(ctx, d.svc.Store, w, d.svc.Config.RenewInterval, time.Now()); err != nil {
			return err
		}
	}
	if _, err := d.pass(ctx); err != nil {
		return err
	}
	drvRes := googlesim.ResourceID(drv.Kind, drv.Params)
	calID, fileID := cal.Params["calendarId"], drv.Params["fileId"]

	d.say("People edit the calendar and the file: Google pushes a notification for each, and Sync publishes what changed")
	d.sim.EditEvent(calID, googlesim.Event{ID: "7kq1n9", Summary: "Budget review"})
	d.sim.EditFile(googlesim.File{ID: fileID, Name: "Budget 2027"}, googlesim.Changed("content"))
	if err := d.waitChanged(ctx, "Budget review", "Budget 2027"); err != nil {
		return err
	}
	d.sim.EditEvent(calID, googlesim.Event{ID: "7kq1n9", Summary: "Budget review (moved to 3pm)"})
	if err := d.waitChanged(ctx, "Budget review (moved to 3pm)"); err != nil {
		return err
	}
	d.say("Mail arrives: Gmail publishes to the inbound topic, and Sync reads the mailbox's history")
	d.sim.AddMessage(mail.Subject, googlesim.GmailMessage{})
	if err := d.waitChanged(ctx, "messageAdded"); err != nil {
		return err
	}
	push := func(res, state string, opts ...googlesim.PushOption) {
		if _, err := d.sim.PushResource(res, state, opts...); err != nil {
			d.say("push: %v", err)
		}
	}

	d.say("Cloud Scheduler runs Renew every second; the Drive channel is renewed before it expires, while changes keep coming")
	first, _ := d.svc.Store.Watch(ctx, drv.ID)
	deadline := time.Now().Add(short + 5*time.Second)
	for tick := 0; ; tick++ {
		if time.Now().After(deadline) {
			return errors.New("demo: the Drive channel was not renewed in time")
		}
		push(drvRes, "update", googlesim.Changed("content", "properties"))
		if _, err := d.pass(ctx); err != nil {
			return err
		}
		w, _ := d.svc.Store.Watch(ctx, drv.ID)
		if w.ChannelID != first.ChannelID {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	d.sim.EditFile(googlesim.File{ID: fileID, Name: "Budget 2027 (final)"}, googlesim.Changed("properties"))
	d.sim.DeleteEvent(calID, "7kq1n9")
	if err := d.waitChanged(ctx, "Budget 2027 (final)"); err != nil {
		return err
	}

	d.say("Removing the Drive watch: Renew stops its channel")
	if err := renew.RemoveWatch(ctx, d.svc.Store, drv.ID, time.Now()); err != nil {
		return err
	}
	if _, err := d.pass(ctx); err != nil {
		return err
	}
	return d.summary(ctx)
}

// waitChanged waits until change events have carried each of the names (an
// event's summary, a file's name): Sync read them from the simulated API.
func (d *demo) waitChanged(ctx context.Context, names ...string) error {
	for deadline := time.Now().Add(10 * time.Second); ; {
		d.mu.Lock()
		missing := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return d.changed[n] })
		d.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: no change event carried %q", missing)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// summary waits for the last deliveries and events, then compares what
// Google delivered with what reached Pub/Sub, and what is live at Google
// with the watches still active.
func (d *demo) summary(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.sim.Flush(fctx); err != nil {
		return err
	}
	delivered := map[string]bool{}
	for _, del := range d.sim.Deliveries() {
		if del.OK {
			delivered[fmt.Sprintf("%s/%d", del.ChannelID, del.MessageNumber)] = true
		}
	}
	var unpublished []string
	for wait := time.Now().Add(5 * time.Second); ; {
		unpublished = unpublished[:0]
		d.mu.Lock()
		for id := range delivered {
			if !d.ids[id] {
				unpublished = append(unpublished, id)
			}
		}
		stopped := d.events[event.TypeStopped]
		d.mu.Unlock()
		if (len(unpublished) == 0 && stopped > 0) || time.Now().After(wait) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A message Google gave up on (Receive refused it, or kept failing) is
	// a change no subscriber hears of: lost as surely as an unpublished one.
	undelivered := d.sim.Stats().Undelivered
	active, err := d.svc.Store.Watches(ctx, store.WatchActive, 0)
	if err != nil {
		return err
	}
	live := d.sim.Live()
	leak := leaked(live, active)
	d.mu.Lock()
	events, changes := d.events[event.TypeNotification], d.events[event.TypeChange]
	d.mu.Unlock()
	webhooks := 0 // the active watches served by a webhook channel, not a Pub/Sub grant
	for _, w := range active {
		if k, _ := google.LookupKind(w.Kind); k.Delivery == google.DeliverWebhook {
			webhooks++
		}
	}
	d.say("Summary: Google delivered %d notifications and %d Gmail pushes, and gave up on %d; %d notification events published, %d lost; %d change events; live channels at Google: %d, for %d active webhook watches, %d leaked",
		len(delivered), len(d.sim.GmailPushes()), undelivered, events, len(unpublished)+undelivered, changes, len(live), webhooks, len(leak))
	var errs []error
	if len(unpublished) > 0 {
		errs = append(errs, fmt.Errorf("demo: %d notifications delivered but not published: %v", len(unpublished), unpublished))
	}
	if undelivered > 0 {
		errs = append(errs, fmt.Errorf("demo: Google gave up on %d notifications", undelivered))
	}
	if len(leak) > 0 {
		errs = append(errs, fmt.Errorf("demo: %d channels live at Google that no active watch names: %v", len(leak), leak))
	}
	return errors.Join(errs...)
}

// leaked returns the ids of the channels live at Google that no active
// watch names as its channel: Google keeps sending on them, and no pass
// will ever stop them.
func leaked(live []googlesim.Channel, active []store.Watch) []string {
	serving := map[string]bool{}
	for _, w := range active {
		serving[w.ChannelID] = true
	}
	var out []string
	for _, c := range live {
		if !serving[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out
}
