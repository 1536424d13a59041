package changes_test

import (
	"testing"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

// TestEveryKind follows each kind from Google's notification, through
// Receive, the topic and Sync, to its change events: an item changed and an
// item removed, each published as the API (or, for the admin kinds, the
// notification body) gave it.
func TestEveryKind(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		params map[string]string
		before func(*googlesim.Sim) // state the watch starts from
		edit   func(*googlesim.Sim) // the changes it must report
		upsert string               // an item that must come as changed
		gone   string               // one that must come as removed
	}{
		{kind: "calendar.events", params: map[string]string{"calendarId": "team"},
			before: func(s *googlesim.Sim) { s.EditEvent("team", googlesim.Event{ID: "old", Summary: "Old"}) },
			edit: func(s *googlesim.Sim) {
				s.EditEvent("team", googlesim.Event{ID: "7kq1n9", Summary: "Budget review"})
				s.DeleteEvent("team", "old")
			},
			upsert: "7kq1n9", gone: "old"},
		{kind: "calendar.calendarList",
			before: func(s *googlesim.Sim) { s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "old@group"}) },
			edit: func(s *googlesim.Sim) {
				s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "team@group", Summary: "Team"})
				s.DeleteCalendarListEntry("old@group")
			},
			upsert: "team@group", gone: "old@group"},
		{kind: "calendar.acl", params: map[string]string{"calendarId": "team"},
			before: func(s *googlesim.Sim) {
				s.EditACLRule("team", googlesim.ACLRule{ID: "user:bob@example.com", Role: "reader", ScopeType: "user", ScopeValue: "bob@example.com"})
			},
			edit: func(s *googlesim.Sim) {
				s.EditACLRule("team", googlesim.ACLRule{ID: "user:ann@example.com", Role: "writer", ScopeType: "user", ScopeValue: "ann@example.com"})
				s.DeleteACLRule("team", "user:bob@example.com")
			},
			upsert: "user:ann@example.com", gone: "user:bob@example.com"},
		{kind: "calendar.settings",
			edit:   func(s *googlesim.Sim) { s.EditSetting(googlesim.Setting{ID: "timezone", Value: "Europe/Paris"}) },
			upsert: "timezone"},
		{kind: "drive.changes",
			before: func(s *googlesim.Sim) { s.EditFile(googlesim.File{ID: "gone-file", Name: "old.txt"}) },
			edit: func(s *googlesim.Sim) {
				s.EditFile(googlesim.File{ID: "doc-1", Name: "plan.txt"})
				s.RemoveFile("gone-file")
			},
			upsert: "doc-1", gone: "gone-file"},
		{kind: "drive.files", params: map[string]string{"fileId": "doc-2"},
			before: func(s *googlesim.Sim) { s.EditFile(googlesim.File{ID: "doc-2", Name: "draft.txt"}) },
			edit:   func(s *googlesim.Sim) { s.EditFile(googlesim.File{ID: "doc-2", Name: "final.txt"}) },
			upsert: "doc-2"},
		{kind: "admin.directory.users", params: map[string]string{"customer": "my_customer"},
			edit: func(s *googlesim.Sim) {
				s.EditUser(googlesim.User{ID: "u-ann", PrimaryEmail: "ann@example.com"}, "add")
				s.EditUser(googlesim.User{ID: "u-bob", PrimaryEmail: "bob@example.com"}, "delete")
			},
			upsert: "u-ann", gone: "u-bob"},
		{kind: "admin.directory.aliases", params: map[string]string{"userKey": "u-cat"},
			before: func(s *googlesim.Sim) {
				s.EditUser(googlesim.User{ID: "u-cat", PrimaryEmail: "cat@example.com"}, "add")
				s.AddAlias("u-cat", "old@example.com")
			},
			edit: func(s *googlesim.Sim) {
				s.AddAlias("u-cat", "kitty@example.com")
				s.DeleteAlias("u-cat", "old@example.com")
			},
			upsert: "kitty@example.com", gone: "old@example.com"},
		{kind: "admin.reports.activities", params: map[string]string{"userKey": "all", "applicationName": "drive"},
			edit: func(s *googlesim.Sim) {
				s.RecordActivity("all", "drive", googlesim.Activity{UniqueQualifier: 42, ActorEmail: "ann@example.com", Events: []string{"edit"}})
			},
			upsert: "42"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, "memory", rigOptions{})
			if tc.before != nil {
				tc.before(r.sim)
			}
			w := r.add(store.Watch{ID: "w", Kind: tc.kind, Params: tc.params, Labels: map[string]string{"tenant": "acme"}})
			tc.edit(r.sim)
			want := []string{tc.upsert}
			if tc.gone != "" {
				want = append(want, tc.gone)
			}
			got := r.waitItems(w.ID, want, nil)
			up := got[tc.upsert]
			if up.Change != "upsert" || up.Data.Removed || len(up.Data.Item) == 0 || up.Data.Labels["tenant"] != "acme" {
				t.Errorf("%s: change %q removed %v item %s labels %v; want an upsert carrying the item and the watch's labels",
					tc.upsert, up.Change, up.Data.Removed, up.Data.Item, up.Data.Labels)
			}
			if tc.gone != "" {
				if g := got[tc.gone]; g.Change != "removed" || !g.Data.Removed {
					t.Errorf("%s: change %q removed %v; want removed", tc.gone, g.Change, g.Data.Removed)
				}
			}
			if !google.FromBody(tc.kind) && tc.before != nil {
				// No snapshot asked for: the state the watch started
				// from is not published, only what changed after.
				for _, c := range r.changes(w.ID) {
					if c.Data.ItemID == tc.gone && !c.Data.Removed {
						t.Errorf("%s was published as it stood before the watch", tc.gone)
					}
				}
			}
		})
	}
}
