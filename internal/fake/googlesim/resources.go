package googlesim

import (
	"fmt"
	"time"
)

// The watched resources' items, as far as list and get calls read them,
// and the edits that change them. Every edit records the change and
// notifies every live channel of the resource it belongs to, as Google
// does.

// Event is a Calendar event, as far as the simulator keeps one.
type Event struct {
	ID      string
	Status  string // "confirmed" when empty; "cancelled" once deleted
	Summary string
	Updated time.Time // set by the edit
	ETag    string    // set by the edit
}

// CalendarListEntry is an entry of the user's calendar list.
type CalendarListEntry struct {
	ID      string // the calendar's id
	Summary string
	Hidden  bool      // hidden from the list: listed to a sync token (always) or to showHidden
	Deleted bool      // set by DeleteCalendarListEntry
	ETag    string    // set by the edit
	Updated time.Time // set by the edit; Google does not show it
}

// ACLRule is an access rule of a calendar.
type ACLRule struct {
	ID         string // e.g. "user:ann@example.com"
	Role       string // "none" once deleted
	ScopeType  string // "default", "user", "group" or "domain"
	ScopeValue string
	ETag       string // set by the edit
}

// Setting is one of the user's Calendar settings.
type Setting struct {
	ID    string // e.g. "timezone"
	Value string
	ETag  string // set by the edit
}

// File is a Drive file, as far as the simulator keeps one.
type File struct {
	ID           string
	DriveID      string // the shared drive holding it; "" for My Drive
	Name         string
	Trashed      bool
	ModifiedTime time.Time // set by the edit
	Version      int64     // set by the edit: one more than the last
}

// record is one listed item: its JSON as Google answers it, and the
// change sequence number of its last edit.
type record struct {
	id      string
	seq     int64
	deleted bool
	body    map[string]any
}

// driveChange is one entry of a drive's changes feed.
type driveChange struct {
	number  int64 // the page token that lists it first
	fileID  string
	removed bool
	time    time.Time
	file    *File // a snapshot; nil when removed
}

// model holds what list and get calls read; guarded by Sim.mu.
type model struct {
	seq         int64                         // the last change to any calendar collection
	epoch       int                           // bumped by ExpireSyncTokens; older tokens are expired
	collections map[string]map[string]*record // resource id → item id → item
	files       map[string]*File              // file id → file, until removed
	feeds       map[string][]driveChange      // drive id → changes, oldest first
	driveFloor  map[string]int64              // drive id → lowest page token not expired
	admin       adminData                     // Directory users and aliases (admin.go)
	events      eventsData                    // Workspace Events subscriptions (workspace.go)
}

func newModel() model {
	return model{
		collections: make(map[string]map[string]*record),
		files:       make(map[string]*File),
		feeds:       make(map[string][]driveChange),
		driveFloor:  make(map[string]int64),
	}
}

// rfc3339 is the time format of Google's JSON: UTC, milliseconds.
func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// put records an item of a calendar collection, then notifies the
// collection's channels with state exists, as Calendar does for any
// change; s.mu must be held. It returns the queued notifications, for
// dispatch once s.mu is released.
func (s *Sim) put(kind string, params map[string]string, id string, deleted bool, body func(seq int64) map[string]any) []message {
	s.data.seq++
	rid := ResourceID(kind, params)
	if s.data.collections[rid] == nil {
		s.data.collections[rid] = make(map[string]*record)
	}
	s.data.collections[rid][id] = &record{id: id, seq: s.data.seq, deleted: deleted, body: body(s.data.seq)}
	return s.queue(rid, "exists", pushOptions{}, false)
}

// lookup returns a calendar collection's item; s.mu must be held.
func (s *Sim) lookup(kind string, params map[string]string, id string) *record {
	return s.data.collections[ResourceID(kind, params)][id]
}

func etag(seq int64) string { return fmt.Sprintf(`"%d"`, seq) }

