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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// request is one call the fake Google received.
type request struct {
	Method string
	Path   string
	Query  url.Values
}

// recorder is a fake Google that records every call and answers like the
// real one: a Channel for a watch, a start page token, 204 for a stop.
type recorder struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []request
	bodies []map[string]any
	auths  []string // each call's Authorization header
	// grant answers a watch: the expiration to grant (ms, as Google's
	// string), or "" to leave it out.
	grant func(asked string) string
	// fail, when set, answers every call with this status and JSON body.
	failStatus int
	failBody   string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{t: t, grant: func(asked string) string { return asked }}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	q.Del("alt")
	q.Del("prettyPrint")
	if len(q) == 0 {
		q = nil
	}
	var body map[string]any
	if b, _ := io.ReadAll(req.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			r.t.Errorf("%s %s: body is not JSON: %v", req.Method, req.URL.Path, err)
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, request{Method: req.Method, Path: req.URL.Path, Query: q})
	r.bodies = append(r.bodies, body)
	r.auths = append(r.auths, req.Header.Get("Authorization"))
	r.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.failStatus != 0:
		w.WriteHeader(r.failStatus)
		io.WriteString(w, r.failBody)
	case strings.HasSuffix(req.URL.Path, "/channels/stop"):
		w.WriteHeader(http.StatusNoContent)
	case strings.HasSuffix(req.URL.Path, "/changes/startPageToken"):
		io.WriteString(w, `{"kind":"drive#startPageToken","startPageToken":"42"}`)
	default:
		resp := map[string]any{
			"kind":        "api#channel",
			"id":          body["id"],
			"resourceId":  "res-1",
			"resourceUri": "https://www.googleapis.com" + req.URL.Path,
		}
		if exp := r.grant(fmt.Sprint(body["expiration"])); exp != "" {
			resp["expiration"] = exp
		}
		json.NewEncoder(w).Encode(resp)
	}
}

func (r *recorder) requests() ([]request, []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.calls...), append([]map[string]any(nil), r.bodies...)
}

