package google

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	directory "google.golang.org/api/admin/directory/v1"
	reports "google.golang.org/api/admin/reports/v1"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/gmail/v1"
	workspaceevents "google.golang.org/api/workspaceevents/v1"
)

// Validation errors. ValidateWatch and APIs.Watch wrap them with the
// details, so the CLI can print one clear line.
var (
	// ErrUnknownKind: the watch's kind is not in the kinds table.
	ErrUnknownKind = errors.New("google: unknown kind")
	// ErrInvalidWatch: a parameter is missing, unknown or malformed, or a
	// field of the watch is out of range.
	ErrInvalidWatch = errors.New("google: invalid watch")
	// ErrRenewWindow: WATCHRELAY_RENEW_BEFORE does not fit between the
	// passes of WATCHRELAY_RENEW_INTERVAL and the kinds' lifetimes.
	ErrRenewWindow = errors.New("google: renewal window does not fit")
)

// The Google APIs a kind can belong to; each has its own client and its own
// channels.stop.
const (
	APICalendar        = "calendar"
	APIDrive           = "drive"
	APIDirectory       = "admin.directory"
	APIReports         = "admin.reports"
	APIGmail           = "gmail"
	APIWorkspaceEvents = "workspaceevents"
)

// How Google delivers a kind's events (Kind.Delivery).
const (
	// DeliverWebhook: a notification channel that calls Receive.
	DeliverWebhook = ""
	// DeliverGmail: users.watch publishes {emailAddress, historyId} to
	// watchrelay's inbound Gmail topic, which feeds Sync.
	DeliverGmail = "gmail"
	// DeliverEvents: a Workspace Events subscription publishes Workspace's
	// own CloudEvents straight to the events topic.
	DeliverEvents = "events"
)

// Channel lifetimes, with their sources.
//
//   - Calendar: every watch reference page
//     (developers.google.com/calendar/api/v3/reference/events/watch and the
//     acl, calendarList and settings ones) documents params.ttl with
//     "Default is 604800 seconds" (7 days) and publishes no maximum. We ask
//     for the documented 7 days: asking for more relies on undocumented
//     behaviour, and a renewal a week costs nothing.
//   - Drive: the push guide (developers.google.com/drive/api/guides/push)
//     gives files at most 86400 s (1 day), changes at most 604800 s (1
//     week), and 3600 s (1 hour) when no expiration is set.
//   - Admin SDK Directory: the Channel resource's params.ttl says "the
//     default is 2 hours and the maximum TTL is 2 days"
//     (developers.google.com/admin-sdk/directory/reference/rest/v1/SubscriptionChannel,
//     also in the admin/directory/v1 client's Channel.Params doc), while
//     the Admin SDK push guides give 21600 s (6 hours). Reports: the push
//     guide (developers.google.com/admin-sdk/reports/v1/guides/push) gives
//     6 hours. We ask for the smaller, 6 hours, for both: a request over
//     the real maximum might be refused, one under it only renews sooner.
//     internal/fake/googlesim grants the same.
const (
	day = 24 * time.Hour

	calendarMaxTTL     = 7 * day
	calendarDefaultTTL = 7 * day
	driveFilesMaxTTL   = day
	driveChangesMaxTTL = 7 * day
	driveDefaultTTL    = time.Hour
	adminMaxTTL        = 6 * time.Hour
	adminDefaultTTL    = 6 * time.Hour
)

// Kind is one kind of watch: everything watchrelay knows about it is here.
type Kind struct {
	Name string // as in watches/{id}.kind
	API  string // APICalendar, APIDrive, APIDirectory or APIReports
	// Required params must be present and non-empty; Optional ones may be;
	// no other param is accepted.
	Required []string
	Optional []string
	// Scopes are the OAuth scopes the watch call needs; with domain-wide
	// delegation, the Admin console must grant exactly these to the
	// service account's client id.
	Scopes []string
	// MaxTTL is the longest lifetime watchrelay asks for; DefaultTTL what
	// Google grants when none is asked (documentation only).
	MaxTTL     time.Duration
	DefaultTTL time.Duration

	// Delivery is how Google delivers the kind's events (DeliverWebhook,
	// DeliverGmail or DeliverEvents). The two Pub/Sub kinds are kept alive
	// by calling their watch again, which supersedes the previous grant at
	// Google: a renewal finishes the replaced record without a stop call,
	// and only a watch's end stops its grant.
	Delivery string
	// NeedsSubject: a watch of the kind must name a subject, the user it
	// acts as through domain-wide delegation (gmail.users: a mailbox is a
	// user's, and Gmail refuses the service account as itself).
	NeedsSubject bool

	// check validates param values beyond presence (enums, booleans,
	// either-or); nil when there is nothing more to check.
	check func(p map[string]string) error
	// watch opens the channel through the kind's typed client.
	watch func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error)
	// stop ends a grant of a kind that has no channels.stop (the Pub/Sub
	// kinds); nil means its API's channels.stop.
	stop func(ctx context.Context, c clients, ch channel) error
}