// EditEvent creates or replaces an event of a calendar and notifies the
// calendar's events channels. It returns the event as stored, with its
// new Updated and ETag.
func (s *Sim) EditEvent(calendarID string, ev Event) Event {
	if ev.Status == "" {
		ev.Status = "confirmed"
	}
	s.mu.Lock()
	msgs := s.put(KindCalendarEvents, map[string]string{"calendarId": calendarID}, ev.ID, ev.Status == "cancelled",
		func(seq int64) map[string]any {
			ev.Updated, ev.ETag = s.opts.Now(), etag(seq)
			return eventJSON(ev)
		})
	s.mu.Unlock()
	s.dispatch(msgs)
	return ev
}

// DeleteEvent cancels an event: it stays listed, with status cancelled,
// to a sync token and to showDeleted. It reports false, and changes
// nothing, when the calendar has no such event.
func (s *Sim) DeleteEvent(calendarID, eventID string) bool {
	params := map[string]string{"calendarId": calendarID}
	s.mu.Lock()
	r := s.lookup(KindCalendarEvents, params, eventID)
	if r == nil {
		s.mu.Unlock()
		return false
	}
	ev := Event{ID: eventID, Status: "cancelled", Summary: fmt.Sprint(r.body["summary"])}
	msgs := s.put(KindCalendarEvents, params, eventID, true, func(seq int64) map[string]any {
		ev.Updated, ev.ETag = s.opts.Now(), etag(seq)
		return eventJSON(ev)
	})
	s.mu.Unlock()
	s.dispatch(msgs)
	return true
}

func eventJSON(ev Event) map[string]any {
	return map[string]any{"kind": "calendar#event", "id": ev.ID, "etag": ev.ETag, "status": ev.Status,
		"summary": ev.Summary, "updated": rfc3339(ev.Updated)}
}

// EditCalendarListEntry creates or replaces an entry of the calendar list
// and notifies the calendarList channels.
func (s *Sim) EditCalendarListEntry(e CalendarListEntry) CalendarListEntry {
	s.mu.Lock()
	msgs := s.put(KindCalendarList, map[string]string{}, e.ID, e.Deleted, func(seq int64) map[string]any {
		e.Updated, e.ETag = s.opts.Now(), etag(seq)
		return calendarListJSON(e)
	})
	s.mu.Unlock()
	s.dispatch(msgs)
	return e
}

// DeleteCalendarListEntry removes an entry: it stays listed, with deleted
// true, to a sync token and to showDeleted. It reports false when there
// is no such entry.
func (s *Sim) DeleteCalendarListEntry(id string) bool {
	s.mu.Lock()
	r := s.lookup(KindCalendarList, map[string]string{}, id)
	s.mu.Unlock()
	if r == nil {
		return false
	}
	s.EditCalendarListEntry(CalendarListEntry{ID: id, Summary: fmt.Sprint(r.body["summary"]), Deleted: true})
	return true
}

func calendarListJSON(e CalendarListEntry) map[string]any {
	b := map[string]any{"kind": "calendar#calendarListEntry", "id": e.ID, "etag": e.ETag, "summary": e.Summary}
	if e.Deleted {
		b["deleted"] = true
	}
	if e.Hidden {
		b["hidden"] = true
	}
	return b
}

// EditACLRule creates or replaces an access rule of a calendar and
// notifies the calendar's acl channels.
func (s *Sim) EditACLRule(calendarID string, rule ACLRule) ACLRule {
	s.mu.Lock()
	msgs := s.put(KindCalendarACL, map[string]string{"calendarId": calendarID}, rule.ID, rule.Role == "none",
		func(seq int64) map[string]any {
			rule.ETag = etag(seq)
			return map[string]any{"kind": "calendar#aclRule", "id": rule.ID, "etag": rule.ETag, "role": rule.Role,
				"scope": map[string]string{"type": rule.ScopeType, "value": rule.ScopeValue}}
		})
	s.mu.Unlock()
	s.dispatch(msgs)
	return rule
}

// DeleteACLRule removes an access rule: it stays listed, with role none,
// to a sync token and to showDeleted. It reports false when there is no
// such rule.
func (s *Sim) DeleteACLRule(calendarID, ruleID string) bool {
	s.mu.Lock()
	r := s.lookup(KindCalendarACL, map[string]string{"calendarId": calendarID}, ruleID)
	s.mu.Unlock()
	if r == nil {
		return false
	}
	scope, _ := r.body["scope"].(map[string]string)
	s.EditACLRule(calendarID, ACLRule{ID: ruleID, Role: "none", ScopeType: scope["type"], ScopeValue: scope["value"]})
	return true
}

