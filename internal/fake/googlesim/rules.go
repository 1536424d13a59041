package googlesim

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The refusals Google's references document for the query of a list or
// watch call: parameters that may not come with a sync token, page-size
// ranges, time ranges. One rule a row of the package doc's table "What it
// refuses"; every list and watch call of a kind checks its rules before
// anything is listed or opened (an injected failure still comes first).

// queryRule is one documented refusal: the failure a call's query gets,
// or nil when the rule has nothing against it.
type queryRule func(q url.Values) *Failure

// Calendar's answers to a query its reference forbids.
var (
	// FailSyncTokenRestricted: a parameter that may not come with a sync
	// token (or a false showDeleted or showHidden beside one). The
	// reference says only that the combination is not allowed; reason and
	// message are what Calendar is reported to answer.
	FailSyncTokenRestricted = Failure{Code: 400, Reason: "syncTokenWithRequestRestrictions", Domain: "calendar",
		Message: "Sync token cannot be used with other request restrictions."}
	// FailTimeRangeEmpty: events.list with a timeMax not after its timeMin,
	// as Calendar's errors guide shows it.
	FailTimeRangeEmpty = Failure{Code: 400, Reason: "timeRangeEmpty", Domain: "calendar", Location: "timeMax",
		Message: "The specified time range is empty."}
)

// queryRules holds the rules of each kind's list call and, where the
// watch call takes the list's query (Calendar, Drive changes, Admin), of
// its watch call too. Gmail's and Workspace Events' rules are their list
// calls' (history.list, subscriptions.list) only.
var queryRules = map[string][]queryRule{
	KindCalendarEvents: {pageFloor("maxResults"), timeRange,
		notWithSyncToken("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
			"timeMin", "timeMax", "updatedMin"),
		notFalseWithSyncToken("showDeleted")},
	KindCalendarList: {pageFloor("maxResults"),
		notWithSyncToken("minAccessRole", "showOwnOrganizationOnly"),
		notFalseWithSyncToken("showDeleted", "showHidden")},
	KindCalendarACL:       {pageFloor("maxResults"), notFalseWithSyncToken("showDeleted")},
	KindCalendarSettings:  {pageFloor("maxResults")},
	KindDriveChanges:      {required("pageToken"), pageFloor("pageSize")},
	KindDirectoryUsers:    {pageRange("maxResults", 1, 500)},
	KindReportsActivities: {pageRange("maxResults", 1, 1000)},
	KindGmailUsers:        {pageFloor("maxResults")},
	KindWorkspaceEvents:   {notNegative("pageSize")},
}

// refuseQuery is the failure of the first of kind's rules that refuses q,
// or nil.
func refuseQuery(kind string, q url.Values) *Failure {
	for _, rule := range queryRules[kind] {
		if f := rule(q); f != nil {
			return f
		}
	}
	return nil
}

// notWithSyncToken refuses any of names beside a sync token.
func notWithSyncToken(names ...string) queryRule {
	return besideSyncToken(func(v string) bool { return v != "" }, names)
}

// notFalseWithSyncToken refuses any of names set to false beside a sync
// token: with one, Google lists those entries always.
func notFalseWithSyncToken(names ...string) queryRule {
	return besideSyncToken(func(v string) bool { return strings.EqualFold(v, "false") }, names)
}

// besideSyncToken refuses the first of names whose value refused says
// may not come with a sync token.
func besideSyncToken(refused func(value string) bool, names []string) queryRule {
	return func(q url.Values) *Failure {
		if q.Get("syncToken") == "" {
			return nil
		}
		for _, n := range names {
			if refused(q.Get(n)) {
				return syncTokenRestricted(n)
			}
		}
		return nil
	}
}

func syncTokenRestricted(name string) *Failure {
	f := FailSyncTokenRestricted
	f.Location = name
	return &f
}

// timeRange refuses a timeMin or timeMax that is not an RFC 3339
// timestamp with its offset, and a timeMax not after timeMin.
func timeRange(q url.Values) *Failure {
	var bounds [2]time.Time
	for i, n := range []string{"timeMin", "timeMax"} {
		v := q.Get(n)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return invalidValue(n)
		}
		bounds[i] = t
	}
	if !bounds[0].IsZero() && !bounds[1].IsZero() && !bounds[1].After(bounds[0]) {
		f := FailTimeRangeEmpty
		return &f
	}
	return nil
}

// pageFloor refuses a page size below 1. Above the API's largest page
// Google serves its largest page instead (pageSize).
func pageFloor(name string) queryRule {
	return func(q url.Values) *Failure {
		v := q.Get(name)
		if n, err := strconv.Atoi(v); v != "" && (err != nil || n < 1) {
			return invalidValue(name)
		}
		return nil
	}
}

// pageRange refuses a page size outside [lo, hi], as Google does for a
// parameter whose reference gives both bounds.
func pageRange(name string, lo, hi int) queryRule {
	return func(q url.Values) *Failure {
		v := q.Get(name)
		if n, err := strconv.Atoi(v); v != "" && (err != nil || n < lo || n > hi) {
			return &Failure{Code: 400, Reason: "invalid", Location: name,
				Message: fmt.Sprintf("Invalid value '%s'. Values must be within the range: [%d, %d]", v, lo, hi)}
		}
		return nil
	}
}

// notNegative refuses a negative page size; 0 asks for the default.
func notNegative(name string) queryRule {
	return func(q url.Values) *Failure {
		v := q.Get(name)
		if n, err := strconv.Atoi(v); v != "" && (err != nil || n < 0) {
			f := invalidArgument("Invalid value for: " + name)
			return &f
		}
		return nil
	}
}

// required refuses a call without name.
func required(name string) queryRule {
	return func(q url.Values) *Failure {
		if q.Get(name) == "" {
			return &Failure{Code: 400, Reason: "required", Message: "Required parameter: " + name, Location: name}
		}
		return nil
	}
}

func invalidValue(name string) *Failure {
	return &Failure{Code: 400, Reason: "invalid", Message: "Invalid value for: " + name, Location: name}
}

// pageSize is the page a list serves: the page-size parameter (its rules
// have refused a bad one), def when absent, at most maxPage, as Google
// serves its largest page to a call that asks for more.
func pageSize(q url.Values, name string, def, maxPage int) int {
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < 1 {
		n = def
	}
	return min(n, maxPage)
}