// newTestAPIs returns adapters talking to base without credentials, with
// a fixed clock.
func newTestAPIs(t *testing.T, base string, now time.Time) *google.APIs {
	t.Helper()
	a, err := google.NewAPIs(context.Background(), google.APIConfig{BaseURL: base, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// kindCase is one kind's watch and stop as Google's real paths show them.
type kindCase struct {
	name   string
	kind   string
	params map[string]string
	calls  []request // what Watch sends, in order
	stop   string    // the channels.stop path
	ttl    bool      // whether params.ttl is sent
}

// q builds a query.
func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func post(path string, query url.Values) request {
	return request{Method: http.MethodPost, Path: path, Query: query}
}

var kindCases = []kindCase{
	{
		name: "calendar events with event types", kind: "calendar.events",
		params: map[string]string{"calendarId": "c1", "eventTypes": "default, focusTime"},
		calls:  []request{post("/calendar/v3/calendars/c1/events/watch", q("eventTypes", "default", "eventTypes", "focusTime"))},
		stop:   "/calendar/v3/channels/stop", ttl: true,
	},
	{
		name: "calendar list with filters", kind: "calendar.calendarList",
		params: map[string]string{"minAccessRole": "owner", "showHidden": "true"},
		calls:  []request{post("/calendar/v3/users/me/calendarList/watch", q("minAccessRole", "owner", "showHidden", "true"))},
		stop:   "/calendar/v3/channels/stop", ttl: true,
	},
	{
		name: "calendar acl of a group calendar", kind: "calendar.acl",
		params: map[string]string{"calendarId": "team@group.calendar.google.com"},
		calls:  []request{post("/calendar/v3/calendars/team@group.calendar.google.com/acl/watch", nil)},
		stop:   "/calendar/v3/channels/stop", ttl: true,
	},
	{
		name: "calendar settings", kind: "calendar.settings",
		calls: []request{post("/calendar/v3/users/me/settings/watch", nil)},
		stop:  "/calendar/v3/channels/stop", ttl: true,
	},
	{
		name: "drive file, shared drives supported", kind: "drive.files",
		params: map[string]string{"fileId": "f1"},
		calls:  []request{post("/drive/v3/files/f1/watch", q("supportsAllDrives", "true"))},
		stop:   "/drive/v3/channels/stop",
	},
	{
		name: "drive changes of My Drive", kind: "drive.changes",
		calls: []request{
			{Method: http.MethodGet, Path: "/drive/v3/changes/startPageToken"},
			post("/drive/v3/changes/watch", q("pageToken", "42")),
		},
		stop: "/drive/v3/channels/stop",
	},
	{
		name: "drive changes of a shared drive", kind: "drive.changes",
		params: map[string]string{"driveId": "d1", "spaces": "drive", "includeRemoved": "false"},
		calls: []request{
			{Method: http.MethodGet, Path: "/drive/v3/changes/startPageToken", Query: q("driveId", "d1", "supportsAllDrives", "true")},
			post("/drive/v3/changes/watch", q("pageToken", "42", "driveId", "d1", "supportsAllDrives", "true",
				"includeItemsFromAllDrives", "true", "spaces", "drive", "includeRemoved", "false")),
		},
		stop: "/drive/v3/channels/stop",
	},
	{
		name: "directory users of a customer", kind: "admin.directory.users",
		params: map[string]string{"customer": "my_customer", "event": "add"},
		calls:  []request{post("/admin/directory/v1/users/watch", q("customer", "my_customer", "event", "add"))},
		stop:   "/admin/directory_v1/channels/stop", ttl: true,
	},
	{
		name: "directory users of a domain", kind: "admin.directory.users",
		params: map[string]string{"domain": "example.com", "viewType": "domain_public"},
		calls:  []request{post("/admin/directory/v1/users/watch", q("domain", "example.com", "viewType", "domain_public"))},
		stop:   "/admin/directory_v1/channels/stop", ttl: true,
	},
	{
		name: "directory aliases of a user", kind: "admin.directory.aliases",
		params: map[string]string{"userKey": "ann@example.com", "event": "delete"},
		calls:  []request{post("/admin/directory/v1/users/ann@example.com/aliases/watch", q("event", "delete"))},
		stop:   "/admin/directory_v1/channels/stop", ttl: true,
	},
	{
		name: "reports activities of Drive for all users", kind: "admin.reports.activities",
		params: map[string]string{"userKey": "all", "applicationName": "drive", "eventName": "edit", "filters": "doc_id==abc"},
		calls: []request{post("/admin/reports/v1/activity/users/all/applications/drive/watch",
			q("eventName", "edit", "filters", "doc_id==abc"))},
		stop: "/admin/reports_v1/channels/stop",
	},
}

// TestAPIsWatchEveryKind proves that each kind's watch reaches Google's
// real path with its params in the query, sends the channel body Google
// expects, and reads the granted channel back.
func TestAPIsWatchEveryKind(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for _, tc := range kindCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newRecorder(t)
			// Google grants a minute less than asked: google.Granted must carry
			// Google's expiration, not ours.
			g.grant = func(asked string) string {
				ms, _ := strconv.ParseInt(asked, 10, 64)
				return strconv.FormatInt(ms-60_000, 10)
			}
			a := newTestAPIs(t, g.srv.URL, now)
			w := store.Watch{ID: "w1", Kind: tc.kind, Params: tc.params}
			req := google.ChannelRequest{ID: "ch-1", Token: "tok-1", Address: "https://hooks.example/recv", Expiration: now.Add(2 * time.Hour)}

			got, err := a.Watch(context.Background(), w, req)
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			calls, bodies := g.requests()
			if d := cmp.Diff(tc.calls, calls); d != "" {
				t.Errorf("calls (-want +got):\n%s", d)
			}
			wantBody := map[string]any{
				"id": "ch-1", "type": "web_hook", "address": "https://hooks.example/recv", "token": "tok-1",
				"expiration": strconv.FormatInt(now.Add(2*time.Hour).UnixMilli(), 10),
			}
			if tc.ttl {
				wantBody["params"] = map[string]any{"ttl": "7200"}
			}
			if d := cmp.Diff(wantBody, bodies[len(bodies)-1]); d != "" {
				t.Errorf("channel body (-want +got):\n%s", d)
			}
			want := google.Granted{
				ResourceID:  "res-1",
				ResourceURI: "https://www.googleapis.com" + tc.calls[len(tc.calls)-1].Path,
				Expiration:  now.Add(2*time.Hour - time.Minute),
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Granted (-want +got):\n%s", d)
			}
		})
	}
}