// EditSetting sets one of the user's Calendar settings and notifies the
// settings channels. Settings cannot be deleted.
func (s *Sim) EditSetting(st Setting) Setting {
	s.mu.Lock()
	msgs := s.put(KindCalendarSettings, map[string]string{}, st.ID, false, func(seq int64) map[string]any {
		st.ETag = etag(seq)
		return map[string]any{"kind": "calendar#setting", "id": st.ID, "etag": st.ETag, "value": st.Value}
	})
	s.mu.Unlock()
	s.dispatch(msgs)
	return st
}

// EditFile creates or replaces a Drive file, appends a change to its
// drive's changes feed, and notifies: the drive's changes channels with
// state change, and the file's channels with add (a new file), trash,
// untrash or update, carrying opts (e.g. Changed("content")). It returns
// the file as stored, with its new ModifiedTime and Version.
func (s *Sim) EditFile(f File, opts ...PushOption) File {
	var o pushOptions
	for _, fn := range opts {
		fn(&o)
	}
	s.mu.Lock()
	old := s.data.files[f.ID]
	state := "update"
	switch {
	case old == nil:
		state = "add"
		f.Version = 1
	case f.Trashed && !old.Trashed:
		state = "trash"
	case !f.Trashed && old.Trashed:
		state = "untrash"
	}
	if old != nil {
		f.Version = old.Version + 1
	}
	f.ModifiedTime = s.opts.Now()
	stored := f
	s.data.files[f.ID] = &stored
	msgs := s.fileChanged(f.DriveID, f.ID, &stored, state, o)
	s.mu.Unlock()
	s.dispatch(msgs)
	return f
}

// RemoveFile deletes a Drive file for good: files.get answers 404, its
// drive's changes feed gets a removal, and its channels a remove. It
// reports false when there is no such file.
func (s *Sim) RemoveFile(fileID string) bool {
	s.mu.Lock()
	f := s.data.files[fileID]
	if f == nil {
		s.mu.Unlock()
		return false
	}
	delete(s.data.files, fileID)
	msgs := s.fileChanged(f.DriveID, fileID, nil, "remove", pushOptions{})
	s.mu.Unlock()
	s.dispatch(msgs)
	return true
}

// fileChanged appends a change to a drive's feed and queues the
// notifications of it; s.mu must be held.
func (s *Sim) fileChanged(driveID, fileID string, f *File, fileState string, o pushOptions) []message {
	s.pageTokens[driveID]++
	c := driveChange{number: s.pageTokens[driveID], fileID: fileID, removed: f == nil, time: s.opts.Now()}
	if f != nil {
		snapshot := *f
		c.file = &snapshot
	}
	s.data.feeds[driveID] = append(s.data.feeds[driveID], c)
	msgs := s.queue(ResourceID(KindDriveChanges, changesParams(driveID)), "change", pushOptions{}, false)
	return append(msgs, s.queue(ResourceID(KindDriveFiles, map[string]string{"fileId": fileID}), fileState, o, false)...)
}

// changesParams are the parameters of a watch on a drive's changes feed:
// My Drive's when driveID is empty.
func changesParams(driveID string) map[string]string {
	if driveID == "" {
		return map[string]string{}
	}
	return map[string]string{"driveId": driveID}
}

func fileJSON(f *File) map[string]any {
	b := map[string]any{"kind": "drive#file", "id": f.ID, "name": f.Name, "trashed": f.Trashed,
		"modifiedTime": rfc3339(f.ModifiedTime), "version": fmt.Sprint(f.Version)}
	if f.DriveID != "" {
		b["driveId"] = f.DriveID
	}
	return b
}

// ExpireSyncTokens makes every token handed out so far stale, as when
// Google drops the history a token points into: a Calendar list with
// such a sync token (or a page token of such a list) is answered 410
// fullSyncRequired, and a Drive changes list with a page token older than
// its drive's current start page token 400 invalid. Lists without a token,
// and tokens handed out afterwards, work as before.
func (s *Sim) ExpireSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.epoch++
	for d, n := range s.pageTokens {
		s.data.driveFloor[d] = n + 1
	}
}