// register adds a kind kept in a file of its own (gmail.go, workspace.go)
// to the table.
func register(k Kind) { kinds[k.Name] = k }

// channel is a watch request or response in terms common to the four APIs'
// Channel types.
type channel struct {
	ID, Type, Address, Token string
	Expiration               int64 // ms since the epoch; 0 = none
	Params                   map[string]string
	ResourceID, ResourceURI  string
	// Reactivated is the suspension reason a renewal reactivated the
	// grant from (a Workspace subscription's endpoint reason), or "".
	Reactivated string
}

// clients holds the one typed service a kind's watch uses.
type clients struct {
	calendar  *calendar.Service
	drive     *drive.Service
	directory *directory.Service
	reports   *reports.Service
	gmail     *gmail.Service
	events    *workspaceevents.Service
}

// Events Admin Directory accepts in the event parameter.
var (
	userEvents  = []string{"add", "delete", "makeAdmin", "undelete", "update"}
	aliasEvents = []string{"add", "delete"}
)

// kinds is the table of every kind, by name.
var kinds = map[string]Kind{
	"calendar.events": {
		API: APICalendar, Required: []string{"calendarId"}, Optional: []string{"eventTypes"},
		Scopes: []string{calendar.CalendarReadonlyScope},
		MaxTTL: calendarMaxTTL, DefaultTTL: calendarDefaultTTL,
		watch: func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
			call := c.calendar.Events.Watch(p["calendarId"], toCalendar(ch)).Context(ctx)
			if v := p["eventTypes"]; v != "" {
				call.EventTypes(splitList(v)...)
			}
			r, err := call.Do()
			return fromCalendar(r), err
		},
	},
	"calendar.calendarList": {
		API: APICalendar, Optional: []string{"minAccessRole", "showDeleted", "showHidden"},
		Scopes: []string{calendar.CalendarReadonlyScope},
		MaxTTL: calendarMaxTTL, DefaultTTL: calendarDefaultTTL,
		check: func(p map[string]string) error {
			return errors.Join(
				oneOf(p, "minAccessRole", "freeBusyReader", "owner", "reader", "writer"),
				isBool(p, "showDeleted"), isBool(p, "showHidden"))
		},
		watch: func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
			call := c.calendar.CalendarList.Watch(toCalendar(ch)).Context(ctx)
			if v := p["minAccessRole"]; v != "" {
				call.MinAccessRole(v)
			}
			if v, ok := boolParam(p, "showDeleted"); ok {
				call.ShowDeleted(v)
			}
			if v, ok := boolParam(p, "showHidden"); ok {
				call.ShowHidden(v)
			}
			r, err := call.Do()
			return fromCalendar(r), err
		},
	},
	"calendar.acl": {
		API: APICalendar, Required: []string{"calendarId"}, Optional: []string{"showDeleted"},
		// acl.watch has always accepted the full calendar scope; the
		// read-only one is not documented for it on every version.
		Scopes: []string{calendar.CalendarScope},
		MaxTTL: calendarMaxTTL, DefaultTTL: calendarDefaultTTL,
		check: func(p map[string]string) error { return isBool(p, "showDeleted") },
		watch: func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
			call := c.calendar.Acl.Watch(p["calendarId"], toCalendar(ch)).Context(ctx)
			if v, ok := boolParam(p, "showDeleted"); ok {
				call.ShowDeleted(v)
			}
			r, err := call.Do()
			return fromCalendar(r), err
		},
	},
	"calendar.settings": {
		API:    APICalendar,
		Scopes: []string{calendar.CalendarReadonlyScope},
		MaxTTL: calendarMaxTTL, DefaultTTL: calendarDefaultTTL,
		watch: func(ctx context.Context, c clients, _ map[string]string, ch channel) (channel, error) {
			r, err := c.calendar.Settings.Watch(toCalendar(ch)).Context(ctx).Do()
			return fromCalendar(r), err
		},
	},
	"drive.files": {
		API: APIDrive, Required: []string{"fileId"},
		Scopes: []string{drive.DriveMetadataReadonlyScope},
		MaxTTL: driveFilesMaxTTL, DefaultTTL: driveDefaultTTL,
		watch: func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
			// supportsAllDrives: a file in a shared drive is otherwise
			// answered 404, which would end the watch as gone.
			r, err := c.drive.Files.Watch(p["fileId"], toDrive(ch)).SupportsAllDrives(true).Context(ctx).Do()
			return fromDrive(r), err
		},
	},
	"drive.changes": {
		API: APIDrive,
		Optional: []string{"driveId", "spaces", "includeItemsFromAllDrives", "includeRemoved",
			"restrictToMyDrive", "includeCorpusRemovals", "includePermissionsForView", "includeLabels"},
		Scopes: []string{drive.DriveMetadataReadonlyScope},
		MaxTTL: driveChangesMaxTTL, DefaultTTL: driveDefaultTTL,
		check: func(p map[string]string) error {
			return errors.Join(isBool(p, "includeItemsFromAllDrives"), isBool(p, "includeRemoved"),
				isBool(p, "restrictToMyDrive"), isBool(p, "includeCorpusRemovals"))
		},
		watch: watchDriveChanges,
	},
	"admin.directory.users": {
		API: APIDirectory,
		Optional: []string{"customer", "domain", "event", "viewType", "projection",
			"customFieldMask", "query", "showDeleted"},
		Scopes: []string{directory.AdminDirectoryUserReadonlyScope},
		MaxTTL: adminMaxTTL, DefaultTTL: adminDefaultTTL,
		check: func(p map[string]string) error {
			var either error
			switch {
			case p["customer"] == "" && p["domain"] == "":
				either = fmt.Errorf("%w: admin.directory.users needs customer (e.g. my_customer) or domain", ErrInvalidWatch)
			case p["customer"] != "" && p["domain"] != "":
				either = fmt.Errorf("%w: admin.directory.users takes customer or domain, not both", ErrInvalidWatch)
			}
			return errors.Join(either, oneOf(p, "event", userEvents...),
				oneOf(p, "viewType", "admin_view", "domain_public"),
				oneOf(p, "projection", "basic", "custom", "full"))
		},
		watch: func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
			call := c.directory.Users.Watch(toDirectory(ch)).Context(ctx)
			set := map[string]func(string) *directory.UsersWatchCall{
				"customer": call.Customer, "domain": call.Domain, "event": call.Event,
				"viewType": call.ViewType, "projection": call.Projection,
				"customFieldMask": call.CustomFieldMask, "query": call.Query, "showDeleted": call.ShowDeleted,
			}
			for name, f := range set {
				if v := p[name]; v != "" {
					f(v)
				}
			}
			r, err := call.Do()
			return fromDirectory(r), err
		},
	},
	"admin.directory.aliases": {
		API: APIDirectory, Required: []string{"userKey"}, Optional: []string{"event"},
		Scopes: []string{directory.AdminDirectoryUserReadonlyScope},
		MaxTTL: adminMaxTTL, DefaultTTL: adminDefaultTTL,
		check: func(p map[string]string) error { return oneOf(p, "event", aliasEvents...) },
		watch: func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
			call := c.directory.Users.Aliases.Watch(p["userKey"], toDirectory(ch)).Context(ctx)
			if v := p["event"]; v != "" {
				call.Event(v)
			}
			r, err := call.Do()
			return fromDirectory(r), err
		},
	},
	"admin.reports.activities": {
		API: APIReports, Required: []string{"userKey", "applicationName"},
		Optional: []string{"eventName", "filters", "customerId", "actorIpAddress", "orgUnitID", "groupIdFilter"},
		Scopes:   []string{reports.AdminReportsAuditReadonlyScope},
		MaxTTL:   adminMaxTTL, DefaultTTL: adminDefaultTTL,
		watch: func(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
			call := c.reports.Activities.Watch(p["userKey"], p["applicationName"], toReports(ch)).Context(ctx)
			set := map[string]func(string) *reports.ActivitiesWatchCall{
				"eventName": call.EventName, "filters": call.Filters, "customerId": call.CustomerId,
				"actorIpAddress": call.ActorIpAddress, "orgUnitID": call.OrgUnitID, "groupIdFilter": call.GroupIdFilter,
			}
			for name, f := range set {
				if v := p[name]; v != "" {
					f(v)
				}
			}
			r, err := call.Do()
			return fromReports(r), err
		},
	},
}

