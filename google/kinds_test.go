package google_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/store"
)

// TestKindsTable proves the table is complete and consistent: every kind
// of docs/DESIGN.md, each with an API, scopes, a lifetime and a watch call.
func TestKindsTable(t *testing.T) {
	t.Parallel()
	want := []string{
		"admin.directory.aliases", "admin.directory.users", "admin.reports.activities",
		"calendar.acl", "calendar.calendarList", "calendar.events", "calendar.settings",
		"drive.changes", "drive.files", "gmail.users", "workspace.events",
	}
	var got []string
	for _, k := range google.Kinds() {
		got = append(got, k.Name)
		// A Pub/Sub kind's grant may outlive what watchrelay asks of
		// it: Gmail grants 7 days, renewed daily.
		longDefault := k.DefaultTTL > k.MaxTTL && k.Delivery == google.DeliverWebhook
		if k.API == "" || len(k.Scopes) == 0 || k.MaxTTL <= 0 || k.DefaultTTL <= 0 || longDefault || !k.HasWatch() {
			t.Errorf("%s is incomplete: %+v", k.Name, k)
		}
		// workspace.events is named as Google's guides name the API;
		// its client is workspaceevents.
		if !strings.HasPrefix(k.Name, k.API+".") && k.Name != "workspace.events" {
			t.Errorf("%s belongs to API %s", k.Name, k.API)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Kinds() = %v, want %v", got, want)
	}
	if _, ok := google.LookupKind("drive.files"); !ok {
		t.Error("LookupKind(drive.files) not found")
	}
}

// TestKindMaxTTL pins each kind's lifetime to its documented source (see
// the constants in kinds.go).
func TestKindMaxTTL(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]time.Duration{
		"calendar.events":          7 * 24 * time.Hour, // params.ttl default, no documented maximum
		"calendar.calendarList":    7 * 24 * time.Hour,
		"calendar.acl":             7 * 24 * time.Hour,
		"calendar.settings":        7 * 24 * time.Hour,
		"drive.files":              24 * time.Hour,     // Drive push guide: files at most 1 day
		"drive.changes":            7 * 24 * time.Hour, // Drive push guide: changes at most 1 week
		"admin.directory.users":    6 * time.Hour,      // Admin SDK push guides: 21600 s
		"admin.directory.aliases":  6 * time.Hour,
		"admin.reports.activities": 6 * time.Hour,
		"gmail.users":              24 * time.Hour, // Google grants 7 days and recommends a daily users.watch
		"workspace.events":         4 * time.Hour,  // Subscription.expireTime: 4 h with resource data
		"mail.nope":                0,              // unknown
	} {
		if got := google.MaxTTL(kind); got != want {
			t.Errorf("MaxTTL(%s) = %v, want %v", kind, got, want)
		}
	}
}

// TestKindRequestedExpiration proves the TTL capping: the kind's maximum
// unless the watch asks for less.
func TestKindRequestedExpiration(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		w    store.Watch
		want time.Duration
	}{
		// No ttlSeconds: the kind's longest lifetime.
		{"default is the maximum", store.Watch{Kind: "drive.changes"}, 7 * 24 * time.Hour},
		// Less than the maximum is honoured, e.g. a short demo channel.
		{"shorter is honoured", store.Watch{Kind: "drive.changes", TTLSeconds: 90}, 90 * time.Second},
		// More than the maximum is capped, not refused.
		{"longer is capped", store.Watch{Kind: "drive.files", TTLSeconds: 7 * 86400}, 24 * time.Hour},
		// So is one too large for a Duration, rather than wrapping around
		// to a lifetime in the past.
		{"huge is capped", store.Watch{Kind: "drive.files", TTLSeconds: 1 << 40}, 24 * time.Hour},
		// Exactly the maximum stays.
		{"the maximum itself", store.Watch{Kind: "admin.reports.activities", TTLSeconds: 21600}, 6 * time.Hour},
		// A negative ttlSeconds (refused by google.ValidateWatch) falls back to
		// the maximum rather than a channel in the past.
		{"negative is ignored", store.Watch{Kind: "calendar.events", TTLSeconds: -5}, 7 * 24 * time.Hour},
		// An unknown kind gets nothing: the watch call refuses it anyway.
		{"unknown kind", store.Watch{Kind: "mail.nope", TTLSeconds: 60}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := google.RequestedExpiration(tc.w, now); !got.Equal(now.Add(tc.want)) {
				t.Errorf("RequestedExpiration = now + %v, want now + %v", got.Sub(now), tc.want)
			}
		})
	}
}

