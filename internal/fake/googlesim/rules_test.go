package googlesim_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	directory "google.golang.org/api/admin/directory/v1"
	reports "google.golang.org/api/admin/reports/v1"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	workspaceevents "google.golang.org/api/workspaceevents/v1"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// ruleEnv is a simulator with an item in every Calendar collection, the
// real typed clients, and a sync token of each Calendar list.
type ruleEnv struct {
	sim    *googlesim.Sim
	cal    *calendar.Service
	drive  *drive.Service
	dir    *directory.Service
	rep    *reports.Service
	mail   *gmail.Service
	events *workspaceevents.Service
	hook   string
	sync   map[string]string // Calendar kind → a sync token of its list
	start  string            // a Drive start page token
	mailID int64             // a history id of ann's mailbox
}

func newRuleEnv(t *testing.T) *ruleEnv {
	t.Helper()
	ctx := context.Background()
	sim := start(t, googlesim.Options{Sync: googlesim.SyncAfter})
	e := &ruleEnv{sim: sim, cal: calendarService(t, sim), drive: driveService(t, sim), hook: newReceiver(t).URL,
		mail: gmailAs(t, sim, "ann@example.com"), events: eventsClient(t, sim.URL, "ann@example.com")}
	var err error
	if e.dir, err = directory.NewService(ctx, opts(sim.URL, "/")...); err != nil {
		t.Fatal(err)
	}
	if e.rep, err = reports.NewService(ctx, opts(sim.URL, "/")...); err != nil {
		t.Fatal(err)
	}
	sim.EditEvent("team", googlesim.Event{ID: "e1"})
	sim.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "c1"})
	sim.EditACLRule("team", googlesim.ACLRule{ID: "user:ann", Role: "reader", ScopeType: "user"})
	sim.EditSetting(googlesim.Setting{ID: "timezone", Value: "UTC"})
	e.sync = map[string]string{}
	for kind, list := range map[string]func() (string, error){
		googlesim.KindCalendarEvents: func() (string, error) {
			r, err := e.cal.Events.List("team").Context(ctx).Do()
			return r.NextSyncToken, err
		},
		googlesim.KindCalendarList: func() (string, error) {
			r, err := e.cal.CalendarList.List().Context(ctx).Do()
			return r.NextSyncToken, err
		},
		googlesim.KindCalendarACL: func() (string, error) {
			r, err := e.cal.Acl.List("team").Context(ctx).Do()
			return r.NextSyncToken, err
		},
	} {
		if e.sync[kind], err = list(); err != nil || e.sync[kind] == "" {
			t.Fatalf("%s: sync token %q, %v", kind, e.sync[kind], err)
		}
	}
	e.start = startPageToken(t, e.drive)
	p, err := e.mail.Users.GetProfile("me").Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	e.mailID = int64(p.HistoryId)
	return e
}

// channel is a new channel to the test's webhook, with a fresh id.
func (e *ruleEnv) channel(name string) (cal *calendar.Channel, drv *drive.Channel, dir *directory.Channel, rep *reports.Channel) {
	id := "rule-" + name
	return &calendar.Channel{Id: id, Type: "web_hook", Address: e.hook},
		&drive.Channel{Id: id, Type: "web_hook", Address: e.hook},
		&directory.Channel{Id: id, Type: "web_hook", Address: e.hook},
		&reports.Channel{Id: id, Type: "web_hook", Address: e.hook}
}

// ruleCase is one call a rule refuses, or its control, which is served.
type ruleCase struct {
	name   string
	call   ruleCall
	code   int    // 0: served
	reason string // error.errors[0].reason when refused
}

// restricted is Calendar's refusal of a parameter beside a sync token.
const restricted = "syncTokenWithRequestRestrictions"