func init() {
	// The name lives once, as the map key (register's kinds name
	// themselves).
	for name, k := range kinds {
		k.Name = name
		kinds[name] = k
	}
}

// watchDriveChanges asks for the current start page token, then watches
// the change feed from there: Drive requires a page token on changes.watch,
// and notifications only say "something changed", so the newest is right.
func watchDriveChanges(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
	tok, err := startPageToken(ctx, c, p["driveId"])
	if err != nil {
		return channel{}, err
	}
	call := c.drive.Changes.Watch(tok, toDrive(ch)).Context(ctx)
	feed(call, p)
	r, err := call.Do()
	return fromDrive(r), err
}

// startPageToken is where a drive's change feed stands now.
func startPageToken(ctx context.Context, c clients, driveID string) (string, error) {
	call := c.drive.Changes.GetStartPageToken().Context(ctx)
	if driveID != "" {
		call.DriveId(driveID).SupportsAllDrives(true)
	}
	tok, err := call.Do()
	if err != nil {
		return "", fmt.Errorf("getStartPageToken: %w", err)
	}
	return tok.StartPageToken, nil
}

// feedCall is what changes.watch and changes.list share: the parameters
// that say which change feed they are about.
type feedCall[C any] interface {
	DriveId(string) C
	SupportsAllDrives(bool) C
	IncludeItemsFromAllDrives(bool) C
	Spaces(string) C
	IncludePermissionsForView(string) C
	IncludeLabels(string) C
	IncludeRemoved(bool) C
	RestrictToMyDrive(bool) C
	IncludeCorpusRemovals(bool) C
}

