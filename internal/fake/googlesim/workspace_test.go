package googlesim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	workspaceevents "google.golang.org/api/workspaceevents/v1"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

const (
	chatSpace   = "//chat.googleapis.com/spaces/AAA"
	eventsTopic = "projects/p/topics/events"
)

// eventsClient is the real workspaceevents/v1 client acting for subject,
// as the adapter builds it in base-URL mode.
func eventsClient(t *testing.T, base, subject string) *workspaceevents.Service {
	t.Helper()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: google.SubjectToken(subject), TokenType: "Bearer"})
	svc, err := workspaceevents.NewService(context.Background(), option.WithEndpoint(base+"/"), option.WithTokenSource(ts))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newSubscription(target, ttl string, includeResource bool) *workspaceevents.Subscription {
	s := &workspaceevents.Subscription{TargetResource: target, Ttl: ttl,
		EventTypes:           []string{"google.workspace.chat.message.v1.created"},
		NotificationEndpoint: &workspaceevents.NotificationEndpoint{PubsubTopic: eventsTopic}}
	if includeResource {
		s.PayloadOptions = &workspaceevents.PayloadOptions{IncludeResource: true}
	}
	return s
}

// result is the subscription a done operation answers.
func result(t *testing.T) func(*workspaceevents.Operation, error) *workspaceevents.Subscription {
	return func(op *workspaceevents.Operation, err error) *workspaceevents.Subscription {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var s workspaceevents.Subscription
		if !op.Done || json.Unmarshal(op.Response, &s) != nil || s.Name == "" {
			t.Fatalf("operation %+v answered no subscription", op)
		}
		return &s
	}
}

// expires checks s expires d after now.
func expires(t *testing.T, s *workspaceevents.Subscription, now time.Time, d time.Duration) {
	t.Helper()
	if got, err := time.Parse(time.RFC3339Nano, s.ExpireTime); err != nil || !got.Equal(now.Add(d)) {
		t.Errorf("%s expires %s, want now + %v", s.Name, s.ExpireTime, d)
	}
}

// TestSubscriptionLifecycle: create, get, renew by patch, list, suspend,
// reactivate and delete, with the answers and counts Google's would give.
func TestSubscriptionLifecycle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	sim := start(t, googlesim.Options{Now: clk.Now})
	svc, ctx := eventsClient(t, sim.URL, "ann@example.com"), context.Background()

	s := result(t)(svc.Subscriptions.Create(newSubscription(chatSpace, "", false)).Context(ctx).Do())
	// No ttl: the longest Google allows without resource data.
	expires(t, s, clk.Now(), 7*24*time.Hour)
	if s.State != "ACTIVE" || s.Authority != "users/ann@example.com" || s.TargetResource != chatSpace {
		t.Errorf("created %+v", s)
	}
	clk.Advance(time.Hour)
	s = result(t)(svc.Subscriptions.Patch(s.Name, &workspaceevents.Subscription{Ttl: "7200s"}).UpdateMask("ttl").Context(ctx).Do())
	expires(t, s, clk.Now(), 2*time.Hour)
	got, err := svc.Subscriptions.Get(s.Name).Context(ctx).Do()
	if err != nil || got.ExpireTime != s.ExpireTime {
		t.Errorf("get = %+v, %v; want the patched expiry", got, err)
	}

	// Reactivating an active subscription is a failed precondition.
	_, err = svc.Subscriptions.Reactivate(s.Name, &workspaceevents.ReactivateSubscriptionRequest{}).Context(ctx).Do()
	if ge, ok := err.(*googleapi.Error); !ok || ge.Code != 400 || !strings.Contains(ge.Body, "FAILED_PRECONDITION") {
		t.Errorf("reactivate of an active subscription: %v", err)
	}
	if !sim.SuspendSubscription(s.Name, "ENDPOINT_PERMISSION_DENIED") {
		t.Fatal("SuspendSubscription found nothing")
	}
	if got, _ := svc.Subscriptions.Get(s.Name).Context(ctx).Do(); got.State != "SUSPENDED" || got.SuspensionReason != "ENDPOINT_PERMISSION_DENIED" {
		t.Errorf("suspended: %+v", got)
	}
	if r := result(t)(svc.Subscriptions.Reactivate(s.Name, &workspaceevents.ReactivateSubscriptionRequest{}).Context(ctx).Do()); r.State != "ACTIVE" || r.SuspensionReason != "" {
		t.Errorf("reactivated: %+v", r)
	}

	// The adapter's list filter finds it; another user's list does not.
	filter := `(event_types:"google.workspace.chat.message.v1.created" OR event_types:"x") AND target_resource="` + chatSpace + `"`
	if l, err := svc.Subscriptions.List().Filter(filter).Context(ctx).Do(); err != nil || len(l.Subscriptions) != 1 || l.Subscriptions[0].Name != s.Name {
		t.Errorf("list = %+v, %v", l, err)
	}
	if l, err := eventsClient(t, sim.URL, "bob@example.com").Subscriptions.List().Filter(filter).Context(ctx).Do(); err != nil || len(l.Subscriptions) != 0 {
		t.Errorf("bob's list = %+v, %v", l, err)
	}

	if op, err := svc.Subscriptions.Delete(s.Name).Context(ctx).Do(); err != nil || !op.Done {
		t.Fatalf("delete = %+v, %v", op, err)
	}
	if _, err := svc.Subscriptions.Get(s.Name).Context(ctx).Do(); !google.IsNotFound(err) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := svc.Subscriptions.Delete(s.Name).Context(ctx).Do(); !google.IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
	st, ss := sim.Stats(), sim.SubscriptionStats()
	want := googlesim.SubscriptionStats{GetCalls: 3, ListCalls: 2, PatchCalls: 1, PatchOK: 1, ReactivateCalls: 2, ReactivateOK: 1}
	if st.WatchCalls != 1 || st.WatchOK != 1 || st.StopCalls != 2 || st.StopOK != 1 || ss != want {
		t.Errorf("Stats %+v, SubscriptionStats %+v; want %+v", st, ss, want)
	}
}