// TestAPIsStopEveryKind proves that each kind stops through its own API's
// channels.stop with {id, resourceId}.
func TestAPIsStopEveryKind(t *testing.T) {
	t.Parallel()
	for _, tc := range kindCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newRecorder(t)
			a := newTestAPIs(t, g.srv.URL+"/", time.Now()) // a trailing slash changes nothing
			w := store.Watch{ID: "w1", Kind: tc.kind, Params: tc.params}
			if err := a.Stop(context.Background(), w, "ch-1", "res-1"); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			calls, bodies := g.requests()
			if d := cmp.Diff([]request{post(tc.stop, nil)}, calls); d != "" {
				t.Errorf("calls (-want +got):\n%s", d)
			}
			if d := cmp.Diff(map[string]any{"id": "ch-1", "resourceId": "res-1"}, bodies[0]); d != "" {
				t.Errorf("stop body (-want +got):\n%s", d)
			}
		})
	}
}

// TestAPIsWatchWithoutGrantedExpiration proves that when Google leaves the
// expiration out, the requested one stands.
func TestAPIsWatchWithoutGrantedExpiration(t *testing.T) {
	t.Parallel()
	g := newRecorder(t)
	g.grant = func(string) string { return "" }
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	a := newTestAPIs(t, g.srv.URL, now)
	req := google.ChannelRequest{ID: "ch-1", Token: "tok-1", Address: "https://hooks.example/recv", Expiration: now.Add(time.Hour)}
	got, err := a.Watch(context.Background(), store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}}, req)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expiration.Equal(req.Expiration) {
		t.Errorf("Expiration = %v, want the requested %v", got.Expiration, req.Expiration)
	}
}

// TestAPIsWatchRefusesBadWatches proves that a watch the kinds table
// rejects never reaches Google and fails as a configuration error.
func TestAPIsWatchRefusesBadWatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		w    store.Watch
		want error
	}{
		// An unknown kind has no API to call.
		{"unknown kind", store.Watch{Kind: "mail.nope"}, google.ErrUnknownKind},
		// A missing required param would make a malformed path.
		{"missing param", store.Watch{Kind: "drive.files"}, google.ErrInvalidWatch},
		// An unknown param is refused rather than silently ignored.
		{"unknown param", store.Watch{Kind: "calendar.settings", Params: map[string]string{"calendarId": "c1"}}, google.ErrInvalidWatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newRecorder(t)
			a := newTestAPIs(t, g.srv.URL, time.Now())
			_, err := a.Watch(context.Background(), tc.w, google.ChannelRequest{ID: "ch-1", Address: "https://hooks.example/recv"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Watch error = %v, want %v", err, tc.want)
			}
			if c := google.Classify(err); c != google.ClassFailed {
				t.Errorf("Classify = %v, want failed", c)
			}
			if calls, _ := g.requests(); len(calls) != 0 {
				t.Errorf("Google was called: %v", calls)
			}
		})
	}
}

// TestAPIsErrorNeverCarriesToken proves that a Google error echoing the
// channel token is scrubbed, in the error and in its reason.
func TestAPIsErrorNeverCarriesToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token-value"
	g := newRecorder(t)
	g.failStatus = http.StatusBadRequest
	g.failBody = `{"error":{"code":400,"message":"Invalid token ` + token + `","errors":[{"reason":"invalid","message":"Invalid token ` + token + `"}]}}`
	a := newTestAPIs(t, g.srv.URL, time.Now())
	_, err := a.Watch(context.Background(), store.Watch{Kind: "calendar.settings"},
		google.ChannelRequest{ID: "ch-1", Token: token, Address: "https://hooks.example/recv", Expiration: time.Now().Add(time.Hour)})
	if err == nil {
		t.Fatal("Watch succeeded against a failing Google")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error carries the token: %v", err)
	}
	if r := google.Reason(err); strings.Contains(r, token) || !strings.Contains(r, "[token]") {
		t.Errorf("Reason = %q: want the token replaced by [token]", r)
	}
	if c := google.Classify(err); c != google.ClassFailed {
		t.Errorf("Classify = %v, want failed", c)
	}
}

// TestAPIsStopNotFound proves that a 404 from channels.stop is recognised
// as "already stopped".
func TestAPIsStopNotFound(t *testing.T) {
	t.Parallel()
	g := newRecorder(t)
	g.failStatus = http.StatusNotFound
	g.failBody = `{"error":{"code":404,"message":"Channel not found","errors":[{"reason":"notFound","message":"Channel not found"}]}}`
	a := newTestAPIs(t, g.srv.URL, time.Now())
	err := a.Stop(context.Background(), store.Watch{Kind: "admin.reports.activities"}, "ch-1", "res-1")
	if !google.IsNotFound(err) {
		t.Fatalf("IsNotFound(%v) = false", err)
	}
}

