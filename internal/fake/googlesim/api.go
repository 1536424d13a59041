package googlesim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/internal/wait"
)

// Google's limits on the client's channel fields.
const (
	maxIDLen    = 64
	maxTokenLen = 256
)

const (
	calendarBase = "https://www.googleapis.com/calendar/v3/"
	driveBase    = "https://www.googleapis.com/drive/v3/"
	adminBase    = "https://admin.googleapis.com/"
)

// Events Admin Directory accepts in a watch's event parameter.
var (
	userEvents  = []string{"add", "delete", "makeAdmin", "undelete", "update"}
	aliasEvents = []string{"add", "delete"}
)

// resourceParams extracts a watched resource's parameters from a watch
// request, or a Google-shaped failure for a missing or invalid one.
type resourceParams func(r *http.Request) (map[string]string, *Failure)

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	path := func(names ...string) resourceParams {
		return func(r *http.Request) (map[string]string, *Failure) {
			p := map[string]string{}
			for _, n := range names {
				p[n] = r.PathValue(n)
			}
			return p, nil
		}
	}
	none := func(*http.Request) (map[string]string, *Failure) { return map[string]string{}, nil }

	mux.HandleFunc("POST /calendar/v3/calendars/{calendarId}/events/watch", s.watch(KindCalendarEvents, path("calendarId")))
	mux.HandleFunc("POST /calendar/v3/users/me/calendarList/watch", s.watch(KindCalendarList, none))
	mux.HandleFunc("POST /calendar/v3/calendars/{calendarId}/acl/watch", s.watch(KindCalendarACL, path("calendarId")))
	mux.HandleFunc("POST /calendar/v3/users/me/settings/watch", s.watch(KindCalendarSettings, none))
	mux.HandleFunc("POST /calendar/v3/channels/stop", s.stop("calendar"))
	mux.HandleFunc("GET /calendar/v3/calendars/{calendarId}/events", s.listCalendar(KindCalendarEvents, "calendar#events", maxEventsPage, path("calendarId")))
	mux.HandleFunc("GET /calendar/v3/users/me/calendarList", s.listCalendar(KindCalendarList, "calendar#calendarList", maxListPage, none))
	mux.HandleFunc("GET /calendar/v3/calendars/{calendarId}/acl", s.listCalendar(KindCalendarACL, "calendar#acl", maxListPage, path("calendarId")))
	mux.HandleFunc("GET /calendar/v3/users/me/settings", s.listCalendar(KindCalendarSettings, "calendar#settings", maxListPage, none))

	mux.HandleFunc("POST /drive/v3/files/{fileId}/watch", s.watch(KindDriveFiles, path("fileId")))
	mux.HandleFunc("POST /drive/v3/changes/watch", s.watch(KindDriveChanges, driveChangesParams))
	mux.HandleFunc("GET /drive/v3/changes/startPageToken", s.startPageToken)
	mux.HandleFunc("GET /drive/v3/changes", s.listChanges)
	mux.HandleFunc("GET /drive/v3/files/{fileId}", s.getFile)
	mux.HandleFunc("POST /drive/v3/channels/stop", s.stop("drive"))

	mux.HandleFunc("POST /admin/directory/v1/users/watch", s.watch(KindDirectoryUsers, directoryUsersParams))
	mux.HandleFunc("POST /admin/directory/v1/users/{userKey}/aliases/watch", s.watch(KindDirectoryAliases, directoryAliasesParams))
	mux.HandleFunc("POST /admin/directory_v1/channels/stop", s.stop("admin.directory"))

	mux.HandleFunc("POST /admin/reports/v1/activity/users/{userKey}/applications/{applicationName}/watch",
		s.watch(KindReportsActivities, path("userKey", "applicationName")))
	mux.HandleFunc("POST /admin/reports_v1/channels/stop", s.stop("admin.reports"))
	s.gmailRoutes(mux)
	s.workspaceRoutes(mux)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeFailure(w, Failure{Code: 404, Reason: "notFound", Message: "Not Found"})
	})
	return mux
}

