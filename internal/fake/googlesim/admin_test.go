package googlesim_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	directory "google.golang.org/api/admin/directory/v1"
	reports "google.golang.org/api/admin/reports/v1"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// TestAdminPushes opens Admin channels through the real clients and
// checks that each edit pushes its resource, as the body Google sends,
// to exactly the channels whose watch selects it.
func TestAdminPushes(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{Sync: googlesim.SyncAfter})
	rcv := newReceiver(t)
	ctx := context.Background()
	for id, w := range map[string]watchReq{
		"users-all":     {kind: googlesim.KindDirectoryUsers, params: map[string]string{"customer": "my_customer"}},
		"users-delete":  {kind: googlesim.KindDirectoryUsers, params: map[string]string{"customer": "my_customer", "event": "delete"}},
		"users-c1":      {kind: googlesim.KindDirectoryUsers, params: map[string]string{"customer": "C1"}},
		"users-c2":      {kind: googlesim.KindDirectoryUsers, params: map[string]string{"customer": "C2"}},
		"users-domain":  {kind: googlesim.KindDirectoryUsers, params: map[string]string{"domain": "example.com"}},
		"users-other":   {kind: googlesim.KindDirectoryUsers, params: map[string]string{"domain": "other.com"}},
		"alias-ann":     {kind: googlesim.KindDirectoryAliases, params: map[string]string{"userKey": "ann@example.com"}},
		"alias-ann-id":  {kind: googlesim.KindDirectoryAliases, params: map[string]string{"userKey": "ann-id", "event": "add"}},
		"alias-bob":     {kind: googlesim.KindDirectoryAliases, params: map[string]string{"userKey": "bob@example.com"}},
		"act-all-login": {kind: googlesim.KindReportsActivities, params: map[string]string{"userKey": "all", "applicationName": "login"}},
		"act-ann-login": {kind: googlesim.KindReportsActivities, params: map[string]string{"userKey": "ann@example.com", "applicationName": "login"}},
		"act-ann-drive": {kind: googlesim.KindReportsActivities, params: map[string]string{"userKey": "ann@example.com", "applicationName": "drive"}},
		"act-bob-login": {kind: googlesim.KindReportsActivities, params: map[string]string{"userKey": "bob@example.com", "applicationName": "login"}},
	} {
		w.id, w.address = id, rcv.URL
		if _, err := watch(ctx, sim.URL, w); err != nil {
			t.Fatalf("watch %s: %v", id, err)
		}
	}

	ann := sim.EditUser(googlesim.User{ID: "ann-id", PrimaryEmail: "ann@example.com", CustomerID: "C1"}, "add")
	if !sim.AddAlias("ann@example.com", "a1@example.com") || !sim.DeleteAlias("ann-id", "a1@example.com") {
		t.Fatal("AddAlias or DeleteAlias of ann's alias reported no such user or alias")
	}
	// Nothing to change: no such user, no such alias.
	if sim.AddAlias("nobody@example.com", "x@example.com") || sim.DeleteAlias("ann-id", "a1@example.com") {
		t.Error("an alias edit of a missing user or alias reported a change")
	}
	act := sim.RecordActivity("ann@example.com", "login", googlesim.Activity{CustomerID: "C1", Events: []string{"login_success"}})
	deleted := sim.EditUser(ann, "delete")
	flush(t, sim)

	states := map[string][]string{}
	bodies := map[string]string{} // by channel and state: the last body
	rs := rcv.received()
	slices.SortFunc(rs, func(a, b received) int {
		n := func(r received) int { x, _ := strconv.Atoi(r.Header.Get(googlesim.HeaderMessageNumber)); return x }
		return n(a) - n(b)
	})
	for _, r := range rs {
		ch, state := r.Header.Get(googlesim.HeaderChannelID), r.Header.Get(googlesim.HeaderResourceState)
		if state == "sync" {
			continue
		}
		states[ch] = append(states[ch], state)
		bodies[ch+"/"+state] = r.Body
		if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
			t.Errorf("%s %s: Content-Type %q", ch, state, ct)
		}
	}
	want := map[string][]string{
		"users-all":     {"add", "delete"},
		"users-delete":  {"delete"},
		"users-c1":      {"add", "delete"},
		"users-domain":  {"add", "delete"},
		"alias-ann":     {"add", "delete"},
		"alias-ann-id":  {"add"},
		"act-all-login": {"login_success"},
		"act-ann-login": {"login_success"},
	}
	if d := cmp.Diff(want, states); d != "" {
		t.Errorf("states pushed per channel (-want +got):\n%s", d)
	}

	var u directory.User
	if err := json.Unmarshal([]byte(bodies["users-all/delete"]), &u); err != nil ||
		u.Kind != "admin#directory#user" || u.Id != "ann-id" || u.PrimaryEmail != "ann@example.com" || u.Etag != deleted.ETag || u.Etag == ann.ETag {
		t.Errorf("user body %s (%v): want ann with the delete's etag %s", bodies["users-all/delete"], err, deleted.ETag)
	}
	var a directory.Alias
	if err := json.Unmarshal([]byte(bodies["alias-ann/delete"]), &a); err != nil ||
		a.Kind != "admin#directory#alias" || a.Id != "ann-id" || a.Alias != "a1@example.com" || a.Etag == "" {
		t.Errorf("alias body %s (%v)", bodies["alias-ann/delete"], err)
	}
	var ac reports.Activity
	if err := json.Unmarshal([]byte(bodies["act-all-login/login_success"]), &ac); err != nil || ac.Id == nil ||
		ac.Kind != "admin#reports#activity" || ac.Id.UniqueQualifier != act.UniqueQualifier || ac.Id.ApplicationName != "login" ||
		ac.Id.Time == "" || ac.Actor == nil || ac.Actor.Email != "ann@example.com" || len(ac.Events) != 1 || ac.Events[0].Name != "login_success" {
		t.Errorf("activity body %s (%v)", bodies["act-all-login/login_success"], err)
	}
}

// TestEditUserUnknownEvent: an event Directory never sends is the test's
// mistake, said at once.
func TestEditUserUnknownEvent(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{})
	defer func() {
		if recover() == nil {
			t.Error("EditUser with event \"rename\" did not panic")
		}
	}()
	sim.EditUser(googlesim.User{ID: "u"}, "rename")
}
