package googlesim_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// kinds lists one watch per kind, with the resource URI Google reports.
var kinds = []struct {
	kind   string
	params map[string]string // request parameters
	res    map[string]string // the resource's identity, as ResourceID takes it
	uri    string
}{
	{googlesim.KindCalendarEvents, map[string]string{"calendarId": "team@example.com"}, map[string]string{"calendarId": "team@example.com"},
		"https://www.googleapis.com/calendar/v3/calendars/team@example.com/events?alt=json"},
	{googlesim.KindCalendarList, nil, map[string]string{},
		"https://www.googleapis.com/calendar/v3/users/me/calendarList?alt=json"},
	{googlesim.KindCalendarACL, map[string]string{"calendarId": "primary"}, map[string]string{"calendarId": "primary"},
		"https://www.googleapis.com/calendar/v3/calendars/primary/acl?alt=json"},
	{googlesim.KindCalendarSettings, nil, map[string]string{},
		"https://www.googleapis.com/calendar/v3/users/me/settings?alt=json"},
	{googlesim.KindDriveFiles, map[string]string{"fileId": "ret08u3rv24htgh289g"}, map[string]string{"fileId": "ret08u3rv24htgh289g"},
		"https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g"},
	{googlesim.KindDriveChanges, map[string]string{"pageToken": "7", "driveId": "d1"}, map[string]string{"driveId": "d1"},
		"https://www.googleapis.com/drive/v3/changes?alt=json&driveId=d1&pageToken=7"},
	{googlesim.KindDirectoryUsers, map[string]string{"customer": "my_customer", "event": "add"}, map[string]string{"customer": "my_customer", "event": "add"},
		"https://admin.googleapis.com/admin/directory/v1/users?alt=json&customer=my_customer&event=add"},
	{googlesim.KindDirectoryAliases, map[string]string{"userKey": "ann@example.com", "event": "delete"}, map[string]string{"userKey": "ann@example.com", "event": "delete"},
		"https://admin.googleapis.com/admin/directory/v1/users/ann@example.com/aliases?alt=json&event=delete"},
	{googlesim.KindReportsActivities, map[string]string{"userKey": "all", "applicationName": "drive"}, map[string]string{"userKey": "all", "applicationName": "drive"},
		"https://admin.googleapis.com/admin/reports/v1/activity/users/all/applications/drive?alt=json"},
}

// Every kind: watch through the real client, get the sync, stop, stop again.
func TestWatchAndStopEveryKind(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := newClock()
			sim := start(t, googlesim.Options{Now: clk.Now})
			rcv := newReceiver(t)

			id := "ch-" + strings.ReplaceAll(k.kind, ".", "-")
			got, err := watch(ctx, sim.URL, watchReq{kind: k.kind, params: k.params, id: id, address: rcv.URL, token: "tok"})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			want := granted{
				Kind: "api#channel", ID: id, Token: "tok",
				ResourceID:  googlesim.ResourceID(k.kind, k.res),
				ResourceURI: k.uri,
				Expiration:  clk.Now().Add(googlesim.Limits[k.kind].Default).UnixMilli(),
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("watch response (-want +got):\n%s", d)
			}
			live := sim.Live()
			if len(live) != 1 || live[0].ID != id || live[0].Kind != k.kind {
				t.Errorf("Live = %+v, want the one channel %s", live, id)
			}

			flush(t, sim)
			rs := rcv.received()
			if len(rs) != 1 || rs[0].Header.Get("X-Goog-Resource-State") != "sync" || rs[0].Header.Get("X-Goog-Message-Number") != "1" {
				t.Fatalf("received %+v, want one sync numbered 1", rs)
			}

			if err := stop(ctx, sim.URL, apiOf(k.kind), id, got.ResourceID); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if live := sim.Live(); len(live) != 0 {
				t.Errorf("Live after stop = %+v, want none", live)
			}
			err = stop(ctx, sim.URL, apiOf(k.kind), id, got.ResourceID)
			wantGoogleError(t, err, 404, "notFound")
			if st := sim.Stats(); st.WatchOK != 1 || st.StopCalls != 2 || st.StopOK != 1 {
				t.Errorf("Stats = %+v, want 1 watch, 2 stop calls, 1 stopped", st)
			}
		})
	}
}

