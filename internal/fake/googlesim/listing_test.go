package googlesim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/calendar/v3"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// What lists serve within the rules of rules_test.go: a page size above
// the largest is served at the largest, and hidden calendar list entries
// as Google lists them.

// TestPageSizeCapped proves a page size above the API's largest is served
// at the largest, not refused: each list holds one item more than its
// largest page, and its first page is the largest page with more to come.
func TestPageSizeCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		max  int
		seed func(*googlesim.Sim, int)
		list func(*ruleEnv) (n int, more bool, err error)
	}{
		// events.list: "The page size can never be larger than 2500 events."
		{"events", 2500,
			func(s *googlesim.Sim, i int) { s.EditEvent("big", googlesim.Event{ID: fmt.Sprintf("e%05d", i)}) },
			func(e *ruleEnv) (int, bool, error) {
				r, err := e.cal.Events.List("big").MaxResults(5000).Context(ctx).Do()
				if err != nil {
					return 0, false, err
				}
				return len(r.Items), r.NextPageToken != "", nil
			}},
		// calendarList.list: "never be larger than 250 entries".
		{"calendarList", 250,
			func(s *googlesim.Sim, i int) {
				s.EditCalendarListEntry(googlesim.CalendarListEntry{ID: fmt.Sprintf("c%05d", i)})
			},
			func(e *ruleEnv) (int, bool, error) {
				r, err := e.cal.CalendarList.List().MaxResults(1000).Context(ctx).Do()
				if err != nil {
					return 0, false, err
				}
				return len(r.Items), r.NextPageToken != "", nil
			}},
		// changes.list: "values above 1000 will be coerced to 1000".
		{"changes", 1000,
			func(s *googlesim.Sim, i int) { s.EditFile(googlesim.File{ID: fmt.Sprintf("f%05d", i)}) },
			func(e *ruleEnv) (int, bool, error) {
				r, err := e.drive.Changes.List(e.start).PageSize(5000).Context(ctx).Do()
				if err != nil {
					return 0, false, err
				}
				return len(r.Changes), r.NextPageToken != "", nil
			}},
		// history.list: "The maximum allowed value for this field is 500."
		{"history", 500,
			func(s *googlesim.Sim, _ int) { s.AddMessage("ann@example.com", googlesim.GmailMessage{}) },
			func(e *ruleEnv) (int, bool, error) {
				r, err := e.mail.Users.History.List("me").StartHistoryId(uint64(e.mailID)).MaxResults(1000).Context(ctx).Do()
				if err != nil {
					return 0, false, err
				}
				return len(r.History), r.NextPageToken != "", nil
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRuleEnv(t)
			for i := range tc.max + 1 {
				tc.seed(e.sim, i)
			}
			n, more, err := tc.list(e)
			if err != nil || n != tc.max || !more {
				t.Errorf("first page: %d items, more %v, error %v; want %d and more", n, more, err, tc.max)
			}
		})
	}
}

// TestCalendarListHidden proves a hidden calendar list entry is listed
// to showHidden or a sync token, as Google lists it, and not otherwise.
func TestCalendarListHidden(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newRuleEnv(t)
	e.sim.EditCalendarListEntry(googlesim.CalendarListEntry{ID: "c2", Hidden: true})
	list := func(c *calendar.CalendarListListCall) []string {
		t.Helper()
		r, err := c.Context(ctx).Do()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range r.Items {
			ids = append(ids, fmt.Sprintf("%s hidden=%t", it.Id, it.Hidden))
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		call *calendar.CalendarListListCall
		want []string
	}{
		// A full list leaves it out by default...
		{"default", e.cal.CalendarList.List(), []string{"c1 hidden=false"}},
		// ...lists it to showHidden...
		{"showHidden", e.cal.CalendarList.List().ShowHidden(true), []string{"c1 hidden=false", "c2 hidden=true"}},
		// ...and a sync token lists it as a change.
		{"sync token", e.cal.CalendarList.List().SyncToken(e.sync[googlesim.KindCalendarList]), []string{"c2 hidden=true"}},
	} {
		if diff := cmp.Diff(tc.want, list(tc.call)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
