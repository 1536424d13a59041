package googlesim_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

func calendarService(t *testing.T, sim *googlesim.Sim) *calendar.Service {
	t.Helper()
	svc, err := calendar.NewService(context.Background(), opts(sim.URL, "/calendar/v3/")...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func driveService(t *testing.T, sim *googlesim.Sim) *drive.Service {
	t.Helper()
	svc, err := drive.NewService(context.Background(), opts(sim.URL, "/drive/v3/")...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// page is one answer of a list call, in terms common to every kind.
type page struct {
	items              []string // one line per item, as the test renders it
	nextPage, nextSync string
	newStart           string // Drive only
}

// listFunc lists one page of a collection from a sync or page token.
type listFunc func(ctx context.Context, syncToken, pageToken string) (page, error)

// pages lists every page from syncToken (empty: a full list), checking
// that nextPageToken is on every page but the last and nextSyncToken on
// the last only. It returns the items of all pages and the sync token.
func pages(t *testing.T, list listFunc, syncToken string) (items []string, next string, n int) {
	t.Helper()
	ctx := context.Background()
	pageToken := ""
	for n = 1; ; n++ {
		p, err := list(ctx, syncToken, pageToken)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		items = append(items, p.items...)
		if (p.nextPage == "") == (p.nextSync == "") {
			t.Fatalf("page %d: nextPageToken %q, nextSyncToken %q: want exactly one", n, p.nextPage, p.nextSync)
		}
		if p.nextSync != "" {
			return items, p.nextSync, n
		}
		pageToken = p.nextPage
	}
}

func listEvents(svc *calendar.Service, calendarID string, maxResults int64, showDeleted bool) listFunc {
	return func(ctx context.Context, syncToken, pageToken string) (page, error) {
		call := svc.Events.List(calendarID).Context(ctx).SyncToken(syncToken).PageToken(pageToken)
		if maxResults > 0 {
			call = call.MaxResults(maxResults)
		}
		if showDeleted {
			call = call.ShowDeleted(true)
		}
		got, err := call.Do()
		if err != nil {
			return page{}, err
		}
		p := page{nextPage: got.NextPageToken, nextSync: got.NextSyncToken}
		for _, ev := range got.Items {
			if ev.Updated == "" || ev.Etag == "" {
				return page{}, fmt.Errorf("event %s lacks updated or etag: %+v", ev.Id, ev)
			}
			p.items = append(p.items, ev.Id+" "+ev.Status+" "+ev.Summary)
		}
		return p, nil
	}
}

// TestEventsSync proves a full list pages to a nextSyncToken, and a list
// from it returns exactly what changed since, deleted events as
// cancelled.
func TestEventsSync(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{})
	svc := calendarService(t, sim)
	for _, id := range []string{"e1", "e2", "e3", "e4", "e5"} {
		sim.EditEvent("team", googlesim.Event{ID: id, Summary: "v1"})
	}
	if !sim.DeleteEvent("team", "e5") || sim.DeleteEvent("team", "nope") {
		t.Fatal("DeleteEvent: want true for e5, false for an unknown event")
	}
	sim.EditEvent("other", googlesim.Event{ID: "x1", Summary: "elsewhere"})

	// A full list leaves the cancelled event out, in pages of two.
	items, token, n := pages(t, listEvents(svc, "team", 2, false), "")
	want := []string{"e1 confirmed v1", "e2 confirmed v1", "e3 confirmed v1", "e4 confirmed v1"}
	if diff := cmp.Diff(want, items); diff != "" || n != 2 {
		t.Errorf("full list in %d pages (-want +got):\n%s", n, diff)
	}
	// showDeleted lists it, cancelled.
	if items, _, _ := pages(t, listEvents(svc, "team", 0, true), ""); !slices.Contains(items, "e5 cancelled v1") || len(items) != 5 {
		t.Errorf("showDeleted list %v, want e5 cancelled among 5", items)
	}

	sim.EditEvent("team", googlesim.Event{ID: "e2", Summary: "v2"})
	sim.DeleteEvent("team", "e3")
	items, token2, _ := pages(t, listEvents(svc, "team", 0, false), token)
	if diff := cmp.Diff([]string{"e2 confirmed v2", "e3 cancelled v1"}, items); diff != "" {
		t.Errorf("incremental list (-want +got):\n%s", diff)
	}
	// Nothing changed since: no items, and a sync token still.
	if items, _, _ := pages(t, listEvents(svc, "team", 0, false), token2); len(items) != 0 {
		t.Errorf("list with nothing changed: %v", items)
	}
	if st := sim.Stats(); st.ListCalls != 5 { // two pages, then one each
		t.Errorf("ListCalls = %d, want 5", st.ListCalls)
	}
}

// TestEventEditedWhilePaging proves an event edited between two pages of
// a list is not lost: the next sync token brings it.
func TestEventEditedWhilePaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{PageSize: 1}) // the default page size
	svc := calendarService(t, sim)
	for _, id := range []string{"a", "b"} {
		sim.EditEvent("team", googlesim.Event{ID: id, Summary: "v1"})
	}
	list := listEvents(svc, "team", 0, false)
	first, err := list(ctx, "", "")
	if err != nil || first.nextPage == "" {
		t.Fatalf("first page %+v, %v: want a next page", first, err)
	}
	sim.EditEvent("team", googlesim.Event{ID: "b", Summary: "v2"})
	sim.EditEvent("team", googlesim.Event{ID: "c", Summary: "v1"})
	second, err := list(ctx, "", first.nextPage)
	if err != nil || second.nextSync == "" {
		t.Fatalf("second page %+v, %v: want the sync token", second, err)
	}
	items, _, _ := pages(t, list, second.nextSync)
	if diff := cmp.Diff([]string{"b confirmed v2", "c confirmed v1"}, items); diff != "" {
		t.Errorf("after paging, page 2 had %v; the sync brought (-want +got):\n%s", second.items, diff)
	}
}

// TestCalendarCollectionsSync proves calendarList, acl and settings page
// and sync as events do, each showing a deletion its own way.
func TestCalendarCollectionsSync(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		seed   func(*googlesim.Sim)
		change func(*googlesim.Sim)
		list   func(*calendar.Service) listFunc
		full   []string
		synced []string
	}{
		// A deleted calendarList entry is listed with deleted true.
		{"calendarList",
			func(s *googlesim.Sim) {
				for _, id := range []string{"c1", "c2", "c3"} {
					s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: id, Summary: "v1"})
				}
			},
			func(s *googlesim.Sim) {
				s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "c1", Summary: "v2"})
				s.DeleteCalendarListEntry("c2")
			},
			func(svc *calendar.Service) listFunc {
				return func(ctx context.Context, syncToken, pageToken string) (page, error) {
					got, err := svc.CalendarList.List().Context(ctx).SyncToken(syncToken).PageToken(pageToken).Do()
					if err != nil {
						return page{}, err
					}
					p := page{nextPage: got.NextPageToken, nextSync: got.NextSyncToken}
					for _, e := range got.Items {
						p.items = append(p.items, fmt.Sprintf("%s %s deleted=%t", e.Id, e.Summary, e.Deleted))
					}
					return p, nil
				}
			},
			[]string{"c1 v1 deleted=false", "c2 v1 deleted=false", "c3 v1 deleted=false"},
			[]string{"c1 v2 deleted=false", "c2 v1 deleted=true"}},
		// A deleted ACL rule is listed with role none.
		{"acl",
			func(s *googlesim.Sim) {
				for _, u := range []string{"ann", "bob", "cy"} {
					s.EditACLRule("team", googlesim.ACLRule{ID: "user:" + u, Role: "reader", ScopeType: "user", ScopeValue: u + "@example.com"})
				}
			},
			func(s *googlesim.Sim) {
				s.EditACLRule("team", googlesim.ACLRule{ID: "user:ann", Role: "writer", ScopeType: "user", ScopeValue: "ann@example.com"})
				s.DeleteACLRule("team", "user:bob")
			},
			func(svc *calendar.Service) listFunc {
				return func(ctx context.Context, syncToken, pageToken string) (page, error) {
					got, err := svc.Acl.List("team").Context(ctx).SyncToken(syncToken).PageToken(pageToken).Do()
					if err != nil {
						return page{}, err
					}
					p := page{nextPage: got.NextPageToken, nextSync: got.NextSyncToken}
					for _, r := range got.Items {
						p.items = append(p.items, fmt.Sprintf("%s %s %s:%s", r.Id, r.Role, r.Scope.Type, r.Scope.Value))
					}
					return p, nil
				}
			},
			[]string{"user:ann reader user:ann@example.com", "user:bob reader user:bob@example.com", "user:cy reader user:cy@example.com"},
			[]string{"user:ann writer user:ann@example.com", "user:bob none user:bob@example.com"}},
		// Settings change but are never deleted.
		{"settings",
			func(s *googlesim.Sim) {
				for _, id := range []string{"format24HourTime", "locale", "timezone"} {
					s.EditSetting(googlesim.Setting{ID: id, Value: "v1"})
				}
			},
			func(s *googlesim.Sim) { s.EditSetting(googlesim.Setting{ID: "timezone", Value: "Europe/Paris"}) },
			func(svc *calendar.Service) listFunc {
				return func(ctx context.Context, syncToken, pageToken string) (page, error) {
					got, err := svc.Settings.List().Context(ctx).SyncToken(syncToken).PageToken(pageToken).Do()
					if err != nil {
						return page{}, err
					}
					p := page{nextPage: got.NextPageToken, nextSync: got.NextSyncToken}
					for _, st := range got.Items {
						p.items = append(p.items, st.Id+" "+st.Value)
					}
					return p, nil
				}
			},
			[]string{"format24HourTime v1", "locale v1", "timezone v1"},
			[]string{"timezone Europe/Paris"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := start(t, googlesim.Options{PageSize: 2})
			list := tc.list(calendarService(t, sim))
			tc.seed(sim)
			items, token, n := pages(t, list, "")
			if diff := cmp.Diff(tc.full, items); diff != "" || n != 2 {
				t.Errorf("full list in %d pages, want 2 (-want +got):\n%s", n, diff)
			}
			tc.change(sim)
			items, _, _ = pages(t, list, token)
			if diff := cmp.Diff(tc.synced, items); diff != "" {
				t.Errorf("incremental list (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSyncTokenExpired proves ExpireSyncTokens makes an old sync or page
// token answer Calendar's 410 fullSyncRequired, through the typed client,
// and that a fresh full list starts over.
func TestSyncTokenExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	svc := calendarService(t, sim)
	sim.EditEvent("team", googlesim.Event{ID: "a", Summary: "v1"})
	sim.EditEvent("team", googlesim.Event{ID: "b", Summary: "v1"})
	list := listEvents(svc, "team", 1, false)
	first, err := list(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, token, _ := pages(t, list, "")

	sim.ExpireSyncTokens()
	e := wantGoogleError(t, must(list(ctx, token, "")), 410, "fullSyncRequired")
	if e.Message != "Sync token is no longer valid, a full sync is required." || !strings.Contains(e.Body, `"location":"syncToken"`) {
		t.Errorf("410 message %q body %s", e.Message, e.Body)
	}
	wantGoogleError(t, must(list(ctx, "", first.nextPage)), 410, "fullSyncRequired")
	// A token the simulator never made is invalid, not expired.
	wantGoogleError(t, must(list(ctx, "bogus", "")), 400, "invalid")

	items, fresh, _ := pages(t, list, "")
	if len(items) != 2 {
		t.Errorf("fresh full list %v, want both events", items)
	}
	sim.EditEvent("team", googlesim.Event{ID: "a", Summary: "v2"})
	if items, _, _ := pages(t, list, fresh); !slices.Equal(items, []string{"a confirmed v2"}) {
		t.Errorf("sync after the fresh list: %v", items)
	}
}

func listChanges(svc *drive.Service, driveID string, pageSize int64, includeRemoved bool) func(ctx context.Context, token string) (page, error) {
	return func(ctx context.Context, token string) (page, error) {
		call := svc.Changes.List(token).Context(ctx).PageSize(pageSize).IncludeRemoved(includeRemoved)
		if driveID != "" {
			call = call.DriveId(driveID).SupportsAllDrives(true).IncludeItemsFromAllDrives(true)
		}
		got, err := call.Do()
		if err != nil {
			return page{}, err
		}
		p := page{nextPage: got.NextPageToken, newStart: got.NewStartPageToken}
		for _, c := range got.Changes {
			if c.Time == "" {
				return page{}, fmt.Errorf("change of %s has no time", c.FileId)
			}
			if c.Removed != (c.File == nil) {
				return page{}, fmt.Errorf("change of %s: removed %t with file %+v", c.FileId, c.Removed, c.File)
			}
			if c.Removed {
				p.items = append(p.items, c.FileId+" removed")
			} else {
				p.items = append(p.items, fmt.Sprintf("%s %s v%d trashed=%t", c.FileId, c.File.Name, c.File.Version, c.File.Trashed))
			}
		}
		return p, nil
	}
}

// changePages pages through Drive changes from token to the
// newStartPageToken, checking one of the two tokens is on every page.
func changePages(t *testing.T, list func(context.Context, string) (page, error), token string) (items []string, newStart string, n int) {
	t.Helper()
	for n = 1; ; n++ {
		p, err := list(context.Background(), token)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		items = append(items, p.items...)
		if (p.nextPage == "") == (p.newStart == "") {
			t.Fatalf("page %d: nextPageToken %q, newStartPageToken %q: want exactly one", n, p.nextPage, p.newStart)
		}
		if p.newStart != "" {
			return items, p.newStart, n
		}
		token = p.nextPage
	}
}

// TestDriveChanges proves Drive's changes list pages from a start page
// token to a newStartPageToken, lists removals unless includeRemoved is
// false, and keeps a shared drive's changes in its own feed.
func TestDriveChanges(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{})
	svc := driveService(t, sim)
	startTok, err := svc.Changes.GetStartPageToken().Do()
	if err != nil {
		t.Fatal(err)
	}
	shared, err := svc.Changes.GetStartPageToken().DriveId("d1").SupportsAllDrives(true).Do()
	if err != nil {
		t.Fatal(err)
	}
	sim.EditFile(googlesim.File{ID: "a", Name: "A"})
	sim.EditFile(googlesim.File{ID: "b", Name: "B"})
	sim.EditFile(googlesim.File{ID: "a", Name: "A2", Trashed: true})
	if !sim.RemoveFile("b") || sim.RemoveFile("nope") {
		t.Fatal("RemoveFile: want true for b, false for an unknown file")
	}
	sim.EditFile(googlesim.File{ID: "s", DriveID: "d1", Name: "S"})

	items, newStart, n := changePages(t, listChanges(svc, "", 2, true), startTok.StartPageToken)
	want := []string{"a A v1 trashed=false", "b B v1 trashed=false", "a A2 v2 trashed=true", "b removed"}
	if diff := cmp.Diff(want, items); diff != "" || n != 2 {
		t.Errorf("changes in %d pages, want 2 (-want +got):\n%s", n, diff)
	}
	now, err := svc.Changes.GetStartPageToken().Do()
	if err != nil || now.StartPageToken != newStart {
		t.Errorf("start page token %+v, %v; want the newStartPageToken %s", now, err, newStart)
	}
	// Without removals, and from the new start: nothing.
	if items, _, _ := changePages(t, listChanges(svc, "", 10, false), startTok.StartPageToken); len(items) != 3 || slices.Contains(items, "b removed") {
		t.Errorf("changes without removals: %v", items)
	}
	if items, again, _ := changePages(t, listChanges(svc, "", 10, true), newStart); len(items) != 0 || again != newStart {
		t.Errorf("changes from the new start: %v, new start %s (was %s)", items, again, newStart)
	}
	// The shared drive's feed has its own file only.
	if items, _, _ := changePages(t, listChanges(svc, "d1", 10, true), shared.StartPageToken); !slices.Equal(items, []string{"s S v1 trashed=false"}) {
		t.Errorf("shared drive changes: %v", items)
	}
}

// TestDrivePageTokenInvalid proves Drive answers a page token it never
// handed out, or one older than ExpireSyncTokens, with 400 invalid.
func TestDrivePageTokenInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	svc := driveService(t, sim)
	old := startPageToken(t, svc)
	sim.EditFile(googlesim.File{ID: "a", Name: "A"})
	list := listChanges(svc, "", 10, true)
	for _, tc := range []struct {
		name, token string
	}{
		// Not a token Drive makes.
		{"garbage", "garbage"},
		// A token from the future.
		{"future", "999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wantGoogleError(t, must(list(ctx, tc.token)), 400, "invalid")
			if !strings.Contains(e.Body, `"location":"pageToken"`) {
				t.Errorf("body %s, want location pageToken", e.Body)
			}
		})
	}
	sim.ExpireSyncTokens()
	wantGoogleError(t, must(list(ctx, old)), 400, "invalid")
	current := startPageToken(t, svc)
	sim.EditFile(googlesim.File{ID: "a", Name: "A2"})
	if items, _, _ := changePages(t, list, current); !slices.Equal(items, []string{"a A2 v2 trashed=false"}) {
		t.Errorf("changes after expiry from the current token: %v", items)
	}
}

// startPageToken is My Drive's start page token now.
func startPageToken(t *testing.T, svc *drive.Service) string {
	t.Helper()
	tok, err := svc.Changes.GetStartPageToken().Do()
	if err != nil {
		t.Fatal(err)
	}
	return tok.StartPageToken
}

// TestFilesGet proves files.get answers a file as it stands, trashed
// too, and 404 once it is removed.
func TestFilesGet(t *testing.T) {
	t.Parallel()
	clk := newClock()
	sim := start(t, googlesim.Options{Now: clk.Now})
	svc := driveService(t, sim)
	sim.EditFile(googlesim.File{ID: "f1", Name: "Budget"})
	clk.Advance(1)
	stored := sim.EditFile(googlesim.File{ID: "f1", Name: "Budget 2027", Trashed: true})
	got, err := svc.Files.Get("f1").Fields("id,name,trashed,modifiedTime,version").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.Id != "f1" || got.Name != "Budget 2027" || !got.Trashed || got.Version != 2 || got.ModifiedTime != "2026-11-22T08:00:00.000Z" || stored.Version != 2 {
		t.Errorf("files.get %+v (stored %+v)", got, stored)
	}
	sim.RemoveFile("f1")
	e := wantGoogleError(t, must(svc.Files.Get("f1").Do()), 404, "notFound")
	if e.Message != "File not found: f1." {
		t.Errorf("message %q", e.Message)
	}
	wantGoogleError(t, must(svc.Files.Get("never").Do()), 404, "notFound")
	if st := sim.Stats(); st.GetCalls != 3 || st.ListCalls != 0 {
		t.Errorf("GetCalls %d ListCalls %d, want 3 and 0", st.GetCalls, st.ListCalls)
	}
}

// TestEditsPush proves every edit notifies the live channels of its
// resource, and no other, with the state Google sends.
func TestEditsPush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{Sync: googlesim.SyncFirst})
	rcv := newReceiver(t)
	for _, r := range []watchReq{
		{kind: googlesim.KindCalendarEvents, params: map[string]string{"calendarId": "team"}, id: "events"},
		{kind: googlesim.KindCalendarACL, params: map[string]string{"calendarId": "team"}, id: "acl"},
		{kind: googlesim.KindCalendarList, id: "list"},
		{kind: googlesim.KindCalendarSettings, id: "settings"},
		{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "a"}, id: "file"},
		{kind: googlesim.KindDriveChanges, params: map[string]string{"pageToken": "1"}, id: "changes"},
		{kind: googlesim.KindDriveChanges, params: map[string]string{"pageToken": "1", "driveId": "d1"}, id: "shared"},
	} {
		r.address = rcv.URL
		if _, err := watch(ctx, sim.URL, r); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, sim)
	seen := len(rcv.received()) // the sync messages
	for _, tc := range []struct {
		name string
		edit func()
		want []string // "channel state [changed]", sorted
	}{
		// Calendar sends exists for any change of the collection, on its
		// own channels only.
		{"event", func() { sim.EditEvent("team", googlesim.Event{ID: "e1"}) }, []string{"events exists"}},
		{"event elsewhere", func() { sim.EditEvent("other", googlesim.Event{ID: "e1"}) }, nil},
		{"event deleted", func() { sim.DeleteEvent("team", "e1") }, []string{"events exists"}},
		{"acl", func() {
			sim.EditACLRule("team", googlesim.ACLRule{ID: "default", Role: "reader", ScopeType: "default"})
		}, []string{"acl exists"}},
		{"calendarList", func() { sim.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "team"}) }, []string{"list exists"}},
		{"settings", func() { sim.EditSetting(googlesim.Setting{ID: "locale", Value: "fr"}) }, []string{"settings exists"}},
		// Drive: change on the drive's feed, and the file's own state.
		{"file added", func() { sim.EditFile(googlesim.File{ID: "a", Name: "A"}) }, []string{"changes change", "file add"}},
		{"file updated", func() { sim.EditFile(googlesim.File{ID: "a", Name: "B"}, googlesim.Changed("properties")) },
			[]string{"changes change", "file update properties"}},
		{"file trashed", func() { sim.EditFile(googlesim.File{ID: "a", Name: "B", Trashed: true}) }, []string{"changes change", "file trash"}},
		{"file untrashed", func() { sim.EditFile(googlesim.File{ID: "a", Name: "B"}) }, []string{"changes change", "file untrash"}},
		{"file removed", func() { sim.RemoveFile("a") }, []string{"changes change", "file remove"}},
		{"shared drive file", func() { sim.EditFile(googlesim.File{ID: "s", DriveID: "d1"}) }, []string{"shared change"}},
		// A deleted resource gets no notification.
		{"deleted calendar", func() {
			sim.DeleteResource(googlesim.ResourceID(googlesim.KindCalendarEvents, map[string]string{"calendarId": "team"}))
			sim.EditEvent("team", googlesim.Event{ID: "e2"})
		}, nil},
	} {
		tc.edit()
		flush(t, sim)
		rs := rcv.received()
		var got []string
		for _, r := range rs[seen:] {
			got = append(got, strings.TrimSpace(r.Header.Get("X-Goog-Channel-ID")+" "+r.Header.Get("X-Goog-Resource-State")+" "+r.Header.Get("X-Goog-Changed")))
		}
		seen = len(rs)
		slices.Sort(got)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: notifications (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestListFailures proves injected failures reach list and get calls,
// through the typed clients, once each.
func TestListFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		match googlesim.Match
		f     googlesim.Failure
		call  func(*calendar.Service, *drive.Service) error
	}{
		// A 429 on an events list.
		{"events 429", googlesim.Match{Op: googlesim.OpList, Kind: googlesim.KindCalendarEvents}, googlesim.FailTooManyRequests,
			func(c *calendar.Service, _ *drive.Service) error {
				return must(c.Events.List("team").Context(ctx).Do())
			}},
		// A rate-limit 403 on a settings list.
		{"settings 403", googlesim.Match{Op: googlesim.OpList, Kind: googlesim.KindCalendarSettings}, googlesim.FailRateLimit,
			func(c *calendar.Service, _ *drive.Service) error { return must(c.Settings.List().Context(ctx).Do()) }},
		// A 503 on a changes list.
		{"changes 503", googlesim.Match{Op: googlesim.OpList, Kind: googlesim.KindDriveChanges}, googlesim.FailUnavailable,
			func(_ *calendar.Service, d *drive.Service) error { return must(d.Changes.List("1").Context(ctx).Do()) }},
		// A 500 on files.get.
		{"get 500", googlesim.Match{Op: googlesim.OpGet}, googlesim.FailBackend,
			func(_ *calendar.Service, d *drive.Service) error { return must(d.Files.Get("f1").Context(ctx).Do()) }},
		// An injected 410 makes a list without a token look expired.
		{"events 410", googlesim.Match{Op: googlesim.OpList}, googlesim.FailSyncTokenExpired,
			func(c *calendar.Service, _ *drive.Service) error {
				return must(c.Events.List("team").Context(ctx).Do())
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := start(t, googlesim.Options{})
			sim.EditFile(googlesim.File{ID: "f1"})
			c, d := calendarService(t, sim), driveService(t, sim)
			sim.FailNext(1, tc.match, tc.f)
			wantGoogleError(t, tc.call(c, d), tc.f.Code, tc.f.Reason)
			if err := tc.call(c, d); err != nil {
				t.Errorf("second call: %v", err)
			}
			if st := sim.Stats(); st.ListCalls+st.GetCalls != 2 {
				t.Errorf("counted %d list and %d get calls, want 2 in all", st.ListCalls, st.GetCalls)
			}
		})
	}
}