// wantGoogleError checks that err is a *googleapi.Error with code and reason.
func wantGoogleError(t *testing.T, err error, code int, reason string) *googleapi.Error {
	t.Helper()
	var g *googleapi.Error
	if !errors.As(err, &g) {
		t.Fatalf("error %v (%T), want *googleapi.Error %d %s", err, err, code, reason)
	}
	if g.Code != code || len(g.Errors) == 0 || g.Errors[0].Reason != reason {
		t.Fatalf("error code %d errors %+v, want %d %s", g.Code, g.Errors, code, reason)
	}
	return g
}

func TestStopNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	rcv := newReceiver(t)
	g, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "c1", address: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		api, id, resID string
	}{
		// An id no watch used.
		{"unknown id", "drive", "nope", g.ResourceID},
		// The right id with another resource's id: Google does not stop it.
		{"resource id mismatch", "drive", "c1", "other"},
		// No resource id at all, as after a crash that lost the watch response.
		{"resource id missing", "drive", "c1", ""},
		// A Drive channel stopped through Calendar's channels.stop.
		{"another API's stop", "calendar", "c1", g.ResourceID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := stop(ctx, sim.URL, tc.api, tc.id, tc.resID)
			e := wantGoogleError(t, err, 404, "notFound")
			if e.Message != "Channel not found" {
				t.Errorf("message %q, want Channel not found", e.Message)
			}
		})
	}
	if len(sim.Live()) != 1 {
		t.Errorf("a failed stop stopped the channel: Live = %+v", sim.Live())
	}
}

func TestReusedChannelID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	rcv := newReceiver(t)
	req := watchReq{kind: googlesim.KindCalendarEvents, params: map[string]string{"calendarId": "primary"}, id: "same", address: rcv.URL}
	g, err := watch(ctx, sim.URL, req)
	if err != nil {
		t.Fatal(err)
	}
	e := wantGoogleError(t, must(watch(ctx, sim.URL, req)), 400, "channelIdNotUnique")
	if e.Message != "Channel id same not unique" {
		t.Errorf("message %q", e.Message)
	}
	// Not even after the channel stopped, nor on another kind.
	if err := stop(ctx, sim.URL, "calendar", "same", g.ResourceID); err != nil {
		t.Fatal(err)
	}
	other := watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "same", address: rcv.URL}
	wantGoogleError(t, must(watch(ctx, sim.URL, other)), 400, "channelIdNotUnique")
	if n := len(sim.Live()); n != 0 {
		t.Errorf("%d live channels, want 0", n)
	}
}

// must keeps the error of a two-value call.
func must[T any](_ T, err error) error { return err }