// TestSubscriptionOperations: with DelayOperations, an operation is done
// only at its nth poll, and only then carries the subscription.
func TestSubscriptionOperations(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{})
	svc, ctx := eventsClient(t, sim.URL, "ann@example.com"), context.Background()
	sim.DelayOperations(2)
	op, err := svc.Subscriptions.Create(newSubscription(chatSpace, "3600s", false)).Context(ctx).Do()
	if err != nil || op.Done || op.Response != nil {
		t.Fatalf("create = %+v, %v; want an operation not done", op, err)
	}
	for poll := 1; poll <= 2; poll++ {
		op, err = svc.Operations.Get(op.Name).Context(ctx).Do()
		if err != nil || op.Done != (poll == 2) {
			t.Fatalf("poll %d = %+v, %v", poll, op, err)
		}
	}
	if s := result(t)(op, nil); s.TargetResource != chatSpace {
		t.Errorf("answered %+v", s)
	}
	if _, err := svc.Operations.Get("operations/nope").Context(ctx).Do(); !google.IsNotFound(err) {
		t.Errorf("unknown operation: %v", err)
	}
}

// TestSubscriptionLimits: one subscription per target and user while it
// lives, with Google's lifetimes and its ALREADY_EXISTS answer.
func TestSubscriptionLimits(t *testing.T) {
	t.Parallel()
	clk := newClock()
	sim := start(t, googlesim.Options{Now: clk.Now})
	ann, ctx := eventsClient(t, sim.URL, "ann@example.com"), context.Background()

	// Resource data: at most 4 hours, whatever is asked.
	s := result(t)(ann.Subscriptions.Create(newSubscription(chatSpace, "86400s", true)).Context(ctx).Do())
	expires(t, s, clk.Now(), 4*time.Hour)
	_, err := ann.Subscriptions.Create(newSubscription(chatSpace, "60s", false)).Context(ctx).Do()
	if ge, ok := err.(*googleapi.Error); !ok || ge.Code != 409 || !strings.Contains(ge.Body, "ALREADY_EXISTS") {
		t.Errorf("second create: %v, want 409 ALREADY_EXISTS", err)
	}
	// Another user may subscribe to the same chatSpace.
	result(t)(eventsClient(t, sim.URL, "bob@example.com").Subscriptions.Create(newSubscription(chatSpace, "", false)).Context(ctx).Do())

	// Expired, it is deleted: get and patch find nothing, create works.
	clk.Advance(4*time.Hour + time.Second)
	if _, err := ann.Subscriptions.Get(s.Name).Context(ctx).Do(); !google.IsNotFound(err) {
		t.Errorf("get after expiry: %v", err)
	}
	if _, err := ann.Subscriptions.Patch(s.Name, &workspaceevents.Subscription{Ttl: "60s"}).UpdateMask("ttl").Context(ctx).Do(); !google.IsNotFound(err) {
		t.Errorf("patch after expiry: %v", err)
	}
	if sim.SuspendSubscription(s.Name, "OTHER") {
		t.Error("SuspendSubscription suspended an expired subscription")
	}
	again := result(t)(ann.Subscriptions.Create(newSubscription(chatSpace, "60s", false)).Context(ctx).Do())
	if subs := sim.Subscriptions(); len(subs) != 3 || subs[0].State != "DELETED" || again.Name == s.Name {
		t.Errorf("subscriptions %+v", subs)
	}
}