// TestValidateWatch proves google.ValidateWatch accepts every valid watch of
// kindCases and refuses each kind of mistake with a message that says
// what to fix.
func TestValidateWatch(t *testing.T) {
	t.Parallel()
	for _, tc := range kindCases {
		t.Run("valid "+tc.name, func(t *testing.T) {
			t.Parallel()
			if err := google.ValidateWatch(store.Watch{Kind: tc.kind, Params: tc.params}); err != nil {
				t.Errorf("ValidateWatch: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		w       store.Watch
		wantErr error
		wantMsg string
	}{
		// An unknown kind lists the known ones.
		{"unknown kind", store.Watch{Kind: "mail.nope"}, google.ErrUnknownKind, "known kinds: admin.directory.aliases"},
		// A required param is named.
		{"missing required param", store.Watch{Kind: "calendar.events"}, google.ErrInvalidWatch, "calendar.events needs param calendarId"},
		// An empty value is as good as missing.
		{"empty required param", store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": ""}}, google.ErrInvalidWatch, "needs param fileId"},
		// An unknown param is named, with what the kind takes.
		{"unknown param", store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f", "calendarId": "c"}},
			google.ErrInvalidWatch, "drive.files has no param calendarId (required: fileId)"},
		// A param on a kind that takes none says so.
		{"param on a kind without params", store.Watch{Kind: "calendar.settings", Params: map[string]string{"x": "y"}},
			google.ErrInvalidWatch, "it takes none"},
		// Directory users need a customer or a domain.
		{"users without customer or domain", store.Watch{Kind: "admin.directory.users"}, google.ErrInvalidWatch, "needs customer"},
		// ... and not both.
		{"users with customer and domain", store.Watch{Kind: "admin.directory.users",
			Params: map[string]string{"customer": "my_customer", "domain": "example.com"}}, google.ErrInvalidWatch, "not both"},
		// An event Directory does not send is refused with the valid ones.
		{"bad user event", store.Watch{Kind: "admin.directory.users",
			Params: map[string]string{"customer": "my_customer", "event": "create"}}, google.ErrInvalidWatch, "add, delete, makeAdmin, undelete, update"},
		{"bad alias event", store.Watch{Kind: "admin.directory.aliases",
			Params: map[string]string{"userKey": "ann@example.com", "event": "update"}}, google.ErrInvalidWatch, "param event=\"update\""},
		// Reports needs both its path params.
		{"reports without application", store.Watch{Kind: "admin.reports.activities",
			Params: map[string]string{"userKey": "all"}}, google.ErrInvalidWatch, "needs param applicationName"},
		// A boolean param must parse.
		{"bad boolean", store.Watch{Kind: "drive.changes", Params: map[string]string{"includeRemoved": "yes"}},
			google.ErrInvalidWatch, "includeRemoved=\"yes\" is not true or false"},
		// A negative lifetime is a mistake.
		{"negative ttl", store.Watch{Kind: "calendar.settings", TTLSeconds: -1}, google.ErrInvalidWatch, "ttlSeconds -1"},
		// A webhook address must be an absolute http(s) URL.
		{"bad address scheme", store.Watch{Kind: "calendar.settings", Address: "ftp://example.com/hook"}, google.ErrInvalidWatch, "address"},
		{"relative address", store.Watch{Kind: "calendar.settings", Address: "/hook"}, google.ErrInvalidWatch, "address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := google.ValidateWatch(tc.w)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ValidateWatch = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("ValidateWatch = %q, want it to say %q", err, tc.wantMsg)
			}
		})
	}

	// Every mistake is reported at once, not one per attempt.
	err := google.ValidateWatch(store.Watch{Kind: "calendar.events", Params: map[string]string{"x": "1"}, TTLSeconds: -1})
	for _, part := range []string{"needs param calendarId", "has no param x", "ttlSeconds -1"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("ValidateWatch = %v, want it to include %q", err, part)
		}
	}
	// A lifetime over the maximum is capped, not refused.
	if err := google.ValidateWatch(store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f"}, TTLSeconds: 1 << 30}); err != nil {
		t.Errorf("ValidateWatch refused a long ttlSeconds: %v", err)
	}
}

// TestRenewThreshold proves a channel is renewed renewBefore ahead of its
// expiration, or halfway through its life when that comes later.
func TestRenewThreshold(t *testing.T) {
	t.Parallel()
	const renewBefore = 90 * time.Minute
	for _, tc := range []struct {
		name string
		w    store.Watch
		want time.Duration
	}{
		// A week-long channel: renewBefore, far under half its life.
		{"long-lived kind", store.Watch{Kind: "calendar.events"}, renewBefore},
		// Six hours: half is 3h, so renewBefore still wins.
		{"admin kind", store.Watch{Kind: "admin.reports.activities"}, renewBefore},
		// A one-hour Drive channel is renewed 30 min before expiry, not
		// the moment it opens.
		{"one hour", store.Watch{Kind: "drive.files", TTLSeconds: 3600}, 30 * time.Minute},
		// Exactly twice renewBefore: both limits agree.
		{"three hours", store.Watch{Kind: "drive.files", TTLSeconds: 3 * 3600}, renewBefore},
		// A ttlSeconds over the kind's maximum is capped first: half of
		// drive.files' day, then renewBefore.
		{"capped ttl", store.Watch{Kind: "drive.files", TTLSeconds: 7 * 86400}, renewBefore},
		// A demo channel of 90 s is renewed at 45 s left.
		{"demo channel", store.Watch{Kind: "calendar.settings", TTLSeconds: 90}, 45 * time.Second},
		// An unknown kind has no lifetime, so nothing to renew ahead of.
		{"unknown kind", store.Watch{Kind: "mail.nope"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := google.RenewThreshold(tc.w, renewBefore); got != tc.want {
				t.Errorf("RenewThreshold = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCheckRenewBefore proves the renewal window must hold two passes and
// end before the shortest-lived kind's channels open.
func TestCheckRenewBefore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                  string
		renewBefore, interval time.Duration
		wantMsg               string // "" when accepted
	}{
		// The defaults, from their one source.
		{"defaults", config.Defaults.RenewBefore, config.Defaults.RenewInterval, ""},
		// Exactly two passes is enough.
		{"two passes", 20 * time.Minute, 10 * time.Minute, ""},
		// Just under the shortest lifetime (workspace.events, 4h) is allowed.
		{"just under the shortest lifetime", 4*time.Hour - time.Second, time.Hour, ""},
		// Under two passes, one missed pass lets a channel lapse.
		{"one pass", 15 * time.Minute, 10 * time.Minute,
			"WATCHRELAY_RENEW_BEFORE=15m0s is less than two passes of WATCHRELAY_RENEW_INTERVAL=10m0s (20m0s)"},
		// A slow schedule under the default window.
		{"slow schedule", 90 * time.Minute, time.Hour, "WATCHRELAY_RENEW_INTERVAL=1h0m0s"},
		// The shortest-lived kind's grants would be due as they open; it is named.
		{"as long as the shortest lifetime", 4 * time.Hour, time.Hour,
			"not shorter than the 4h0m0s lifetime of workspace.events"},
		{"longer than every lifetime", 30 * 24 * time.Hour, 10 * time.Minute, "WATCHRELAY_RENEW_BEFORE=720h0m0s"},
		// An interval of nothing is a mistake, not "renew all the time".
		{"zero interval", 90 * time.Minute, 0, "WATCHRELAY_RENEW_INTERVAL=0s must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantRefusal(t, "CheckRenewBefore", google.CheckRenewBefore(tc.renewBefore, tc.interval), google.ErrRenewWindow, tc.wantMsg)
		})
	}
}

// wantRefusal checks the result of a check: nil when msg is "", else an
// error wrapping sentinel that says msg.
func wantRefusal(t *testing.T, check string, err, sentinel error, msg string) {
	t.Helper()
	switch {
	case msg == "" && err != nil:
		t.Errorf("%s = %v, want nil", check, err)
	case msg == "":
	case !errors.Is(err, sentinel):
		t.Errorf("%s = %v, want %v", check, err, sentinel)
	case !strings.Contains(err.Error(), msg):
		t.Errorf("%s = %q, want it to say %q", check, err, msg)
	}
}

// TestCheckTTL proves a watch's own lifetime must span two passes.
func TestCheckTTL(t *testing.T) {
	t.Parallel()
	const interval = 10 * time.Minute
	for _, tc := range []struct {
		name    string
		ttl     int64
		wantMsg string // "" when accepted
	}{
		// No ttlSeconds: the kind's lifetime, checked by CheckRenewBefore.
		{"unset", 0, ""},
		// Exactly two passes.
		{"two passes", 1200, ""},
		{"a day", 86400, ""},
		// A negative one is ValidateWatch's to refuse.
		{"negative", -1, ""},
		// Live about one minute in ten: refused, with the minimum.
		{"demo 90 s", 90, "ttlSeconds 90 is less than 1200, two renewal passes of 10m0s"},
		{"one second short", 1199, "less than 1200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantRefusal(t, "CheckTTL", google.CheckTTL(store.Watch{Kind: "drive.files", TTLSeconds: tc.ttl}, interval), google.ErrInvalidWatch, tc.wantMsg)
		})
	}
	// A fractional interval rounds the minimum up, so the message never
	// names a value it would refuse.
	err := google.CheckTTL(store.Watch{Kind: "drive.files", TTLSeconds: 20}, 10300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "less than 21,") {
		t.Errorf("CheckTTL(20 s, 10.3 s) = %v, want it to ask for 21", err)
	}
}

// TestKindOfURI proves a stray's resource URI names the API to stop it
// through, and that only Google's hosts are believed.
func TestKindOfURI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		uri, want string
	}{
		// Each API's resource URIs, as Google sends them.
		{"https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json", "calendar.events"},
		{"https://www.googleapis.com/calendar/v3/users/me/settings", "calendar.events"},
		{"https://www.googleapis.com/drive/v3/files/abc", "drive.files"},
		{"https://www.googleapis.com/drive/v3/changes?pageToken=1", "drive.files"},
		{"https://admin.googleapis.com/admin/directory/v1/users?customer=my_customer", "admin.directory.users"},
		{"https://www.googleapis.com/admin/reports/v1/activity/users/all/applications/login", "admin.reports.activities"},
		// Another host, plain http, another API or garbage: unknown.
		{"https://evil.example/calendar/v3/calendars/x", ""},
		{"http://www.googleapis.com/calendar/v3/calendars/x", ""},
		{"https://www.googleapis.com/gmail/v1/users/me", ""},
		{"::", ""},
	} {
		got, ok := google.KindOfURI(tc.uri)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("KindOfURI(%q) = %q, %v; want %q", tc.uri, got, ok, tc.want)
		}
	}
}