// driveChangesParams: the drive the changes feed is of. The page token a
// changes.watch needs is one of the kind's query rules (rules.go).
func driveChangesParams(r *http.Request) (map[string]string, *Failure) {
	return changesParams(r.URL.Query().Get("driveId")), nil
}

func directoryUsersParams(r *http.Request) (map[string]string, *Failure) {
	q := r.URL.Query()
	p := map[string]string{}
	for _, n := range []string{"customer", "domain", "event"} {
		if v := q.Get(n); v != "" {
			p[n] = v
		}
	}
	if p["customer"] == "" && p["domain"] == "" {
		return nil, &Failure{Code: 400, Reason: "badRequest", Message: "Bad Request"}
	}
	if e, ok := p["event"]; ok && !slices.Contains(userEvents, e) {
		return nil, &Failure{Code: 400, Reason: "invalidParameter", Message: "Invalid value for: event"}
	}
	return p, nil
}

func directoryAliasesParams(r *http.Request) (map[string]string, *Failure) {
	p := map[string]string{"userKey": r.PathValue("userKey")}
	if e := r.URL.Query().Get("event"); e != "" {
		if !slices.Contains(aliasEvents, e) {
			return nil, &Failure{Code: 400, Reason: "invalidParameter", Message: "Invalid value for: event"}
		}
		p["event"] = e
	}
	return p, nil
}

// ResourceID is the opaque id the simulator gives the resource a kind and
// parameters watch: the same for every channel on that resource.
func ResourceID(kind string, params map[string]string) string {
	h := sha256.New()
	io.WriteString(h, kind) //nolint:errcheck // hashes never fail
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, params[k])
	}
	sum := h.Sum(nil)
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// resourceURI is the version-specific URI Google reports for a watch.
func resourceURI(kind string, p map[string]string, q url.Values) string {
	esc := url.PathEscape
	query := func(names ...string) string {
		v := url.Values{"alt": {"json"}}
		for _, n := range names {
			if x := q.Get(n); x != "" {
				v.Set(n, x)
			}
		}
		return "?" + v.Encode()
	}
	switch kind {
	case KindCalendarEvents:
		return calendarBase + "calendars/" + esc(p["calendarId"]) + "/events" + query()
	case KindCalendarList:
		return calendarBase + "users/me/calendarList" + query()
	case KindCalendarACL:
		return calendarBase + "calendars/" + esc(p["calendarId"]) + "/acl" + query()
	case KindCalendarSettings:
		return calendarBase + "users/me/settings" + query()
	case KindDriveFiles:
		return driveBase + "files/" + esc(p["fileId"])
	case KindDriveChanges:
		return driveBase + "changes" + query("driveId", "pageToken")
	case KindDirectoryUsers:
		return adminBase + "admin/directory/v1/users" + query("customer", "domain", "event")
	case KindDirectoryAliases:
		return adminBase + "admin/directory/v1/users/" + esc(p["userKey"]) + "/aliases" + query("event")
	case KindReportsActivities:
		return adminBase + "admin/reports/v1/activity/users/" + esc(p["userKey"]) +
			"/applications/" + esc(p["applicationName"]) + query()
	}
	return ""
}

// apiOf is the API whose channels.stop stops a kind's channels.
func apiOf(kind string) string {
	switch {
	case strings.HasPrefix(kind, "calendar."):
		return "calendar"
	case strings.HasPrefix(kind, "drive."):
		return "drive"
	case strings.HasPrefix(kind, "admin.directory."):
		return "admin.directory"
	case strings.HasPrefix(kind, "admin.reports."):
		return "admin.reports"
	}
	return ""
}

