package googlesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/watchrelay/watchrelay/internal/wait"
)

// The read side: Calendar's list calls with sync and page tokens, Drive's
// changes list and files.get, answered from the items edits made.

// Google's largest page sizes.
const (
	maxEventsPage = 2500 // events.list maxResults
	maxListPage   = 250  // calendarList, acl and settings list maxResults
	maxDrivePage  = 1000 // changes.list pageSize
)

// listCalendar serves the list call of a Calendar collection: kind is the
// watch kind of the collection, listKind the response's kind.
func (s *Sim) listCalendar(kind, listKind string, maxPage int, params resourceParams) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if wait.Sleep(r.Context(), s.opts.Latency) != nil {
			return
		}
		p, _ := params(r) // path parameters: never refused
		call := Call{Op: OpList, Kind: kind, ResourceID: ResourceID(kind, p), Subject: subjectOf(r), Path: r.URL.Path}
		if !s.await(w, r, call) {
			return
		}
		s.mu.Lock()
		s.stats.ListCalls++
		body, f := s.calendarPage(call, r.URL.Query(), maxPage)
		s.mu.Unlock()
		if f != nil {
			writeFailure(w, *f)
			return
		}
		body["kind"] = listKind
		if kind == KindCalendarEvents {
			body["summary"] = p["calendarId"]
		}
		writeJSON(w, body)
	}
}

// calendarPage answers one page of a Calendar list; s.mu must be held.
// Items go in id order from the cursor, those edited since the list's
// first page are left to the next sync token, and deleted ones are listed
// to a sync token (always) or to showDeleted, hidden calendarList entries
// to a sync token or to showHidden.
func (s *Sim) calendarPage(call Call, q url.Values, maxPage int) (map[string]any, *Failure) {
	if f, failed := s.injected(call); failed {
		return nil, &f
	}
	if s.deleted[call.ResourceID] {
		return nil, &FailNotFound
	}
	if f := refuseQuery(call.Kind, q); f != nil {
		return nil, f
	}
	size := pageSize(q, "maxResults", s.opts.PageSize, maxPage)
	cur, f := s.calendarCursor(q)
	if f != nil {
		return nil, f
	}
	withDeleted := cur.incremental || q.Get("showDeleted") == "true"
	withHidden := cur.incremental || q.Get("showHidden") == "true"
	var page []*record
	for _, rec := range s.data.collections[call.ResourceID] {
		hidden, _ := rec.body["hidden"].(bool)
		if rec.id > cur.after && rec.seq > cur.since && rec.seq <= cur.upto && (withDeleted || !rec.deleted) &&
			(withHidden || !hidden) {
			page = append(page, rec)
		}
	}
	slices.SortFunc(page, func(a, b *record) int { return strings.Compare(a.id, b.id) })
	body := map[string]any{"etag": etag(cur.upto)}
	if len(page) > size {
		page = page[:size]
		cur.after = page[len(page)-1].id
		body["nextPageToken"] = cur.pageToken()
	} else {
		body["nextSyncToken"] = cur.syncToken()
	}
	items := make([]map[string]any, len(page))
	for i, rec := range page {
		items[i] = rec.body
	}
	body["items"] = items
	return body, nil
}

// calendarCursor is where a Calendar list starts: a page token, a sync
// token, or the whole collection as it stands; s.mu must be held.
func (s *Sim) calendarCursor(q url.Values) (cursor, *Failure) {
	if tok := q.Get("pageToken"); tok != "" {
		cur, ok := parsePageToken(tok)
		switch {
		case !ok || cur.upto > s.data.seq:
			return cursor{}, &Failure{Code: 400, Reason: "invalid", Message: "Invalid Value", Location: "pageToken"}
		case cur.epoch != s.data.epoch:
			return cursor{}, &FailSyncTokenExpired
		}
		return cur, nil
	}
	if tok := q.Get("syncToken"); tok != "" {
		cur, ok := parseSyncToken(tok)
		switch {
		case !ok || cur.since > s.data.seq:
			return cursor{}, &Failure{Code: 400, Reason: "invalid", Message: "Invalid Value", Location: "syncToken"}
		case cur.epoch != s.data.epoch:
			return cursor{}, &FailSyncTokenExpired
		}
		cur.upto = s.data.seq
		return cur, nil
	}
	return cursor{epoch: s.data.epoch, upto: s.data.seq}, nil
}