// eventsBesideSyncToken: each parameter events.list refuses beside a sync
// token, set through its typed setter.
var eventsBesideSyncToken = map[string]func(*calendar.EventsListCall){
	"iCalUID":                 func(c *calendar.EventsListCall) { c.ICalUID("uid@example.com") },
	"orderBy":                 func(c *calendar.EventsListCall) { c.OrderBy("updated") },
	"privateExtendedProperty": func(c *calendar.EventsListCall) { c.PrivateExtendedProperty("k=v") },
	"q":                       func(c *calendar.EventsListCall) { c.Q("lunch") },
	"sharedExtendedProperty":  func(c *calendar.EventsListCall) { c.SharedExtendedProperty("k=v") },
	"timeMin":                 func(c *calendar.EventsListCall) { c.TimeMin("2026-01-01T00:00:00Z") },
	"timeMax":                 func(c *calendar.EventsListCall) { c.TimeMax("2026-01-01T00:00:00Z") },
	"updatedMin":              func(c *calendar.EventsListCall) { c.UpdatedMin("2026-01-01T00:00:00Z") },
}

// ruleCall makes one call; name is the row's, for a fresh channel id.
type ruleCall func(ctx context.Context, e *ruleEnv, name string) error

// listCall is a Calendar list call, as the rules' rows need it.
type listCall[C, R any] interface {
	SyncToken(string) C
	Context(context.Context) C
	Do(...googleapi.CallOption) (R, error)
}

// listing makes the rows' calls of kind's list of the team calendar: from
// its sync token when sync, with what set sets through the typed setters.
func listing[C listCall[C, R], R any](kind string, list func(*calendar.Service) C) func(sync bool, set func(C)) ruleCall {
	return func(sync bool, set func(C)) ruleCall {
		return func(ctx context.Context, e *ruleEnv, _ string) error {
			c := list(e.cal).Context(ctx)
			if sync {
				c.SyncToken(e.sync[kind])
			}
			set(c)
			_, err := c.Do()
			return err
		}
	}
}

var (
	eventsList = listing[*calendar.EventsListCall, *calendar.Events](googlesim.KindCalendarEvents,
		func(s *calendar.Service) *calendar.EventsListCall { return s.Events.List("team") })
	calendarListCall = listing[*calendar.CalendarListListCall, *calendar.CalendarList](googlesim.KindCalendarList,
		func(s *calendar.Service) *calendar.CalendarListListCall { return s.CalendarList.List() })
	aclList = listing[*calendar.AclListCall, *calendar.Acl](googlesim.KindCalendarACL,
		func(s *calendar.Service) *calendar.AclListCall { return s.Acl.List("team") })
)

// eventsRuleCases are the rules of events.list and events.watch.
func eventsRuleCases() []ruleCase {
	var cases []ruleCase
	for name, set := range eventsBesideSyncToken {
		cases = append(cases,
			// events.list refuses name beside a sync token...
			ruleCase{"events " + name + " with sync token", eventsList(true, set), 400, restricted},
			// ...and takes it without one.
			ruleCase{"events " + name + " alone", eventsList(false, set), 0, ""})
	}
	return append(cases, []ruleCase{
		// With a sync token deleted events always come: showDeleted=false
		// is refused...
		{"events showDeleted=false with sync token", eventsList(true, func(c *calendar.EventsListCall) { c.ShowDeleted(false) }), 400, restricted},
		// ...showDeleted=true is not.
		{"events showDeleted=true with sync token", eventsList(true, func(c *calendar.EventsListCall) { c.ShowDeleted(true) }), 0, ""},
		// A time range must not be empty...
		{"events timeMax before timeMin", eventsList(false, func(c *calendar.EventsListCall) {
			c.TimeMin("2026-02-01T00:00:00Z").TimeMax("2026-01-01T00:00:00Z")
		}), 400, "timeRangeEmpty"},
		// ...nor its bounds lack an offset.
		{"events timeMin without offset", eventsList(false, func(c *calendar.EventsListCall) { c.TimeMin("2026-02-01T00:00:00") }), 400, "invalid"},
		// A range in order is served.
		{"events time range", eventsList(false, func(c *calendar.EventsListCall) {
			c.TimeMin("2026-01-01T00:00:00+01:00").TimeMax("2026-02-01T00:00:00Z")
		}), 0, ""},
		// maxResults is at least 1...
		{"events maxResults 0", eventsList(false, func(c *calendar.EventsListCall) { c.MaxResults(0) }), 400, "invalid"},
		// ...and above 2500 is served at 2500 (TestPageSizeCapped).
		{"events maxResults 5000", eventsList(false, func(c *calendar.EventsListCall) { c.MaxResults(5000) }), 0, ""},
		// events.watch takes the list's query, and its rules.
		{"events watch q with sync token", func(ctx context.Context, e *ruleEnv, name string) error {
			ch, _, _, _ := e.channel(name)
			_, err := e.cal.Events.Watch("team", ch).SyncToken(e.sync[googlesim.KindCalendarEvents]).Q("x").Context(ctx).Do()
			return err
		}, 400, restricted},
	}...)
}

