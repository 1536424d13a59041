package google_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

// readAll reads every page of one read, checking what every page must
// say: Next on all but the last, Cursor on the last only, the same
// Snapshot throughout.
func readAll(t *testing.T, a *google.APIs, w store.Watch, req google.ReadRequest) ([]google.Item, []google.Page) {
	t.Helper()
	var (
		items []google.Item
		pages []google.Page
	)
	for {
		p, err := a.ReadChanges(context.Background(), w, req)
		if err != nil {
			t.Fatalf("ReadChanges(%+v), page %d: %v", req, len(pages)+1, err)
		}
		pages = append(pages, p)
		items = append(items, p.Items...)
		if len(pages) > 1 && p.Snapshot != pages[0].Snapshot {
			t.Errorf("page %d: Snapshot %v, page 1 said %v", len(pages), p.Snapshot, pages[0].Snapshot)
		}
		if p.Next == "" {
			if p.Cursor == "" {
				t.Errorf("last page (%d) has no cursor", len(pages))
			}
			return items, pages
		}
		if p.Cursor != "" {
			t.Errorf("page %d of more has cursor %q", len(pages), p.Cursor)
		}
		req.Page = p.Next
	}
}

// brief is an item as the tests compare it: id and removal.
type brief struct {
	ID      string
	Removed bool
}

func briefs(items []google.Item) []brief {
	out := make([]brief, len(items))
	for i, it := range items {
		out[i] = brief{it.ID, it.Removed}
	}
	return out
}

// etagOf is the etag in an item's JSON, which must be its Version.
func etagOf(t *testing.T, it google.Item) string {
	t.Helper()
	var v struct {
		Etag string `json:"etag"`
	}
	if err := json.Unmarshal(it.JSON, &v); err != nil {
		t.Fatalf("item %s: JSON %s: %v", it.ID, it.JSON, err)
	}
	return v.Etag
}

// ids are n item ids: prefix0000, prefix0001, ...
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

// calendarRead is one Calendar collection read by TestReadChangesCalendar.
type calendarRead struct {
	name     string
	watch    store.Watch
	seed     func(*googlesim.Sim) // before the baseline
	change   func(*googlesim.Sim) // after it
	baseline int                  // items the baseline lists
	pages    int                  // its pages, at Google's maximum page size
	changes  []brief
}

var calendarReads = []calendarRead{
	// 2501 events are two pages of 2500; the cancelled one is not in
	// the baseline, and an edit and a cancel come as changes.
	{
		name: "events", watch: store.Watch{Kind: "calendar.events", Params: map[string]string{"calendarId": "c1", "eventTypes": "default"}},
		seed: func(s *googlesim.Sim) {
			for _, id := range ids("e", 2501) {
				s.EditEvent("c1", googlesim.Event{ID: id, Summary: "s"})
			}
			s.EditEvent("c1", googlesim.Event{ID: "z-cancelled", Status: "cancelled"})
			s.EditEvent("other", googlesim.Event{ID: "elsewhere"})
		},
		change: func(s *googlesim.Sim) {
			s.EditEvent("c1", googlesim.Event{ID: "e0001", Summary: "moved"})
			s.DeleteEvent("c1", "e0002")
		},
		baseline: 2501, pages: 2,
		changes: []brief{{"e0001", false}, {"e0002", true}},
	},
	// 251 entries are two pages of 250; a deleted entry is removed.
	{
		name: "calendar list", watch: store.Watch{Kind: "calendar.calendarList", Params: map[string]string{"showHidden": "true"}},
		seed: func(s *googlesim.Sim) {
			for _, id := range ids("cal", 251) {
				s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: id})
			}
		},
		change: func(s *googlesim.Sim) {
			s.DeleteCalendarListEntry("cal0007")
			s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "new"})
		},
		baseline: 251, pages: 2,
		changes: []brief{{"cal0007", true}, {"new", false}},
	},
	// 251 rules are two pages; a deleted rule (role none) is removed.
	{
		name: "acl", watch: store.Watch{Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}},
		seed: func(s *googlesim.Sim) {
			for _, id := range ids("user:", 251) {
				s.EditACLRule("c1", googlesim.ACLRule{ID: id, Role: "reader", ScopeType: "user", ScopeValue: id})
			}
		},
		change: func(s *googlesim.Sim) {
			s.DeleteACLRule("c1", "user:0003")
			s.EditACLRule("c1", googlesim.ACLRule{ID: "user:0004", Role: "writer", ScopeType: "user"})
		},
		baseline: 251, pages: 2,
		changes: []brief{{"user:0003", true}, {"user:0004", false}},
	},
	// Settings fit one page and are never removed.
	{
		name: "settings", watch: store.Watch{Kind: "calendar.settings"},
		seed: func(s *googlesim.Sim) {
			for _, id := range []string{"timezone", "locale", "weekStart"} {
				s.EditSetting(googlesim.Setting{ID: id, Value: "x"})
			}
		},
		change:   func(s *googlesim.Sim) { s.EditSetting(googlesim.Setting{ID: "timezone", Value: "Europe/Paris"}) },
		baseline: 3, pages: 1,
		changes: []brief{{"timezone", false}},
	},
}

