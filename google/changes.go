package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/watchrelay/watchrelay/store"
)

// The read side of every kind: what changed on a watched resource since a
// cursor, read through the kind's typed client (docs/DESIGN.md, "Changes:
// events that carry what changed"). The admin kinds have no read: their
// notification body is the changed resource (body.go).

// Errors of the read side.
var (
	// ErrCursorExpired: the watch's cursor is no longer valid (Calendar
	// 410 fullSyncRequired "Sync token is no longer valid", Drive 400
	// invalid page token): the caller takes a fresh baseline. It wraps
	// Google's *googleapi.Error, so errors.Is and errors.As both work.
	ErrCursorExpired = errors.New("google: cursor expired")
	// ErrNoReads: the kind's changes come in the notification body (the
	// admin kinds), not through a read.
	ErrNoReads = errors.New("google: kind has no change reads")
)

// Item is one changed item.
type Item struct {
	// ID is the event id, the calendarList, acl or setting entry id, the
	// Drive fileId (driveId for a drive change), or the admin resource id
	// (the alias email for an alias).
	ID      string
	Removed bool // deleted, cancelled or removed
	// Version is deterministic for this version of the item (etag, Drive
	// change time, file version, activity time): the event id is built
	// from watch, item and version, so a replayed page dedupes.
	Version string
	// JSON is the API's own JSON for the resource, as the typed client
	// returns it; nil for a removed item that carries none.
	JSON json.RawMessage
}

// ReadRequest asks for one page.
type ReadRequest struct {
	Cursor string // the watch's cursor; "" = baseline read
	Page   string // page token within this read; "" = first page
	// StartPageToken, drive.changes only: where the feed starts when
	// Cursor is "" (the pageToken of the channel's resource URI, see
	// PageTokenOfURI); "" = ask changes.getStartPageToken.
	StartPageToken string
}

// Page is one page of a read.
type Page struct {
	Items []Item
	// Next is the page token of the next page of this read; "" on the
	// last page.
	Next string
	// Cursor is the cursor to keep, set on the last page only
	// (nextSyncToken, newStartPageToken, a file's version).
	Cursor string
	// Resume, when set, is a cursor from which the read can restart after
	// this page (Drive: the next page token is itself a valid cursor;
	// Gmail: the page's last history record). When it is not (Calendar),
	// the read restarts at Next with the cursor it began from. The caller
	// keeps one or the other after publishing the page, so a read cut off
	// by its budget or a crash goes on from there (ResumeAt).
	Resume string
	// Snapshot: the items are the baseline state (a read with no cursor of
	// a Calendar collection, or drive.files' first get), to publish only
	// if the watch asks for a snapshot. False when they are changes.
	Snapshot bool
}

// ResumeAt is where a read from `from` stands once page p is published:
// the cursor p ends the read at, or the cursor p resumes from, or, for a
// page that is neither, the next page of the read from `from`.
func ResumeAt(from store.Position, p Page) store.Position {
	switch {
	case p.Next == "" && p.Cursor != "":
		return store.Position{Token: p.Cursor}
	case p.Next == "":
		return store.Position{Token: from.Token} // no cursor sent: keep the one read from
	case p.Resume != "":
		return store.Position{Token: p.Resume}
	}
	return store.Position{Token: from.Token, Page: p.Next}
}

// Google's largest page sizes: fewer calls per storm.
const (
	maxEventsPage = 2500 // events.list maxResults
	maxListPage   = 250  // calendarList, acl and settings maxResults
	maxDrivePage  = 1000 // changes.list pageSize
)

// removedVersion is the cursor and version of a drive.files watch whose
// file is gone for good.
const removedVersion = "removed"

// reader reads one page of a kind's changes.
type reader func(ctx context.Context, c clients, p map[string]string, req ReadRequest) (Page, error)

// readers holds the read of every kind that has one; the admin kinds are
// in bodyKinds instead. A test checks that every kind is in exactly one.
var readers = map[string]reader{
	"calendar.events":       readEvents,
	"calendar.calendarList": readCalendarList,
	"calendar.acl":          readACL,
	"calendar.settings":     readSettings,
	"drive.changes":         readDriveChanges,
	"drive.files":           readDriveFile,
}

// Reads reports whether a kind's changes are read through its API, so that
// a watch of it keeps a cursor. The admin kinds' changes are their
// notification bodies (FromBody), and a Workspace Events subscription's
// events carry their resource themselves: neither has a read.
func Reads(kind string) bool {
	_, ok := readers[kind]
	return ok
}