func TestExpirationGranted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	sim := start(t, googlesim.Options{Now: clk.Now})
	rcv := newReceiver(t)
	now := clk.Now()
	for i, tc := range []struct {
		name string
		kind string
		exp  time.Time
		ttl  string
		want time.Time
	}{
		// Drive files: nothing asked → 1 hour.
		{"files default", googlesim.KindDriveFiles, time.Time{}, "", now.Add(time.Hour)},
		// Drive files: less than the maximum is granted as asked.
		{"files less", googlesim.KindDriveFiles, now.Add(3 * time.Hour), "", now.Add(3 * time.Hour)},
		// Drive files: more than a day is capped at a day.
		{"files capped", googlesim.KindDriveFiles, now.Add(30 * 24 * time.Hour), "", now.Add(24 * time.Hour)},
		// Drive changes: capped at a week.
		{"changes capped", googlesim.KindDriveChanges, now.Add(30 * 24 * time.Hour), "", now.Add(7 * 24 * time.Hour)},
		// Calendar: nothing asked → 7 days.
		{"calendar default", googlesim.KindCalendarEvents, time.Time{}, "", now.Add(7 * 24 * time.Hour)},
		// Calendar: params.ttl in seconds is honoured.
		{"calendar ttl", googlesim.KindCalendarEvents, time.Time{}, "600", now.Add(10 * time.Minute)},
		// Calendar: capped at 30 days.
		{"calendar capped", googlesim.KindCalendarEvents, now.Add(90 * 24 * time.Hour), "", now.Add(30 * 24 * time.Hour)},
		// Expiration and ttl both: the earlier wins.
		{"earlier of both", googlesim.KindCalendarEvents, now.Add(time.Hour), "7200", now.Add(time.Hour)},
		// Reports: capped at 6 hours.
		{"reports capped", googlesim.KindReportsActivities, now.Add(24 * time.Hour), "", now.Add(6 * time.Hour)},
		// Milliseconds survive the round trip.
		{"milliseconds", googlesim.KindDriveFiles, now.Add(time.Hour + 123*time.Millisecond), "", now.Add(time.Hour + 123*time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]string{"fileId": "f", "calendarId": "c", "pageToken": "1", "userKey": "all", "applicationName": "login"}
			g, err := watch(ctx, sim.URL, watchReq{kind: tc.kind, params: params, id: fmt.Sprint("exp-", i), address: rcv.URL, expiration: tc.exp, ttl: tc.ttl})
			if err != nil {
				t.Fatal(err)
			}
			if got := time.UnixMilli(g.Expiration).UTC(); !got.Equal(tc.want) {
				t.Errorf("granted %v, want %v", got, tc.want)
			}
		})
	}
	// An expiration in the past is refused.
	_, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "past", address: rcv.URL, expiration: now.Add(-time.Minute)})
	wantGoogleError(t, err, 400, "invalid")
}

func TestMaxTTL(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]time.Duration{
		googlesim.KindDriveFiles:        24 * time.Hour,
		googlesim.KindDriveChanges:      7 * 24 * time.Hour,
		googlesim.KindCalendarSettings:  30 * 24 * time.Hour,
		googlesim.KindDirectoryAliases:  6 * time.Hour,
		googlesim.KindReportsActivities: 6 * time.Hour,
		"gmail.users":                   0, // not a webhook kind
	} {
		if got := googlesim.MaxTTL(kind); got != want {
			t.Errorf("MaxTTL(%s) = %v, want %v", kind, got, want)
		}
	}
	if len(googlesim.Limits) != len(kinds) {
		t.Errorf("Limits has %d kinds, the tests %d", len(googlesim.Limits), len(kinds))
	}
}

// SyncFirst: the receiver has answered the sync before the watch returns.
// SyncAfter: the watch returns while the receiver still holds the sync.
func TestSyncOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	req := func(addr string) watchReq {
		return watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "c", address: addr}
	}

	t.Run("first", func(t *testing.T) {
		t.Parallel()
		sim := start(t, googlesim.Options{Sync: googlesim.SyncFirst})
		rcv := newReceiver(t)
		if _, err := watch(ctx, sim.URL, req(rcv.URL)); err != nil {
			t.Fatal(err)
		}
		if got := rcv.received(); len(got) != 1 || got[0].Header.Get("X-Goog-Resource-State") != "sync" {
			t.Fatalf("before the watch returned the receiver got %d messages, want the sync", len(got))
		}
		if d := sim.Deliveries(); len(d) != 1 || !d[0].OK {
			t.Errorf("Deliveries = %+v", d)
		}
	})

	t.Run("after", func(t *testing.T) {
		t.Parallel()
		sim := start(t, googlesim.Options{Sync: googlesim.SyncAfter})
		rcv := newReceiver(t)
		hold := make(chan struct{})
		rcv.mu.Lock()
		rcv.hold = hold
		rcv.mu.Unlock()
		done := make(chan error, 1)
		go func() { done <- must(watch(ctx, sim.URL, req(rcv.URL))) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the watch waited for the sync")
		}
		close(hold)
		flush(t, sim)
		if len(rcv.received()) != 1 {
			t.Errorf("received %d, want the sync", len(rcv.received()))
		}
	})

	t.Run("random is seeded", func(t *testing.T) {
		t.Parallel()
		// Two simulators with one seed choose the same orders. The receiver
		// answers slowly, so whether the sync was delivered when the watch
		// returned tells SyncFirst (F) from SyncAfter (A).
		orders := func() string {
			sim := start(t, googlesim.Options{Seed: 42})
			rcv := newReceiver(t)
			rcv.mu.Lock()
			rcv.delay = 100 * time.Millisecond
			rcv.mu.Unlock()
			var b strings.Builder
			for i := range 6 {
				r := req(rcv.URL)
				r.id = fmt.Sprint("c", i)
				before := len(sim.Deliveries())
				if _, err := watch(ctx, sim.URL, r); err != nil {
					t.Fatal(err)
				}
				if len(sim.Deliveries()) > before {
					b.WriteByte('F')
				} else {
					b.WriteByte('A')
				}
				flush(t, sim)
			}
			return b.String()
		}
		a, b := orders(), orders()
		if a != b || !strings.Contains(a, "A") || !strings.Contains(a, "F") {
			t.Errorf("orders %s and %s: want equal, with both orders", a, b)
		}
	})
}

func TestPushHeaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	sim := start(t, googlesim.Options{Now: clk.Now, Sync: googlesim.SyncFirst})
	rcv := newReceiver(t)

	files, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f1"}, id: "files", address: rcv.URL, token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Push("files", "update", googlesim.Changed("content", "properties")); err != nil {
		t.Fatal(err)
	}
	flush(t, sim) // pushes are concurrent: no order between two in flight
	if err := sim.Push("files", "trash"); err != nil {
		t.Fatal(err)
	}
	flush(t, sim)
	changes, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveChanges, params: map[string]string{"pageToken": "1"}, id: "changes", address: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sim.PushResource(changes.ResourceID, "change"); err != nil || n != 1 {
		t.Fatalf("PushResource = %d, %v; want 1 channel", n, err)
	}
	flush(t, sim)

	rs := rcv.received()
	if len(rs) != 5 {
		t.Fatalf("received %d, want 5", len(rs))
	}
	exp := time.UnixMilli(files.Expiration).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")
	for i, tc := range []struct {
		state, number, changed, token, body string
	}{
		// The sync: number 1, the token echoed, no body.
		{"sync", "1", "", "secret", ""},
		// A Drive update carries what changed.
		{"update", "", "content,properties", "secret", ""},
		{"trash", "", "", "secret", ""},
		// Drive changes: no token was set, and the JSON body.
		{"sync", "1", "", "", `{"kind":"drive#changes"}`},
		{"change", "", "", "", `{"kind":"drive#changes"}`},
	} {
		h := rs[i].Header
		if h.Get("X-Goog-Resource-State") != tc.state || (tc.number != "" && h.Get("X-Goog-Message-Number") != tc.number) ||
			h.Get("X-Goog-Changed") != tc.changed || h.Get("X-Goog-Channel-Token") != tc.token || rs[i].Body != tc.body {
			t.Errorf("message %d: headers %v body %q, want %+v", i, h, rs[i].Body, tc)
		}
		if _, ok := h["X-Goog-Channel-Token"]; tc.token == "" && ok {
			t.Errorf("message %d has a token header though none was set", i)
		}
		if h.Get("X-Goog-Channel-Id") == "" || h.Get("X-Goog-Resource-Id") == "" || h.Get("X-Goog-Resource-Uri") == "" {
			t.Errorf("message %d lacks an id header: %v", i, h)
		}
	}
	h := rs[0].Header
	if h.Get("X-Goog-Channel-ID") != "files" || h.Get("X-Goog-Resource-ID") != files.ResourceID ||
		h.Get("X-Goog-Resource-URI") != files.ResourceURI || h.Get("X-Goog-Channel-Expiration") != exp {
		t.Errorf("sync headers %v, want channel files, resource %s %s, expiration %s", h, files.ResourceID, files.ResourceURI, exp)
	}
	if _, err := time.Parse(time.RFC1123, h.Get("X-Goog-Channel-Expiration")); err != nil {
		t.Errorf("expiration is not RFC 1123: %v", err)
	}
	// Message numbers increase but are not consecutive.
	n1, _ := strconv.Atoi(rs[1].Header.Get("X-Goog-Message-Number"))
	n2, _ := strconv.Atoi(rs[2].Header.Get("X-Goog-Message-Number"))
	if !(n1 > 2 && n2 > n1+1) {
		t.Errorf("message numbers 1, %d, %d: want increasing, not consecutive", n1, n2)
	}
}

