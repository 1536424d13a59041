package google_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// TestKindsTable proves the table is complete and consistent: every kind
// of DESIGN.md, each with an API, scopes, a lifetime and a watch call.
func TestKindsTable(t *testing.T) {
	t.Parallel()
	want := []string{
		"admin.directory.aliases", "admin.directory.users", "admin.reports.activities",
		"calendar.acl", "calendar.calendarList", "calendar.events", "calendar.settings",
		"drive.changes", "drive.files",
	}
	var got []string
	for _, k := range google.Kinds() {
		got = append(got, k.Name)
		if k.API == "" || len(k.Scopes) == 0 || k.MaxTTL <= 0 || k.DefaultTTL <= 0 || k.DefaultTTL > k.MaxTTL || !k.HasWatch() {
			t.Errorf("%s is incomplete: %+v", k.Name, k)
		}
		if !strings.HasPrefix(k.Name, k.API+".") {
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
		"gmail.users":              0, // unknown
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
		// Exactly the maximum stays.
		{"the maximum itself", store.Watch{Kind: "admin.reports.activities", TTLSeconds: 21600}, 6 * time.Hour},
		// A negative ttlSeconds (refused by google.ValidateWatch) falls back to
		// the maximum rather than a channel in the past.
		{"negative is ignored", store.Watch{Kind: "calendar.events", TTLSeconds: -5}, 7 * 24 * time.Hour},
		// An unknown kind gets nothing: the watch call refuses it anyway.
		{"unknown kind", store.Watch{Kind: "gmail.users", TTLSeconds: 60}, 0},
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
		{"unknown kind", store.Watch{Kind: "gmail.users"}, google.ErrUnknownKind, "known kinds: admin.directory.aliases"},
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