// collectionRuleCases are the rules of the calendar list's, the ACL's
// and the settings' lists and watches.
func collectionRuleCases() []ruleCase {
	return []ruleCase{
		// The calendar list with a sync token refuses showDeleted=false...
		{"calendarList showDeleted=false with sync token", calendarListCall(true, func(c *calendar.CalendarListListCall) { c.ShowDeleted(false) }), 400, restricted},
		// ...and showHidden=false...
		{"calendarList showHidden=false with sync token", calendarListCall(true, func(c *calendar.CalendarListListCall) { c.ShowHidden(false) }), 400, restricted},
		// ...minAccessRole...
		{"calendarList minAccessRole with sync token", calendarListCall(true, func(c *calendar.CalendarListListCall) { c.MinAccessRole("owner") }), 400, restricted},
		// ...and showOwnOrganizationOnly...
		{"calendarList showOwnOrganizationOnly with sync token", calendarListCall(true, func(c *calendar.CalendarListListCall) { c.ShowOwnOrganizationOnly(true) }), 400, restricted},
		// ...but takes both flags true.
		{"calendarList shows true with sync token", calendarListCall(true, func(c *calendar.CalendarListListCall) { c.ShowDeleted(true).ShowHidden(true) }), 0, ""},
		// Without a sync token all four are fine.
		{"calendarList filters without sync token", calendarListCall(false, func(c *calendar.CalendarListListCall) {
			c.ShowDeleted(false).ShowHidden(false).MinAccessRole("owner").ShowOwnOrganizationOnly(true)
		}), 0, ""},
		// calendarList.watch takes the list's query, and its rules.
		{"calendarList watch showHidden=false with sync token", func(ctx context.Context, e *ruleEnv, name string) error {
			ch, _, _, _ := e.channel(name)
			_, err := e.cal.CalendarList.Watch(ch).SyncToken(e.sync[googlesim.KindCalendarList]).ShowHidden(false).Context(ctx).Do()
			return err
		}, 400, restricted},
		// The ACL with a sync token refuses showDeleted=false...
		{"acl showDeleted=false with sync token", aclList(true, func(c *calendar.AclListCall) { c.ShowDeleted(false) }), 400, restricted},
		// ...takes it without one...
		{"acl showDeleted=false alone", aclList(false, func(c *calendar.AclListCall) { c.ShowDeleted(false) }), 0, ""},
		// ...and its watch takes the same rule.
		{"acl watch showDeleted=false with sync token", func(ctx context.Context, e *ruleEnv, name string) error {
			ch, _, _, _ := e.channel(name)
			_, err := e.cal.Acl.Watch("team", ch).SyncToken(e.sync[googlesim.KindCalendarACL]).ShowDeleted(false).Context(ctx).Do()
			return err
		}, 400, restricted},
		// acl maxResults is at least 1.
		{"acl maxResults 0", aclList(false, func(c *calendar.AclListCall) { c.MaxResults(0) }), 400, "invalid"},
		// So is the calendar list's...
		{"calendarList maxResults 0", calendarListCall(false, func(c *calendar.CalendarListListCall) { c.MaxResults(0) }), 400, "invalid"},
		// ...and settings'.
		{"settings maxResults 0", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.cal.Settings.List().MaxResults(0).Context(ctx).Do()
			return err
		}, 400, "invalid"},
		// A watch's maxResults too.
		{"settings watch maxResults 0", func(ctx context.Context, e *ruleEnv, name string) error {
			ch, _, _, _ := e.channel(name)
			_, err := e.cal.Settings.Watch(ch).MaxResults(0).Context(ctx).Do()
			return err
		}, 400, "invalid"},
	}
}