func TestRetryOn5xxWithBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := 20 * time.Millisecond
	sim := start(t, googlesim.Options{RetryBase: base, Sync: googlesim.SyncFirst})
	rcv := newReceiver(t)
	if _, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindCalendarEvents, params: map[string]string{"calendarId": "c"}, id: "c", address: rcv.URL}); err != nil {
		t.Fatal(err)
	}
	flush(t, sim)
	rcv.respond(503, 500, 200)
	if err := sim.Push("c", "exists"); err != nil {
		t.Fatal(err)
	}
	flush(t, sim)

	var statuses []int
	for _, d := range sim.Deliveries()[1:] {
		statuses = append(statuses, d.Status)
	}
	if d := cmp.Diff([]int{503, 500, 200}, statuses); d != "" {
		t.Fatalf("attempt statuses (-want +got):\n%s", d)
	}
	rs := rcv.received()[1:]
	for i := range rs {
		if rs[i].Header.Get("X-Goog-Message-Number") != rs[0].Header.Get("X-Goog-Message-Number") {
			t.Errorf("a retry changed the message number")
		}
	}
	gap1, gap2 := rs[1].At.Sub(rs[0].At), rs[2].At.Sub(rs[1].At)
	if gap1 < base || gap2 < 2*base {
		t.Errorf("gaps %v, %v: want at least %v, then %v", gap1, gap2, base, 2*base)
	}
	if st := sim.Stats(); st.Delivered != 2 || st.Undelivered != 0 || st.Attempts != 4 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status   int
		attempts int
	}{
		// Success codes: one attempt.
		{200, 1}, {201, 1}, {202, 1}, {204, 1},
		// Other codes are failed messages, never retried.
		{400, 1}, {403, 1}, {404, 1}, {410, 1}, {429, 1}, {501, 1}, {301, 1},
		// 500, 502, 503, 504 are retried up to MaxAttempts.
		{500, 3}, {502, 3}, {503, 3}, {504, 3},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			sim := start(t, googlesim.Options{MaxAttempts: 3, RetryBase: time.Millisecond, Sync: googlesim.SyncFirst})
			rcv := newReceiver(t)
			// Not following redirects, as Google does not.
			if _, err := watch(context.Background(), sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "c", address: rcv.URL}); err != nil {
				t.Fatal(err)
			}
			flush(t, sim)
			rcv.respond(tc.status, tc.status, tc.status)
			if err := sim.Push("c", "update"); err != nil {
				t.Fatal(err)
			}
			flush(t, sim)
			if got := len(sim.Deliveries()) - 1; got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			ok := tc.status < 300
			if st := sim.Stats(); (st.Delivered == 2) != ok || (st.Undelivered == 1) == ok {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestNoPushAfterStopOrExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	sim := start(t, googlesim.Options{Now: clk.Now})
	rcv := newReceiver(t)
	params := map[string]string{"calendarId": "c"}
	a, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindCalendarEvents, params: params, id: "a", address: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindCalendarEvents, params: params, id: "b", address: rcv.URL, ttl: "60"}); err != nil {
		t.Fatal(err)
	}
	flush(t, sim)
	if n, _ := sim.PushResource(a.ResourceID, "exists"); n != 2 {
		t.Fatalf("pushed to %d channels, want 2", n)
	}

	if err := stop(ctx, sim.URL, "calendar", "a", a.ResourceID); err != nil {
		t.Fatal(err)
	}
	if err := sim.Push("a", "exists"); !errors.Is(err, googlesim.ErrNotLive) {
		t.Errorf("Push after stop: %v, want ErrNotLive", err)
	}
	if n, _ := sim.PushResource(a.ResourceID, "exists"); n != 1 {
		t.Errorf("after one stop, pushed to %d channels, want 1", n)
	}

	clk.Advance(61 * time.Second) // b expires
	if err := sim.Push("b", "exists"); !errors.Is(err, googlesim.ErrNotLive) {
		t.Errorf("Push after expiry: %v, want ErrNotLive", err)
	}
	if n, _ := sim.PushResource(a.ResourceID, "exists"); n != 0 {
		t.Errorf("pushed to %d channels, want none", n)
	}
	wantGoogleError(t, stop(ctx, sim.URL, "calendar", "b", a.ResourceID), 404, "notFound")
	if err := sim.Push("zzz", "exists"); !errors.Is(err, googlesim.ErrUnknownChannel) {
		t.Errorf("Push unknown: %v", err)
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("Live = %+v", live)
	}
	flush(t, sim)
	count := map[string]int{}
	for _, r := range rcv.received() {
		count[r.Header.Get("X-Goog-Channel-Id")]++
	}
	if d := cmp.Diff(map[string]int{"a": 2, "b": 3}, count); d != "" {
		t.Errorf("messages per channel (-want +got):\n%s", d)
	}
}