// channelBody is the Channel resource of watch and stop requests and of the
// watch response.
type channelBody struct {
	Kind        string            `json:"kind,omitempty"`
	ID          string            `json:"id,omitempty"`
	ResourceID  string            `json:"resourceId,omitempty"`
	ResourceURI string            `json:"resourceUri,omitempty"`
	Token       string            `json:"token,omitempty"`
	Expiration  millis            `json:"expiration,omitempty"`
	Type        string            `json:"type,omitempty"`
	Address     string            `json:"address,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
}

// millis is milliseconds since the epoch, a JSON string in Google's
// discovery format but accepted as a number too.
type millis int64

func (m millis) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatInt(int64(m), 10))
}

func (m *millis) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*m = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("expiration %s: %w", b, err)
	}
	*m = millis(n)
	return nil
}

func decodeChannel(r *http.Request) (channelBody, *Failure) {
	var c channelBody
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.NewDecoder(bytes.NewReader(body)).Decode(&c)
	}
	if err != nil {
		return c, &Failure{Code: 400, Reason: "parseError", Message: "Parse Error"}
	}
	return c, nil
}

// grant is the expiration granted to a watch: min(requested, now + the
// kind's maximum), or now + the kind's default when nothing is asked.
func grant(kind string, now time.Time, req channelBody) (time.Time, *Failure) {
	lim := Limits[kind]
	var asked time.Time
	if req.Expiration != 0 {
		asked = time.UnixMilli(int64(req.Expiration))
	}
	if ttl, ok := req.Params["ttl"]; ok {
		sec, err := strconv.ParseInt(ttl, 10, 64)
		if err != nil || sec <= 0 {
			return time.Time{}, &Failure{Code: 400, Reason: "invalid", Message: "Invalid value for: params.ttl"}
		}
		if t := now.Add(time.Duration(sec) * time.Second); asked.IsZero() || t.Before(asked) {
			asked = t
		}
	}
	if asked.IsZero() {
		return now.Add(lim.Default).Truncate(time.Millisecond), nil
	}
	if !asked.After(now) {
		return time.Time{}, &Failure{Code: 400, Reason: "invalid", Message: "Invalid expiration: must be in the future"}
	}
	if max := now.Add(lim.Max); asked.After(max) {
		asked = max
	}
	return asked.Truncate(time.Millisecond), nil
}

func (s *Sim) stop(api string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if wait.Sleep(r.Context(), s.opts.Latency) != nil {
			return
		}
		req, bad := decodeChannel(r)
		call := Call{Op: OpStop, ResourceID: req.ResourceID, ChannelID: req.ID, Subject: subjectOf(r), Path: r.URL.Path}
		if !s.await(w, r, call) {
			return
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		s.stats.StopCalls++
		c := s.channels[req.ID]
		if c != nil {
			call.Kind = c.Kind
		}
		if f, failed := s.injected(call); failed {
			writeFailure(w, f)
			return
		}
		if bad != nil {
			writeFailure(w, *bad)
			return
		}
		// Google keeps a channel to the principal that opened it: a stop
		// by anyone else finds no such channel.
		if c == nil || apiOf(c.Kind) != api || c.ResourceID != req.ResourceID || c.Subject != call.Subject || !c.live(s.opts.Now()) {
			writeFailure(w, Failure{Code: 404, Reason: "notFound", Message: "Channel not found"})
			return
		}
		c.StoppedAt = s.opts.Now()
		s.stats.StopOK++
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Sim) startPageToken(w http.ResponseWriter, r *http.Request) {
	if wait.Sleep(r.Context(), s.opts.Latency) != nil {
		return
	}
	driveID := r.URL.Query().Get("driveId")
	call := Call{Op: OpStartPageToken, Kind: KindDriveChanges, ResourceID: ResourceID(KindDriveChanges, changesParams(driveID)),
		Subject: subjectOf(r), Path: r.URL.Path}
	if !s.await(w, r, call) {
		return
	}

	s.mu.Lock()
	s.stats.PageTokenCalls++
	f, failed := s.injected(call)
	gone := s.deleted[call.ResourceID]
	token := s.pageTokens[driveID] + 1
	s.mu.Unlock()
	switch {
	case failed:
		writeFailure(w, f)
		return
	case gone:
		writeFailure(w, FailNotFound)
		return
	}
	writeJSON(w, map[string]string{"kind": "drive#startPageToken", "startPageToken": strconv.FormatInt(token, 10)})
}