// TestAPIsSharesClients proves that concurrent calls of a pass share one
// client per API instead of building one per call.
func TestAPIsSharesClients(t *testing.T) {
	t.Parallel()
	g := newRecorder(t)
	a := newTestAPIs(t, g.srv.URL, time.Now())
	var wg sync.WaitGroup
	for i := range 50 {
		kc := kindCases[i%len(kindCases)]
		wg.Go(func() {
			req := google.ChannelRequest{ID: fmt.Sprint("ch-", i), Address: "https://hooks.example/recv", Expiration: time.Now().Add(time.Hour)}
			if _, err := a.Watch(context.Background(), store.Watch{Kind: kc.kind, Params: kc.params}, req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := a.ClientCount(); n != 4 {
		t.Errorf("%d clients built, want one per API (4)", n)
	}
}

// TestNewAPIsRejectsBadBaseURL proves that a base URL without a scheme is
// refused at start-up, not on the first call.
func TestNewAPIsRejectsBadBaseURL(t *testing.T) {
	t.Parallel()
	if _, err := google.NewAPIs(context.Background(), google.APIConfig{BaseURL: "localhost:8080"}); err == nil {
		t.Error("NewAPIs accepted a base URL without a scheme")
	}
}

// TestAPIsDiscoversServiceAccount proves that, with no service account
// configured, the delegation target is read from the metadata server once
// and then kept.
func TestAPIsDiscoversServiceAccount(t *testing.T) {
	var asked int
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" || r.URL.Path != "/computeMetadata/v1/instance/service-accounts/default/email" {
			http.NotFound(w, r)
			return
		}
		asked++
		io.WriteString(w, "relay@p.iam.gserviceaccount.com")
	}))
	defer md.Close()
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(md.URL, "http://"))

	a, err := google.NewAPIs(context.Background(), google.APIConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sa, err := a.ServiceAccount(context.Background())
		if err != nil || sa != "relay@p.iam.gserviceaccount.com" {
			t.Fatalf("serviceAccount = %q, %v", sa, err)
		}
	}
	if asked != 1 {
		t.Errorf("metadata server asked %d times, want once", asked)
	}

	// A configured one wins without asking.
	a, _ = google.NewAPIs(context.Background(), google.APIConfig{ServiceAccount: "set@p.iam.gserviceaccount.com"})
	if sa, _ := a.ServiceAccount(context.Background()); sa != "set@p.iam.gserviceaccount.com" || asked != 1 {
		t.Errorf("serviceAccount = %q after %d metadata calls, want the configured one and no call", sa, asked)
	}
}

// TestAPIsBaseURLTokenNamesSubject proves that in base-URL mode every call
// (watch, the start page token before a changes watch, stop) carries the
// stand-in bearer token of its watch's subject, in the simulator's format,
// and that clients are kept per subject so no call borrows another's.
func TestAPIsBaseURLTokenNamesSubject(t *testing.T) {
	t.Parallel()
	g := newRecorder(t)
	a := newTestAPIs(t, g.srv.URL, time.Now())
	ctx := context.Background()
	var want []string
	for i, subject := range []string{"alice@example.com", "", "bob@example.com", "alice@example.com"} {
		for _, w := range []store.Watch{
			{Kind: "calendar.events", Params: map[string]string{"calendarId": "c1"}, Subject: subject},
			{Kind: "drive.changes", Params: map[string]string{"driveId": "d1"}, Subject: subject},
		} {
			req := google.ChannelRequest{ID: fmt.Sprint("ch-", i, w.Kind), Address: "https://hooks.example/recv", Expiration: time.Now().Add(time.Hour)}
			if _, err := a.Watch(ctx, w, req); err != nil {
				t.Fatal(err)
			}
			if err := a.Stop(ctx, w, req.ID, "res-1"); err != nil {
				t.Fatal(err)
			}
			n := 2 // watch and stop
			if w.Kind == "drive.changes" {
				n++ // and the start page token first
			}
			for range n {
				want = append(want, "Bearer "+google.SubjectToken(subject))
			}
		}
	}
	g.mu.Lock()
	got := append([]string(nil), g.auths...)
	g.mu.Unlock()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Authorization headers (-want +got):\n%s", d)
	}
	if n := a.ClientCount(); n != 6 {
		t.Errorf("%d clients built, want one per API and subject (2 x 3)", n)
	}
}