// otherRuleCases are the rules of Drive, Admin, Gmail and Workspace
// Events.
func otherRuleCases() []ruleCase {
	return []ruleCase{
		// changes.list needs a page token...
		{"changes without page token", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.drive.Changes.List("").Context(ctx).Do()
			return err
		}, 400, "required"},
		// ...and a pageSize of at least 1...
		{"changes pageSize 0", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.drive.Changes.List(e.start).PageSize(0).Context(ctx).Do()
			return err
		}, 400, "invalid"},
		// ...coercing one above 1000 to 1000.
		{"changes pageSize 5000", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.drive.Changes.List(e.start).PageSize(5000).Context(ctx).Do()
			return err
		}, 0, ""},
		// changes.watch takes the same query, and its rules.
		{"changes watch pageSize 0", func(ctx context.Context, e *ruleEnv, name string) error {
			_, ch, _, _ := e.channel(name)
			_, err := e.drive.Changes.Watch(e.start, ch).PageSize(0).Context(ctx).Do()
			return err
		}, 400, "invalid"},
		// Directory users.watch: maxResults within [1, 500]...
		{"users watch maxResults 501", func(ctx context.Context, e *ruleEnv, name string) error {
			_, _, ch, _ := e.channel(name)
			_, err := e.dir.Users.Watch(ch).Customer("my_customer").MaxResults(501).Context(ctx).Do()
			return err
		}, 400, "invalid"},
		// ...500 included.
		{"users watch maxResults 500", func(ctx context.Context, e *ruleEnv, name string) error {
			_, _, ch, _ := e.channel(name)
			_, err := e.dir.Users.Watch(ch).Customer("my_customer").MaxResults(500).Context(ctx).Do()
			return err
		}, 0, ""},
		// Reports activities.watch: maxResults within [1, 1000].
		{"activities watch maxResults 1001", func(ctx context.Context, e *ruleEnv, name string) error {
			_, _, _, ch := e.channel(name)
			_, err := e.rep.Activities.Watch("all", "drive", ch).MaxResults(1001).Context(ctx).Do()
			return err
		}, 400, "invalid"},
		// Gmail history.list: maxResults of at least 1...
		{"history maxResults 0", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.mail.Users.History.List("me").StartHistoryId(uint64(e.mailID)).MaxResults(0).Context(ctx).Do()
			return err
		}, 400, "invalid"},
		// ...served at 500 above 500.
		{"history maxResults 1000", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.mail.Users.History.List("me").StartHistoryId(uint64(e.mailID)).MaxResults(1000).Context(ctx).Do()
			return err
		}, 0, ""},
		// subscriptions.list refuses a negative pageSize...
		{"subscriptions pageSize -1", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.events.Subscriptions.List().Filter(`event_types:"x"`).PageSize(-1).Context(ctx).Do()
			return err
		}, 400, "badRequest"},
		// ...and takes 0, the default.
		{"subscriptions pageSize 0", func(ctx context.Context, e *ruleEnv, _ string) error {
			_, err := e.events.Subscriptions.List().Filter(`event_types:"x"`).PageSize(0).Context(ctx).Do()
			return err
		}, 0, ""},
	}
}

// TestQueryRules proves each rule of the package doc's table "What it
// refuses" through the real typed clients: the call it refuses is
// answered as Google answers it, and the same call within the rule is
// served.
func TestQueryRules(t *testing.T) {
	t.Parallel()
	e := newRuleEnv(t)
	for i, tc := range slices.Concat(eventsRuleCases(), collectionRuleCases(), otherRuleCases()) {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(context.Background(), e, fmt.Sprint(i))
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantGoogleError(t, err, tc.code, tc.reason)
		})
	}
}