// TestReadChangesCalendar reads each Calendar collection through the real
// client: a baseline that pages at Google's largest page, then the
// changes since its sync token, removals included, then nothing.
func TestReadChangesCalendar(t *testing.T) {
	t.Parallel()
	for _, tc := range calendarReads {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, a, _ := startSim(t)
			tc.seed(sim)
			items, pages := readAll(t, a, tc.watch, google.ReadRequest{})
			if len(items) != tc.baseline || len(pages) != tc.pages {
				t.Errorf("baseline: %d items in %d pages, want %d in %d", len(items), len(pages), tc.baseline, tc.pages)
			}
			for _, p := range pages {
				if !p.Snapshot || p.Resume != "" {
					t.Errorf("baseline page: Snapshot %v, Resume %q; want true and none", p.Snapshot, p.Resume)
				}
			}
			for _, it := range items {
				if it.Removed || it.Version == "" || it.Version != etagOf(t, it) {
					t.Errorf("baseline item %s: removed %v, version %q, etag %q", it.ID, it.Removed, it.Version, etagOf(t, it))
				}
			}
			cursor := pages[len(pages)-1].Cursor

			tc.change(sim)
			items, pages = readAll(t, a, tc.watch, google.ReadRequest{Cursor: cursor})
			if d := cmp.Diff(tc.changes, briefs(items)); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
			if pages[0].Snapshot {
				t.Error("an incremental read says Snapshot")
			}
			next := pages[len(pages)-1].Cursor
			if next == cursor {
				t.Errorf("the cursor did not move from %q", cursor)
			}
			if items, _ = readAll(t, a, tc.watch, google.ReadRequest{Cursor: next}); len(items) != 0 {
				t.Errorf("nothing changed, yet the read found %v", briefs(items))
			}
		})
	}
}