// ReadChanges reads one page of what changed on w's resource since
// req.Cursor, through the kind's typed client, asking for Google's largest
// page. Errors are *CallError (Op "read") with Google's error in the
// chain, so Classify and Reason work as they do for Watch; an expired
// cursor is ErrCursorExpired; an admin kind is ErrNoReads.
func (a *APIs) ReadChanges(ctx context.Context, w store.Watch, req ReadRequest) (Page, error) {
	k, ok := kinds[w.Kind]
	if !ok {
		return Page{}, &CallError{Op: "read", Kind: w.Kind, Err: fmt.Errorf("%w %q", ErrUnknownKind, w.Kind)}
	}
	read := readers[k.Name]
	if read == nil {
		return Page{}, &CallError{Op: "read", Kind: k.Name, Err: fmt.Errorf("%w: %s", ErrNoReads, k.Name)}
	}
	fail := func(err error) (Page, error) {
		return Page{}, &CallError{Op: "read", Kind: k.Name, Subject: w.Subject, Scopes: k.Scopes, Err: err}
	}
	c, err := a.clients(ctx, k.API, w.Subject, k.Scopes)
	if err != nil {
		return fail(err)
	}
	p, err := read(ctx, c, w.Params, req)
	if err != nil {
		return fail(expired(k.API, req, err))
	}
	return p, nil
}

// expired marks err as ErrCursorExpired when Google says the read's token
// is no longer honoured, keeping Google's error in the chain. Calendar
// answers an old sync or page token 410 (fullSyncRequired); a 410 on a read
// that carried no token cannot be about one. Drive answers an old page
// token 400 invalid, located at pageToken.
func expired(api string, req ReadRequest, err error) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return err
	}
	tokened := req.Cursor != "" || req.Page != ""
	switch {
	case api == APICalendar && ge.Code == 410 && (tokened || has(ge, "fullSyncRequired")):
	case api == APIDrive && ge.Code == 400 && (strings.Contains(ge.Body, `"pageToken"`) ||
		strings.Contains(strings.ToLower(ge.Message), "page token")):
	default:
		return err
	}
	return fmt.Errorf("%w: %w", ErrCursorExpired, err)
}

// has reports whether one of ge's reasons is reason.
func has(ge *googleapi.Error, reason string) bool {
	for _, r := range apiReasons(ge) {
		if r == reason {
			return true
		}
	}
	return false
}

// tokens sets a Calendar list's sync and page tokens from req: the sync
// token on every page of an incremental read, as Google requires the same
// parameters on every page.
func tokens[C any](req ReadRequest, sync, page func(string) C) {
	if req.Cursor != "" {
		sync(req.Cursor)
	}
	if req.Page != "" {
		page(req.Page)
	}
}

// calendarPage assembles a page of a Calendar list. The last page's
// nextSyncToken becomes the cursor; Google always sends one, and should it
// not, the cursor stays as it was rather than becoming a guess.
func calendarPage(req ReadRequest, items []Item, next, sync string) Page {
	p := Page{Items: items, Next: next, Snapshot: req.Cursor == ""}
	if next == "" {
		p.Cursor = sync
		if sync == "" {
			p.Cursor = req.Cursor
		}
	}
	return p
}

// item builds an Item with the typed client's JSON of v.
func item(id string, removed bool, version string, v any) (Item, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Item{}, fmt.Errorf("google: encode item %s: %w", id, err)
	}
	return Item{ID: id, Removed: removed, Version: version, JSON: b}, nil
}

func readEvents(ctx context.Context, c clients, p map[string]string, req ReadRequest) (Page, error) {
	call := c.calendar.Events.List(p["calendarId"]).MaxResults(maxEventsPage).Context(ctx)
	if v := p["eventTypes"]; v != "" {
		call.EventTypes(splitList(v)...)
	}
	tokens(req, call.SyncToken, call.PageToken)
	r, err := call.Do()
	if err != nil {
		return Page{}, err
	}
	return calendarItems(req, r.Items, func(e *calendar.Event) (string, bool, string) {
		return e.Id, e.Status == "cancelled", e.Etag
	}, r.NextPageToken, r.NextSyncToken)
}

// readCalendarList lists the calendar list. Every read asks what the
// reads of a sync token list, whatever the watch's params (they shape its
// watch call only): with a sync token Google always lists hidden and
// deleted entries, refuses showHidden or showDeleted false beside one, and
// refuses minAccessRole. So the baseline asks showHidden, to hold every
// calendar a later read may report as changed, and no showDeleted: a
// deleted entry is no part of the list, and comes to later reads as a
// removal. The incremental reads ask the same (true is allowed beside a
// token), so every page of a watch's reads is the same request.
func readCalendarList(ctx context.Context, c clients, _ map[string]string, req ReadRequest) (Page, error) {
	call := c.calendar.CalendarList.List().MaxResults(maxListPage).ShowHidden(true).Context(ctx)
	tokens(req, call.SyncToken, call.PageToken)
	r, err := call.Do()
	if err != nil {
		return Page{}, err
	}
	return calendarItems(req, r.Items, func(e *calendar.CalendarListEntry) (string, bool, string) {
		return e.Id, e.Deleted, e.Etag
	}, r.NextPageToken, r.NextSyncToken)
}

