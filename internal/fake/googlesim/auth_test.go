package googlesim_test

import (
	"context"
	"testing"

	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// as returns client options whose calls stand for subject ("" the service
// account), with the bearer token renew's clients send in base-URL mode.
func as(base, path, subject string) []option.ClientOption {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: google.SubjectToken(subject)})
	return []option.ClientOption{option.WithEndpoint(base + path), option.WithTokenSource(ts)}
}

// A revoked subject's watch, stop and start page token calls are answered
// 401 authError; other subjects and the service account (by its token or
// with no Authorization at all) go on working, until the grant is given
// again.
func TestRevokeSubject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{Sync: googlesim.SyncAfter})
	rcv := newReceiver(t)
	const alice, bob = "alice@example.com", "bob@example.com"
	cal := func(subject string) *calendar.Service {
		svc, err := calendar.NewService(ctx, as(sim.URL, "/calendar/v3/", subject)...)
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	anonymous, err := calendar.NewService(ctx, opts(sim.URL, "/calendar/v3/")...)
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*calendar.Service{alice: cal(alice), bob: cal(bob), "sa": cal(""), "anonymous": anonymous}
	rid := googlesim.ResourceID(googlesim.KindCalendarEvents, map[string]string{"calendarId": "c1"})
	watch := func(who, id string) error {
		_, err := clients[who].Events.Watch("c1", &calendar.Channel{Id: id, Type: "web_hook", Address: rcv.URL}).Context(ctx).Do()
		return err
	}
	stop := func(who, id string) error {
		return clients[who].Channels.Stop(&calendar.Channel{Id: id, ResourceId: rid}).Context(ctx).Do()
	}

	// Before: everyone opens a channel, and Live says whose token opened it.
	for _, who := range []string{alice, bob, "sa", "anonymous"} {
		if err := watch(who, "before-"+who); err != nil {
			t.Fatalf("%s: %v", who, err)
		}
	}
	subjects := map[string]string{}
	for _, c := range sim.Live() {
		subjects[c.ID] = c.Subject
	}
	want := map[string]string{"before-" + alice: alice, "before-" + bob: bob, "before-sa": "", "before-anonymous": ""}
	for id, sub := range want {
		if got, ok := subjects[id]; !ok || got != sub {
			t.Errorf("channel %s: subject %q (live %v), want %q", id, got, ok, sub)
		}
	}

	sim.RevokeSubject(alice)
	e := wantGoogleError(t, watch(alice, "after-"+alice), 401, "authError")
	if e.Message != "Invalid Credentials" {
		t.Errorf("message %q, want Invalid Credentials", e.Message)
	}
	wantGoogleError(t, stop(alice, "before-"+alice), 401, "authError")
	if c, _ := sim.Channel("before-" + alice); !c.StoppedAt.IsZero() {
		t.Error("a refused stop stopped the channel")
	}
	if _, ok := sim.Channel("after-" + alice); ok {
		t.Error("a refused watch opened a channel")
	}
	dsvc, err := drive.NewService(ctx, as(sim.URL, "/drive/v3/", alice)...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dsvc.Changes.GetStartPageToken().Context(ctx).Do()
	wantGoogleError(t, err, 401, "authError")

	// Others are unaffected.
	for _, who := range []string{bob, "sa", "anonymous"} {
		if err := watch(who, "after-"+who); err != nil {
			t.Errorf("%s watch: %v", who, err)
		}
		if err := stop(who, "before-"+who); err != nil {
			t.Errorf("%s stop: %v", who, err)
		}
	}

	// A revoked call consumes no injected failure; Match.Subject selects
	// one subject's calls.
	sim.FailNext(1, googlesim.Match{Subject: bob}, googlesim.FailForbidden)
	wantGoogleError(t, watch(alice, "x-"+alice), 401, "authError")
	if err := watch("sa", "x-sa"); err != nil {
		t.Errorf("the service account took bob's failure: %v", err)
	}
	wantGoogleError(t, watch(bob, "x-"+bob), 403, "forbidden")

	// The grant given again, alice works again.
	sim.RestoreSubject(alice)
	if err := watch(alice, "restored-"+alice); err != nil {
		t.Errorf("after RestoreSubject: %v", err)
	}
	if err := stop(alice, "before-"+alice); err != nil {
		t.Errorf("stop after RestoreSubject: %v", err)
	}

	// The empty subject is the service account's own access.
	sim.RevokeSubject("")
	wantGoogleError(t, watch("sa", "sa-revoked"), 401, "authError")
	wantGoogleError(t, watch("anonymous", "anonymous-revoked"), 401, "authError")
	if err := watch(bob, "bob-still"); err != nil {
		t.Errorf("bob with the service account revoked: %v", err)
	}
	flush(t, sim)
}