// TestReadChangesDriveChanges reads a drive's changes feed: from a start
// page token, across pages of Google's largest size with a Resume that
// is the next page, to the new start page token; removals carry no file.
func TestReadChangesDriveChanges(t *testing.T) {
	t.Parallel()
	sim, a, hook := startSim(t)
	ctx := context.Background()
	w := store.Watch{Kind: "drive.changes"}

	// No cursor and no start token: the feed starts now, nothing to list.
	first, err := a.ReadChanges(ctx, w, google.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 0 || first.Cursor == "" || first.Snapshot || first.Next != "" {
		t.Fatalf("first read = %+v, want no items and a cursor", first)
	}
	for i := range 1001 {
		sim.EditFile(googlesim.File{ID: fmt.Sprintf("f%04d", i), Name: "n"})
	}
	sim.RemoveFile("f0000")
	items, pages := readAll(t, a, w, google.ReadRequest{Cursor: first.Cursor})
	if len(pages) != 2 || len(items) != 1002 {
		t.Fatalf("%d items in %d pages, want 1002 in 2 (pages of 1000)", len(items), len(pages))
	}
	if pages[0].Resume == "" || pages[0].Resume != pages[0].Next || pages[1].Resume != "" {
		t.Errorf("Resume %q and %q, want the first page's Next %q, then none", pages[0].Resume, pages[1].Resume, pages[0].Next)
	}
	var f drive.File
	if err := json.Unmarshal(items[5].JSON, &f); err != nil || f.Id != "f0005" || f.Name != "n" || items[5].Version == "" {
		t.Errorf("item %+v: file %+v (%v), want f0005 with its name and a version", items[5], f, err)
	}
	if last := items[1001]; last.ID != "f0000" || !last.Removed || last.JSON != nil {
		t.Errorf("removal = %+v, want f0000 removed without JSON", last)
	}
	// Resuming from the first page's Resume reads only the second page.
	if rest, _ := readAll(t, a, w, google.ReadRequest{Cursor: pages[0].Resume}); len(rest) != 2 {
		t.Errorf("from Resume: %d items, want 2", len(rest))
	}

	// A shared drive's feed, from the page token its channel's resource
	// URI names, without removals when the watch says so.
	wd := store.Watch{Kind: "drive.changes", Params: map[string]string{"driveId": "d1", "includeRemoved": "false"}}
	g, err := a.Watch(ctx, wd, google.ChannelRequest{ID: "drive-d1", Address: hook})
	if err != nil {
		t.Fatal(err)
	}
	start := google.PageTokenOfURI(g.ResourceURI)
	if start == "" {
		t.Fatalf("no page token in %q", g.ResourceURI)
	}
	sim.EditFile(googlesim.File{ID: "s1", DriveID: "d1"})
	sim.EditFile(googlesim.File{ID: "s2", DriveID: "d1"})
	sim.RemoveFile("s1")
	items, _ = readAll(t, a, wd, google.ReadRequest{StartPageToken: start})
	if d := cmp.Diff([]brief{{"s1", false}, {"s2", false}}, briefs(items)); d != "" {
		t.Errorf("shared drive changes (-want +got):\n%s", d)
	}
}

// TestReadChangesDriveFile reads a watched file: its version is the
// cursor, an unchanged version reads nothing, and removal reads once.
func TestReadChangesDriveFile(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	w := store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}}
	sim.EditFile(googlesim.File{ID: "f1", Name: "plan"})
	for _, step := range []struct {
		name   string
		edit   func()
		cursor string
		want   google.Page
	}{
		// The first get is the baseline.
		{"baseline", nil, "", google.Page{Cursor: "1", Snapshot: true, Items: []google.Item{{ID: "f1", Version: "1"}}}},
		// The same version: nothing changed that counts.
		{"unchanged", nil, "1", google.Page{Cursor: "1"}},
		// An edit makes version 2.
		{"edited", func() { sim.EditFile(googlesim.File{ID: "f1", Name: "plan v2"}) }, "1",
			google.Page{Cursor: "2", Items: []google.Item{{ID: "f1", Version: "2"}}}},
		// Trashed is still there: an upsert, not a removal.
		{"trashed", func() { sim.EditFile(googlesim.File{ID: "f1", Trashed: true}) }, "2",
			google.Page{Cursor: "3", Items: []google.Item{{ID: "f1", Version: "3"}}}},
		// Removed for good: 404 is one removal...
		{"removed", func() { sim.RemoveFile("f1") }, "3",
			google.Page{Cursor: "removed", Items: []google.Item{{ID: "f1", Removed: true, Version: "removed"}}}},
		// ...and then nothing.
		{"still removed", nil, "removed", google.Page{Cursor: "removed"}},
	} {
		if step.edit != nil {
			step.edit()
		}
		p, err := a.ReadChanges(ctx, w, google.ReadRequest{Cursor: step.cursor})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		for i := range p.Items {
			if !p.Items[i].Removed && !strings.Contains(string(p.Items[i].JSON), `"id":"f1"`) {
				t.Errorf("%s: JSON %s is not the file", step.name, p.Items[i].JSON)
			}
			p.Items[i].JSON = nil
		}
		if d := cmp.Diff(step.want, p); d != "" {
			t.Errorf("%s (-want +got):\n%s", step.name, d)
		}
	}
}

