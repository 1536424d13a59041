package google_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

// TestReadChangesShowParams: whatever showDeleted and showHidden a
// calendarList or acl watch carries, its baseline lists every entry the
// later reads keep up to date (hidden calendars too, deleted ones not),
// and its incremental read, which Google refuses with a false one beside
// the sync token, is served and brings the changes, removals included.
func TestReadChangesShowParams(t *testing.T) {
	t.Parallel()
	list := func(params map[string]string) store.Watch {
		return store.Watch{Kind: "calendar.calendarList", Params: params}
	}
	acl := func(params map[string]string) store.Watch {
		params["calendarId"] = "c1"
		return store.Watch{Kind: "calendar.acl", Params: params}
	}
	seedList := func(s *googlesim.Sim) {
		s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "cal-a"})
		s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "cal-b", Hidden: true})
		s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "cal-c"})
		s.DeleteCalendarListEntry("cal-c")
	}
	changeList := func(s *googlesim.Sim) {
		s.DeleteCalendarListEntry("cal-a")
		s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "cal-d", Hidden: true})
	}
	seedACL := func(s *googlesim.Sim) {
		for _, id := range []string{"user:ann", "user:bob", "user:cy"} {
			s.EditACLRule("c1", googlesim.ACLRule{ID: id, Role: "reader", ScopeType: "user"})
		}
		s.DeleteACLRule("c1", "user:cy")
	}
	changeACL := func(s *googlesim.Sim) {
		s.DeleteACLRule("c1", "user:ann")
		s.EditACLRule("c1", googlesim.ACLRule{ID: "user:dee", Role: "writer", ScopeType: "user"})
	}
	listBaseline := []brief{{"cal-a", false}, {"cal-b", false}}
	listChanges := []brief{{"cal-a", true}, {"cal-d", false}}
	aclBaseline := []brief{{"user:ann", false}, {"user:bob", false}}
	aclChanges := []brief{{"user:ann", true}, {"user:dee", false}}
	for _, tc := range []struct {
		name             string
		w                store.Watch
		seed, change     func(*googlesim.Sim)
		baseline, synced []brief
	}{
		// Both false: Google refuses either beside a sync token.
		{"calendarList both false", list(map[string]string{"showDeleted": "false", "showHidden": "false"}),
			seedList, changeList, listBaseline, listChanges},
		// showDeleted false alone.
		{"calendarList showDeleted false", list(map[string]string{"showDeleted": "false"}),
			seedList, changeList, listBaseline, listChanges},
		// showHidden false alone: the hidden calendar is still in the
		// baseline, since later reads report it.
		{"calendarList showHidden false", list(map[string]string{"showHidden": "false"}),
			seedList, changeList, listBaseline, listChanges},
		// Both true read the same: the deleted entry is no baseline item.
		{"calendarList both true", list(map[string]string{"showDeleted": "true", "showHidden": "true"}),
			seedList, changeList, listBaseline, listChanges},
		// Neither: the same again.
		{"calendarList neither", list(map[string]string{}), seedList, changeList, listBaseline, listChanges},
		// The ACL's showDeleted false.
		{"acl showDeleted false", acl(map[string]string{"showDeleted": "false"}), seedACL, changeACL, aclBaseline, aclChanges},
		// The ACL's showDeleted true reads the same.
		{"acl showDeleted true", acl(map[string]string{"showDeleted": "true"}), seedACL, changeACL, aclBaseline, aclChanges},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, a, _ := startSim(t)
			tc.seed(sim)
			items, pages := readAll(t, a, tc.w, google.ReadRequest{})
			if d := cmp.Diff(tc.baseline, briefs(items)); d != "" {
				t.Errorf("baseline (-want +got):\n%s", d)
			}
			tc.change(sim)
			p, err := a.ReadChanges(context.Background(), tc.w, google.ReadRequest{Cursor: pages[len(pages)-1].Cursor})
			if err != nil {
				t.Fatalf("incremental read: %v", err)
			}
			if d := cmp.Diff(tc.synced, briefs(p.Items)); d != "" || p.Cursor == "" {
				t.Errorf("incremental read, cursor %q (-want +got):\n%s", p.Cursor, d)
			}
		})
	}
}