// feed sets a drive.changes watch's params on call, so that the read lists
// the very feed the channel watches.
func feed[C feedCall[C]](call C, p map[string]string) {
	if driveID := p["driveId"]; driveID != "" {
		// A shared drive's feed needs both; includeItemsFromAllDrives may
		// still be turned off by the param below.
		call.DriveId(driveID).SupportsAllDrives(true).IncludeItemsFromAllDrives(true)
	}
	for name, f := range map[string]func(string) C{
		"spaces": call.Spaces, "includePermissionsForView": call.IncludePermissionsForView, "includeLabels": call.IncludeLabels,
	} {
		if v := p[name]; v != "" {
			f(v)
		}
	}
	for name, f := range map[string]func(bool) C{
		"includeItemsFromAllDrives": call.IncludeItemsFromAllDrives, "includeRemoved": call.IncludeRemoved,
		"restrictToMyDrive": call.RestrictToMyDrive, "includeCorpusRemovals": call.IncludeCorpusRemovals,
	} {
		if v, ok := boolParam(p, name); ok {
			f(v)
		}
	}
}

// Kinds returns every kind, sorted by name.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupKind returns the kind named name.
func LookupKind(name string) (Kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// uriKinds maps where a resource URI's path starts to a kind of the API it
// belongs to.
var uriKinds = []struct{ prefix, kind string }{
	{"/calendar/v3/", "calendar.events"},
	{"/drive/v3/", "drive.files"},
	{"/admin/directory/v1/", "admin.directory.users"},
	{"/admin/reports/v1/", "admin.reports.activities"},
}

// KindOfURI returns a kind of the API a resource URI (X-Goog-Resource-URI)
// belongs to, for stopping a channel known only from a notification, a
// stray: channels.stop needs the API, and any kind of it serves. Only
// Google's own hosts are believed, since anyone can post a stray.
func KindOfURI(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "https" || (u.Host != "www.googleapis.com" && u.Host != "admin.googleapis.com") {
		return "", false
	}
	for _, k := range uriKinds {
		if strings.HasPrefix(u.Path, k.prefix) {
			return k.kind, true
		}
	}
	return "", false
}