// TestReadChangesCursorExpired: an expired sync or page token is
// ErrCursorExpired with Google's answer in the chain; other 410s and 400s
// are not.
func TestReadChangesCursorExpired(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	events := store.Watch{Kind: "calendar.events", Params: map[string]string{"calendarId": "c1"}}
	changes := store.Watch{Kind: "drive.changes"}
	sim.EditEvent("c1", googlesim.Event{ID: "e1"})
	_, pages := readAll(t, a, events, google.ReadRequest{})
	syncToken := pages[0].Cursor
	first, err := a.ReadChanges(ctx, changes, google.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sim.EditFile(googlesim.File{ID: "f1"})
	sim.ExpireSyncTokens()

	for _, tc := range []struct {
		name    string
		w       store.Watch
		req     google.ReadRequest
		inject  *googlesim.Failure // on the next list, instead of the expiry
		expired bool
		code    int
	}{
		// Calendar's 410 fullSyncRequired for an old sync token.
		{"calendar sync token", events, google.ReadRequest{Cursor: syncToken}, nil, true, 410},
		// Drive's 400 invalid pageToken for an old page token.
		{"drive page token", changes, google.ReadRequest{Cursor: first.Cursor}, nil, true, 400},
		// A 410 on a read with no token is the calendar gone, not a cursor.
		{"calendar 410 without a token", events, google.ReadRequest{}, &googlesim.FailGone, false, 410},
		// A Drive 400 about something else is not a cursor either.
		{"drive other 400", changes, google.ReadRequest{Cursor: "1"},
			&googlesim.Failure{Code: 400, Reason: "badRequest", Message: "Bad Request"}, false, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.inject != nil {
				sim.FailNext(1, googlesim.Match{Op: googlesim.OpList, Kind: tc.w.Kind}, *tc.inject)
			}
			_, err := a.ReadChanges(ctx, tc.w, tc.req)
			var ge *googleapi.Error
			if errors.Is(err, google.ErrCursorExpired) != tc.expired || !errors.As(err, &ge) || ge.Code != tc.code {
				t.Errorf("err = %v: want expired %v with Google's %d in the chain", err, tc.expired, tc.code)
			}
		})
	}
	// After the expiry a fresh baseline works again.
	if items, _ := readAll(t, a, events, google.ReadRequest{}); len(items) != 1 {
		t.Errorf("fresh baseline: %d items, want 1", len(items))
	}
}