// readACL lists a calendar's access rules. As readCalendarList does, it
// asks what the reads of a sync token list, whatever the watch's
// showDeleted: none, so the baseline holds the rules in force, and a rule
// deleted later comes as a removal (Google lists deleted rules to a sync
// token always, and refuses showDeleted false beside one).
func readACL(ctx context.Context, c clients, p map[string]string, req ReadRequest) (Page, error) {
	call := c.calendar.Acl.List(p["calendarId"]).MaxResults(maxListPage).Context(ctx)
	tokens(req, call.SyncToken, call.PageToken)
	r, err := call.Do()
	if err != nil {
		return Page{}, err
	}
	return calendarItems(req, r.Items, func(a *calendar.AclRule) (string, bool, string) {
		return a.Id, a.Role == "none", a.Etag
	}, r.NextPageToken, r.NextSyncToken)
}

func readSettings(ctx context.Context, c clients, _ map[string]string, req ReadRequest) (Page, error) {
	call := c.calendar.Settings.List().MaxResults(maxListPage).Context(ctx)
	tokens(req, call.SyncToken, call.PageToken)
	r, err := call.Do()
	if err != nil {
		return Page{}, err
	}
	return calendarItems(req, r.Items, func(s *calendar.Setting) (string, bool, string) {
		return s.Id, false, s.Etag
	}, r.NextPageToken, r.NextSyncToken)
}

// calendarItems turns a Calendar list's items into a page; of says each
// item's id, whether it is removed, and its etag.
func calendarItems[T any](req ReadRequest, in []T, of func(T) (string, bool, string), next, sync string) (Page, error) {
	items := make([]Item, 0, len(in))
	for _, v := range in {
		id, removed, etag := of(v)
		it, err := item(id, removed, etag, v)
		if err != nil {
			return Page{}, err
		}
		items = append(items, it)
	}
	return calendarPage(req, items, next, sync), nil
}

// readDriveChanges reads a drive's changes feed from the cursor, a page
// token. Every next page token is itself a cursor, so it is also Resume.
func readDriveChanges(ctx context.Context, c clients, p map[string]string, req ReadRequest) (Page, error) {
	driveID := p["driveId"]
	token := req.Page
	for _, t := range []string{req.Cursor, req.StartPageToken} {
		if token == "" {
			token = t
		}
	}
	if token == "" {
		var err error
		if token, err = startPageToken(ctx, c, driveID); err != nil {
			return Page{}, err
		}
	}
	r, err := driveChangesCall(ctx, c, p, token).Do()
	if err != nil {
		return Page{}, err
	}
	page := Page{Next: r.NextPageToken, Resume: r.NextPageToken, Items: make([]Item, 0, len(r.Changes))}
	if r.NextPageToken == "" {
		page.Cursor = r.NewStartPageToken
	}
	for _, ch := range r.Changes {
		id, v := ch.FileId, any(ch.File)
		if ch.ChangeType == "drive" {
			id, v = ch.DriveId, ch.Drive
		}
		it := Item{ID: id, Removed: ch.Removed, Version: ch.Time}
		if !ch.Removed && !isNil(v) {
			if it, err = item(id, false, ch.Time, v); err != nil {
				return Page{}, err
			}
		}
		page.Items = append(page.Items, it)
	}
	return page, nil
}

// isNil reports whether v holds a nil *drive.File or *drive.Drive.
func isNil(v any) bool {
	switch x := v.(type) {
	case *drive.File:
		return x == nil
	case *drive.Drive:
		return x == nil
	}
	return v == nil
}

// driveChangesCall is changes.list with the parameters the watch call
// used (feed), so the read lists the feed the channel watches. includeRemoved is Google's default, true, unless the watch
// turns it off; fields "*" returns whole files, not Drive's four default
// fields.
func driveChangesCall(ctx context.Context, c clients, p map[string]string, token string) *drive.ChangesListCall {
	call := c.drive.Changes.List(token).PageSize(maxDrivePage).IncludeRemoved(true).Fields("*").Context(ctx)
	feed(call, p)
	return call
}

// readDriveFile gets the watched file; the cursor is its version, so a
// notification that changed nothing the version counts reads no item. A
// 404 is the file removed for good: one removal, then nothing.
func readDriveFile(ctx context.Context, c clients, p map[string]string, req ReadRequest) (Page, error) {
	id := p["fileId"]
	// supportsAllDrives: as on the watch, or a shared drive's file is 404.
	f, err := c.drive.Files.Get(id).SupportsAllDrives(true).Fields("*").Context(ctx).Do()
	switch {
	case IsNotFound(err) && req.Cursor == removedVersion:
		return Page{Cursor: removedVersion}, nil
	case IsNotFound(err):
		gone := Item{ID: id, Removed: true, Version: removedVersion}
		return Page{Items: []Item{gone}, Cursor: removedVersion, Snapshot: req.Cursor == ""}, nil
	case err != nil:
		return Page{}, err
	}
	v := strconv.FormatInt(f.Version, 10)
	if v == req.Cursor {
		return Page{Cursor: v}, nil
	}
	it, err := item(id, false, v, f)
	if err != nil {
		return Page{}, err
	}
	return Page{Items: []Item{it}, Cursor: v, Snapshot: req.Cursor == ""}, nil
}

// PageTokenOfURI returns the pageToken query parameter of a resource URI
// (a drive.changes channel's X-Goog-Resource-URI carries the page token
// its watch call used), or "".
func PageTokenOfURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return u.Query().Get("pageToken")
}