func TestDeletedResource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	rcv := newReceiver(t)
	req := watchReq{kind: googlesim.KindDriveChanges, params: map[string]string{"pageToken": "1"}, id: "c1", address: rcv.URL}
	g, err := watch(ctx, sim.URL, req)
	if err != nil {
		t.Fatal(err)
	}
	sim.DeleteResource(g.ResourceID)

	req.id = "c2"
	wantGoogleError(t, must(watch(ctx, sim.URL, req)), 404, "notFound")
	svc, err := drive.NewService(ctx, opts(sim.URL, "/drive/v3/")...)
	if err != nil {
		t.Fatal(err)
	}
	wantGoogleError(t, must(svc.Changes.GetStartPageToken().Do()), 404, "notFound")
	if err := sim.Push("c1", "change"); !errors.Is(err, googlesim.ErrNotLive) {
		t.Errorf("Push on a deleted resource: %v", err)
	}
	if n, _ := sim.PushResource(g.ResourceID, "change"); n != 0 {
		t.Errorf("pushed to %d channels of a deleted resource", n)
	}
	// Its channel can still be stopped, and then nothing is live.
	if err := stop(ctx, sim.URL, "drive", "c1", g.ResourceID); err != nil {
		t.Fatal(err)
	}
	if len(sim.Live()) != 0 {
		t.Errorf("Live = %+v", sim.Live())
	}

	sim.RestoreResource(g.ResourceID)
	req.id = "c3"
	if _, err := watch(ctx, sim.URL, req); err != nil {
		t.Errorf("watch after restore: %v", err)
	}
}

func TestStartPageToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	rcv := newReceiver(t)
	svc, err := drive.NewService(ctx, opts(sim.URL, "/drive/v3/")...)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.Changes.GetStartPageToken().Do()
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind != "drive#startPageToken" || tok.StartPageToken == "" {
		t.Fatalf("token %+v", tok)
	}
	g, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveChanges, params: map[string]string{"pageToken": tok.StartPageToken}, id: "c", address: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sim.PushResource(g.ResourceID, "change") //nolint:errcheck // counted below
	next, err := svc.Changes.GetStartPageToken().Do()
	if err != nil {
		t.Fatal(err)
	}
	if next.StartPageToken == tok.StartPageToken {
		t.Errorf("start page token %s did not move after a change", next.StartPageToken)
	}
	flush(t, sim)
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	rcv := newReceiver(t)
	for i, tc := range []struct {
		name   string
		req    watchReq
		reason string
	}{
		// changes.watch needs a page token.
		{"no page token", watchReq{kind: googlesim.KindDriveChanges}, "required"},
		// users.watch needs a customer or a domain.
		{"no customer", watchReq{kind: googlesim.KindDirectoryUsers, params: map[string]string{"event": "add"}}, "badRequest"},
		// Directory events are a closed list.
		{"bad event", watchReq{kind: googlesim.KindDirectoryUsers, params: map[string]string{"domain": "example.com", "event": "explode"}}, "invalidParameter"},
		// A channel needs an id...
		{"no id", watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "-"}, "required"},
		// ...of at most 64 characters...
		{"long id", watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: strings.Repeat("x", 65)}, "invalid"},
		// ...an address...
		{"no address", watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, address: "-"}, "required"},
		// ...and a token of at most 256 characters.
		{"long token", watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, token: strings.Repeat("t", 257)}, "invalid"},
		// A ttl must be a positive number of seconds.
		{"bad ttl", watchReq{kind: googlesim.KindCalendarEvents, params: map[string]string{"calendarId": "c"}, ttl: "soon"}, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			switch r.id {
			case "":
				r.id = fmt.Sprint("bad-", i)
			case "-":
				r.id = ""
			}
			switch r.address {
			case "":
				r.address = rcv.URL
			case "-":
				r.address = ""
			}
			wantGoogleError(t, must(watch(ctx, sim.URL, r)), 400, tc.reason)
		})
	}
	if st := sim.Stats(); st.WatchOK != 0 || len(sim.Live()) != 0 {
		t.Errorf("a bad request opened a channel: %+v", st)
	}
}

func TestInjectedFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		f       googlesim.Failure
		message string
	}{
		// Revoked credentials or grant.
		{"auth", googlesim.FailAuth, "Invalid Credentials"},
		// Permission lost.
		{"forbidden", googlesim.FailForbidden, "Forbidden"},
		// Rate limits, as 403 and as 429.
		{"rate", googlesim.FailRateLimit, "Rate Limit Exceeded"},
		{"user rate", googlesim.FailUserRateLimit, "User Rate Limit Exceeded"},
		{"429", googlesim.FailTooManyRequests, "Too Many Requests"},
		// The webhook's domain is not allowed: the message names the address.
		{"webhook", googlesim.FailWebhook, "Unauthorized WebHook callback channel: "},
		// Gone, and server errors.
		{"gone", googlesim.FailGone, "Resource has been deleted"},
		{"500", googlesim.FailBackend, "Backend Error"},
		{"503", googlesim.FailUnavailable, "The service is currently unavailable."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := start(t, googlesim.Options{})
			rcv := newReceiver(t)
			sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch}, tc.f)
			req := watchReq{kind: googlesim.KindCalendarACL, params: map[string]string{"calendarId": "c"}, id: "c1", address: rcv.URL}
			e := wantGoogleError(t, must(watch(ctx, sim.URL, req)), tc.f.Code, tc.f.Reason)
			want := tc.message
			if tc.f.Reason == googlesim.FailWebhook.Reason {
				want += rcv.URL
			}
			if e.Message != want || e.Errors[0].Message != want {
				t.Errorf("message %q / %q, want %q", e.Message, e.Errors[0].Message, want)
			}
			// One failure only; the id was not consumed by the failed call.
			if _, err := watch(ctx, sim.URL, req); err != nil {
				t.Errorf("second watch: %v", err)
			}
		})
	}
}