// listChanges serves Drive's changes.list: the drive's changes from the
// page token on, oldest first, with nextPageToken while more remain and
// newStartPageToken on the last page.
func (s *Sim) listChanges(w http.ResponseWriter, r *http.Request) {
	if wait.Sleep(r.Context(), s.opts.Latency) != nil {
		return
	}
	q := r.URL.Query()
	driveID := q.Get("driveId")
	call := Call{Op: OpList, Kind: KindDriveChanges, ResourceID: ResourceID(KindDriveChanges, changesParams(driveID)),
		Subject: subjectOf(r), Path: r.URL.Path}
	if !s.await(w, r, call) {
		return
	}
	s.mu.Lock()
	s.stats.ListCalls++
	body, f := s.changesPage(call, driveID, q)
	s.mu.Unlock()
	if f != nil {
		writeFailure(w, *f)
		return
	}
	writeJSON(w, body)
}

// changesPage answers one page of a drive's changes; s.mu must be held.
func (s *Sim) changesPage(call Call, driveID string, q url.Values) (map[string]any, *Failure) {
	if f, failed := s.injected(call); failed {
		return nil, &f
	}
	if s.deleted[call.ResourceID] {
		return nil, &FailNotFound
	}
	if f := refuseQuery(KindDriveChanges, q); f != nil {
		return nil, f
	}
	size := pageSize(q, "pageSize", s.opts.PageSize, maxDrivePage)
	from, err := strconv.ParseInt(q.Get("pageToken"), 10, 64)
	last := s.pageTokens[driveID]
	if err != nil || from < max(1, s.data.driveFloor[driveID]) || from > last+1 {
		return nil, &FailInvalidPageToken
	}
	withRemoved := q.Get("includeRemoved") != "false" // Google's default is true
	changes := []map[string]any{}
	body := map[string]any{"kind": "drive#changeList"}
	for _, c := range s.data.feeds[driveID] {
		if c.number < from || (c.removed && !withRemoved) {
			continue
		}
		if len(changes) == size {
			body["nextPageToken"] = strconv.FormatInt(c.number, 10)
			break
		}
		changes = append(changes, changeJSON(c, driveID))
	}
	if _, more := body["nextPageToken"]; !more {
		body["newStartPageToken"] = strconv.FormatInt(last+1, 10)
	}
	body["changes"] = changes
	return body, nil
}

func changeJSON(c driveChange, driveID string) map[string]any {
	b := map[string]any{"kind": "drive#change", "changeType": "file", "fileId": c.fileID, "removed": c.removed,
		"time": rfc3339(c.time)}
	if c.file != nil {
		b["file"] = fileJSON(c.file)
	}
	if driveID != "" {
		b["driveId"] = driveID
	}
	return b
}

// getFile serves Drive's files.get: the file as it stands, trashed or
// not, or 404 once removed. The fields parameter is ignored.
func (s *Sim) getFile(w http.ResponseWriter, r *http.Request) {
	if wait.Sleep(r.Context(), s.opts.Latency) != nil {
		return
	}
	id := r.PathValue("fileId")
	call := Call{Op: OpGet, Kind: KindDriveFiles, ResourceID: ResourceID(KindDriveFiles, map[string]string{"fileId": id}),
		Subject: subjectOf(r), Path: r.URL.Path}
	if !s.await(w, r, call) {
		return
	}
	s.mu.Lock()
	s.stats.GetCalls++
	f, failed := s.injected(call)
	file := s.data.files[id]
	var body map[string]any
	if file != nil && !s.deleted[call.ResourceID] {
		body = fileJSON(file)
	}
	s.mu.Unlock()
	switch {
	case failed:
		writeFailure(w, f)
	case body == nil:
		writeFailure(w, Failure{Code: 404, Reason: "notFound", Message: "File not found: " + id + ".", Location: "fileId"})
	default:
		writeJSON(w, body)
	}
}

func writeJSON(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(body) //nolint:errcheck // the client went away
}