// TestReadChangesErrors: read errors classify as watch errors do, and
// every kind either reads or is FromBody, never both.
func TestReadChangesErrors(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	events := store.Watch{Kind: "calendar.events", Params: map[string]string{"calendarId": "c1"}}
	sim.RevokeSubject("ann@example.com")
	sim.DeleteResource(googlesim.ResourceID("calendar.events", map[string]string{"calendarId": "gone"}))
	sim.FailNext(1, googlesim.Match{Op: googlesim.OpList, Kind: "drive.changes"}, googlesim.FailUnavailable)
	for _, tc := range []struct {
		name   string
		w      store.Watch
		want   google.Class
		reason string
	}{
		// A revoked grant fails the watch, naming the user.
		{"401", store.Watch{Kind: events.Kind, Params: events.Params, Subject: "ann@example.com"},
			google.ClassFailed, "acts as ann@example.com"},
		// A deleted calendar makes the watch gone.
		{"404", store.Watch{Kind: events.Kind, Params: map[string]string{"calendarId": "gone"}}, google.ClassGone, "no longer exists"},
		// A 503 is retried.
		{"503", store.Watch{Kind: "drive.changes"}, google.ClassTransient, "503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.ReadChanges(ctx, tc.w, google.ReadRequest{Cursor: "1"})
			var ce *google.CallError
			if !errors.As(err, &ce) || ce.Op != "read" {
				t.Fatalf("err = %v, want a read CallError", err)
			}
			if c, r := google.Classify(err), google.Reason(err); c != tc.want || !strings.Contains(r, tc.reason) {
				t.Errorf("Classify %v, Reason %q; want %v and %q", c, r, tc.want, tc.reason)
			}
		})
	}
	for _, tc := range kindCases {
		_, err := a.ReadChanges(ctx, store.Watch{Kind: tc.kind, Params: tc.params}, google.ReadRequest{})
		if got := errors.Is(err, google.ErrNoReads); got != google.FromBody(tc.kind) || (!got && err != nil) {
			t.Errorf("%s: FromBody %v, read error %v", tc.kind, google.FromBody(tc.kind), err)
		}
	}
	if _, err := a.ReadChanges(ctx, store.Watch{Kind: "drive.nope"}, google.ReadRequest{}); !errors.Is(err, google.ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

// TestReadChangesAsks checks what each read asks Google: the largest page,
// the watch's own params where a sync token's reads allow them, whole
// files, and never minAccessRole or a false showDeleted or showHidden.
func TestReadChangesAsks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		w    store.Watch
		req  google.ReadRequest
		want []request
	}{
		// Events: 2500 a page, the event types, the sync token.
		{"events", store.Watch{Kind: "calendar.events", Params: map[string]string{"calendarId": "c1", "eventTypes": "default,focusTime"}},
			google.ReadRequest{Cursor: "s1", Page: "p2"},
			[]request{get("/calendar/v3/calendars/c1/events",
				q("maxResults", "2500", "eventTypes", "default", "eventTypes", "focusTime", "syncToken", "s1", "pageToken", "p2"))}},
		// The calendar list: 250 a page, showHidden whatever the watch
		// says, no showDeleted, no minAccessRole.
		{"calendar list", store.Watch{Kind: "calendar.calendarList", Params: map[string]string{"minAccessRole": "owner", "showDeleted": "false", "showHidden": "false"}},
			google.ReadRequest{Cursor: "s1"},
			[]request{get("/calendar/v3/users/me/calendarList", q("maxResults", "250", "showHidden", "true", "syncToken", "s1"))}},
		// ACL baseline: no showDeleted whatever the watch says, no token.
		{"acl", store.Watch{Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1", "showDeleted": "true"}},
			google.ReadRequest{}, []request{get("/calendar/v3/calendars/c1/acl", q("maxResults", "250"))}},
		// A shared drive's changes from getStartPageToken: 1000 a page,
		// removals, whole files, the drive's flags.
		{"drive changes", store.Watch{Kind: "drive.changes", Params: map[string]string{"driveId": "d1", "spaces": "drive"}},
			google.ReadRequest{}, []request{
				get("/drive/v3/changes/startPageToken", q("driveId", "d1", "supportsAllDrives", "true")),
				get("/drive/v3/changes", q("pageToken", "42", "pageSize", "1000", "includeRemoved", "true", "fields", "*",
					"driveId", "d1", "supportsAllDrives", "true", "includeItemsFromAllDrives", "true", "spaces", "drive")),
			}},
		// A file: whole, shared drives supported.
		{"drive file", store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}},
			google.ReadRequest{Cursor: "3"}, []request{get("/drive/v3/files/f1", q("supportsAllDrives", "true", "fields", "*"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t)
			a, err := google.NewAPIs(context.Background(), google.APIConfig{BaseURL: rec.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.ReadChanges(context.Background(), tc.w, tc.req); err != nil {
				t.Fatal(err)
			}
			calls, _ := rec.requests()
			if d := cmp.Diff(tc.want, calls); d != "" {
				t.Errorf("calls (-want +got):\n%s", d)
			}
		})
	}
}

func get(path string, query url.Values) request {
	return request{Method: http.MethodGet, Path: path, Query: query}
}

// TestBodyItem reads the admin kinds' notification bodies.
func TestBodyItem(t *testing.T) {
	t.Parallel()
	user := `{"kind":"admin#directory#user","id":"u1","etag":"\"e1\"","primaryEmail":"ann@example.com"}`
	alias := `{"kind":"admin#directory#alias","id":"u1","etag":"\"e2\"","primaryEmail":"ann@example.com","alias":"a@example.com"}`
	activity := `{"kind":"admin#reports#activity","id":{"time":"2026-11-29T10:00:00.000Z","uniqueQualifier":"-42",` +
		`"applicationName":"login","customerId":"C1"},"actor":{"email":"ann@example.com"},"events":[{"name":"login_success"}]}`
	for _, tc := range []struct {
		name, kind, state, body string
		want                    google.Item // JSON is the body, compacted
		bad                     bool
	}{
		// A user update: its id, versioned by etag and event.
		{"user update", "admin.directory.users", "update", user, google.Item{ID: "u1", Version: `"e1"/update`}, false},
		// A user deletion is a removal, with another version than the update.
		{"user delete", "admin.directory.users", "delete", user, google.Item{ID: "u1", Removed: true, Version: `"e1"/delete`}, false},
		// An alias is the alias email, not the user id.
		{"alias add", "admin.directory.aliases", "add", alias, google.Item{ID: "a@example.com", Version: `"e2"/add`}, false},
		{"alias delete", "admin.directory.aliases", "delete", alias, google.Item{ID: "a@example.com", Removed: true, Version: `"e2"/delete`}, false},
		// An activity is its unique qualifier at its time.
		{"activity", "admin.reports.activities", "login_success", activity,
			google.Item{ID: "-42", Version: "2026-11-29T10:00:00.000Z"}, false},
		// Bodies that are not the resource.
		{"empty", "admin.directory.users", "update", "", google.Item{}, true},
		{"not JSON", "admin.directory.users", "update", "{", google.Item{}, true},
		{"drive's body", "admin.directory.users", "update", `{"kind":"drive#changes"}`, google.Item{}, true},
		{"user without id", "admin.directory.users", "update", `{"kind":"admin#directory#user"}`, google.Item{}, true},
		{"user as an alias", "admin.directory.aliases", "add", user, google.Item{}, true},
		{"activity without id", "admin.reports.activities", "x", `{"kind":"admin#reports#activity"}`, google.Item{}, true},
		// A kind whose body is not its change.
		{"calendar", "calendar.events", "exists", user, google.Item{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := google.BodyItem(tc.kind, tc.state, json.RawMessage(tc.body))
			if tc.bad {
				if err == nil {
					t.Fatalf("BodyItem = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.JSON) != tc.body {
				t.Errorf("JSON %s, want the body %s", got.JSON, tc.body)
			}
			got.JSON = nil
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestPageTokenOfURI reads the page token of a changes resource URI.
func TestPageTokenOfURI(t *testing.T) {
	t.Parallel()
	for uri, want := range map[string]string{
		"https://www.googleapis.com/drive/v3/changes?alt=json&pageToken=123":          "123",
		"https://www.googleapis.com/drive/v3/changes?driveId=d1&pageToken=7&alt=json": "7",
		"https://www.googleapis.com/drive/v3/files/f1":                                "",
		"::not a uri": "",
	} {
		if got := google.PageTokenOfURI(uri); got != want {
			t.Errorf("PageTokenOfURI(%q) = %q, want %q", uri, got, want)
		}
	}
}

// TestBodyItemFromGoogleSim reads the bodies the simulator pushes for each
// admin kind, as Receive hands them to Sync.
func TestBodyItemFromGoogleSim(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	type push struct {
		kind, state string
		body        json.RawMessage
	}
	got := make(chan push, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if state := r.Header.Get(googlesim.HeaderResourceState); state != "sync" {
			got <- push{r.Header.Get(googlesim.HeaderChannelID), state, b}
		}
	}))
	t.Cleanup(hook.Close)
	for _, w := range []store.Watch{
		{Kind: "admin.directory.users", Params: map[string]string{"customer": "my_customer"}},
		{Kind: "admin.directory.aliases", Params: map[string]string{"userKey": "u1"}},
		{Kind: "admin.reports.activities", Params: map[string]string{"userKey": "all", "applicationName": "login"}},
	} {
		if _, err := a.Watch(context.Background(), w, google.ChannelRequest{ID: w.Kind, Address: hook.URL}); err != nil {
			t.Fatal(err)
		}
	}
	u := sim.EditUser(googlesim.User{ID: "u1", PrimaryEmail: "ann@example.com"}, "update")
	sim.AddAlias("u1", "a@example.com")
	act := sim.RecordActivity("ann@example.com", "login", googlesim.Activity{Events: []string{"login_success"}})
	want := map[string]google.Item{
		"admin.directory.users":    {ID: "u1", Version: u.ETag + "/update"},
		"admin.directory.aliases":  {ID: "a@example.com", Version: `"2"/add`},
		"admin.reports.activities": {ID: fmt.Sprint(act.UniqueQualifier), Version: act.Time.UTC().Format("2006-01-02T15:04:05.000Z")},
	}
	for range want {
		var p push
		select {
		case p = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("a push did not arrive")
		}
		it, err := google.BodyItem(p.kind, p.state, p.body)
		if err != nil {
			t.Fatalf("%s: %v", p.kind, err)
		}
		if it.JSON = nil; !cmp.Equal(want[p.kind], it) {
			t.Errorf("%s: BodyItem = %+v, want %+v", p.kind, it, want[p.kind])
		}
	}
}