// TestFailureRetryAfter proves an injected failure's RetryAfter reaches
// the client as a Retry-After header in whole seconds.
func TestFailureRetryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	rcv := newReceiver(t)
	for i, tc := range []struct {
		name  string
		after time.Duration
		want  string // the header; "" for none
	}{
		// Whole seconds are sent as they are.
		{"seconds", 30 * time.Second, "30"},
		// A fraction is rounded up: asking for less than was meant would
		// invite the next refusal.
		{"fraction", 1500 * time.Millisecond, "2"},
		{"under a second", time.Millisecond, "1"},
		// Unset: no header, as most of Google's answers.
		{"unset", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := googlesim.FailTooManyRequests
			f.RetryAfter = tc.after
			sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch}, f)
			req := watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: fmt.Sprint("ra-", i), address: rcv.URL}
			e := wantGoogleError(t, must(watch(ctx, sim.URL, req)), 429, "rateLimitExceeded")
			if got := e.Header.Get("Retry-After"); got != tc.want {
				t.Errorf("Retry-After = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFailMatching(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	rcv := newReceiver(t)
	revoked := map[string]string{"calendarId": "revoked@example.com"}
	fine := map[string]string{"calendarId": "fine@example.com"}
	w := func(id string, p map[string]string) error {
		return must(watch(ctx, sim.URL, watchReq{kind: googlesim.KindCalendarEvents, params: p, id: id, address: rcv.URL}))
	}

	// A persistent failure on one resource leaves the others alone.
	clear := sim.Fail(googlesim.Match{ResourceID: googlesim.ResourceID(googlesim.KindCalendarEvents, revoked)}, googlesim.FailAuth)
	wantGoogleError(t, w("r1", revoked), 401, "authError")
	wantGoogleError(t, w("r2", revoked), 401, "authError")
	if err := w("f1", fine); err != nil {
		t.Fatal(err)
	}
	clear()
	if err := w("r3", revoked); err != nil {
		t.Errorf("after clear: %v", err)
	}

	// The next two stops fail with 503, the third goes through.
	sim.FailNext(2, googlesim.Match{Op: googlesim.OpStop, Kind: googlesim.KindCalendarEvents}, googlesim.FailUnavailable)
	rid := googlesim.ResourceID(googlesim.KindCalendarEvents, fine)
	wantGoogleError(t, stop(ctx, sim.URL, "calendar", "f1", rid), 503, "backendError")
	wantGoogleError(t, stop(ctx, sim.URL, "calendar", "f1", rid), 503, "backendError")
	if err := stop(ctx, sim.URL, "calendar", "f1", rid); err != nil {
		t.Errorf("third stop: %v", err)
	}

	// Func selects anything else; ClearFailures removes everything.
	sim.Fail(googlesim.Match{Func: func(c googlesim.Call) bool { return strings.HasPrefix(c.ChannelID, "x-") }}, googlesim.FailForbidden)
	wantGoogleError(t, w("x-1", fine), 403, "forbidden")
	sim.ClearFailures()
	if err := w("x-2", fine); err != nil {
		t.Errorf("after ClearFailures: %v", err)
	}
}

// Many channels at once, with latency: each call gets its own channel and
// the counts add up.
func TestConcurrentWatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{Latency: 5 * time.Millisecond})
	var hits sync.WaitGroup
	rcv := newReceiver(t)
	const n = 300
	errs := make(chan error, n)
	for i := range n {
		hits.Add(1)
		go func() {
			defer hits.Done()
			g, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": fmt.Sprint("f", i%10)}, id: fmt.Sprint("c", i), address: rcv.URL})
			if err == nil && i%2 == 0 {
				err = stop(ctx, sim.URL, "drive", g.ID, g.ResourceID)
			}
			errs <- err
		}()
	}
	hits.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	flush(t, sim)
	if st := sim.Stats(); st.WatchOK != n || st.StopOK != n/2 || st.Delivered != n {
		t.Errorf("Stats = %+v", st)
	}
	if got := len(sim.Live()); got != n/2 {
		t.Errorf("%d live, want %d", got, n/2)
	}
}

// BenchmarkWatchStop opens and stops channels from many goroutines, with
// the renew benchmark's 20 ms of latency per call.
func BenchmarkWatchStop(b *testing.B) {
	ctx := context.Background()
	sim, err := googlesim.Start(googlesim.Options{Latency: 20 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	hook := newReceiver(b)
	b.SetParallelism(50)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("c", n.Add(1))
			g, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": id}, id: id, address: hook.URL})
			if err == nil {
				err = stop(ctx, sim.URL, "drive", g.ID, g.ResourceID)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if live := len(sim.Live()); live != 0 {
		b.Errorf("%d channels leaked", live)
	}
}