// TestSubscriptionRefusals: bad requests, revoked users, missing targets
// and injected failures answer as Google does.
func TestSubscriptionRefusals(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{})
	ctx := context.Background()
	sim.RevokeSubject("carl@example.com")
	sim.DeleteResource("//chat.googleapis.com/spaces/GONE")
	sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch, Kind: googlesim.KindWorkspaceEvents, ResourceID: "//chat.googleapis.com/spaces/BUSY"}, googlesim.FailUnavailable)
	noTopic := newSubscription(chatSpace, "", false)
	noTopic.NotificationEndpoint.PubsubTopic = "https://hooks.example"
	for _, tc := range []struct {
		name    string
		subject string
		s       *workspaceevents.Subscription
		code    int
	}{
		{"not a eventsTopic", "ann@example.com", noTopic, 400},
		{"not a full resource name", "ann@example.com", newSubscription("spaces/AAA", "", false), 400},
		{"bad ttl", "ann@example.com", newSubscription(chatSpace, "an hour", false), 400},
		{"deleted target", "ann@example.com", newSubscription("//chat.googleapis.com/spaces/GONE", "", false), 404},
		{"revoked user", "carl@example.com", newSubscription(chatSpace, "", false), 401},
		{"injected", "ann@example.com", newSubscription("//chat.googleapis.com/spaces/BUSY", "", false), 503},
	} {
		_, err := eventsClient(t, sim.URL, tc.subject).Subscriptions.Create(tc.s).Context(ctx).Do()
		if ge, ok := err.(*googleapi.Error); !ok || ge.Code != tc.code {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.code)
		}
	}
	if _, err := eventsClient(t, sim.URL, "ann@example.com").Subscriptions.List().Filter(`name="x"`).Context(ctx).Do(); err == nil {
		t.Error("a filter without event types was accepted")
	}
	if st := sim.Stats(); st.WatchCalls != 6 || st.WatchOK != 0 {
		t.Errorf("Stats %+v", st)
	}
}

// TestSubscriptionsListPages: subscriptions.list answers pageSize of the
// caller's matching subscriptions a page, at most 100 whatever is asked,
// Options.PageSize for 0, with a nextPageToken while more remain, as the
// typed client's Pages follows them; a token it never made is refused.
func TestSubscriptionsListPages(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{PageSize: 40})
	ann, ctx := eventsClient(t, sim.URL, "ann@example.com"), context.Background()
	var want []string
	for i := range 101 {
		s := result(t)(ann.Subscriptions.Create(newSubscription(fmt.Sprintf("%s%03d", chatSpace, i), "", false)).Context(ctx).Do())
		want = append(want, s.Name)
	}
	// bob's subscription is not ann's to list.
	result(t)(eventsClient(t, sim.URL, "bob@example.com").Subscriptions.Create(newSubscription(chatSpace, "", false)).Context(ctx).Do())
	filter := `event_types:"google.workspace.chat.message.v1.created"`
	for _, tc := range []struct {
		size  int64
		pages []int // subscriptions on each page
	}{
		{0, []int{40, 40, 21}}, // 0 asks for the default, Options.PageSize
		{200, []int{100, 1}},   // more than 100 is served at 100
		{60, []int{60, 41}},    // the size asked
	} {
		var got []string
		var sizes []int
		err := ann.Subscriptions.List().Filter(filter).PageSize(tc.size).Pages(ctx, func(r *workspaceevents.ListSubscriptionsResponse) error {
			sizes = append(sizes, len(r.Subscriptions))
			for _, s := range r.Subscriptions {
				got = append(got, s.Name)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("pageSize %d: %v", tc.size, err)
		}
		if diff := cmp.Diff(want, got); diff != "" || !slices.Equal(sizes, tc.pages) {
			t.Errorf("pageSize %d: pages %v, want %v; subscriptions (-want +got):\n%s", tc.size, sizes, tc.pages, diff)
		}
	}
	if _, err := ann.Subscriptions.List().Filter(filter).PageToken("nope").Context(ctx).Do(); code(err) != 400 {
		t.Errorf("made-up page token: %v, want 400", err)
	}
}
