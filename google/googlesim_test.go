package google_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

// startSim starts a simulated Google and a webhook that accepts its pushes.
func startSim(t *testing.T) (*googlesim.Sim, *google.APIs, string) {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	sim, err := googlesim.Start(googlesim.Options{Sync: googlesim.SyncAfter, RetryBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	a, err := google.NewAPIs(context.Background(), google.APIConfig{BaseURL: sim.URL})
	if err != nil {
		t.Fatal(err)
	}
	return sim, a, hook.URL
}

// TestAPIsAgainstGoogleSim runs every kind's Watch and Stop through the
// real clients against the simulator: the channel opens under the right
// resource with our id, token, address and lifetime, stops through its own
// API, and a second stop is "already stopped". None is left live.
func TestAPIsAgainstGoogleSim(t *testing.T) {
	t.Parallel()
	sim, a, hook := startSim(t)
	ctx := context.Background()
	for i, tc := range kindCases {
		t.Run(tc.name, func(t *testing.T) {
			w := store.Watch{ID: "w1", Kind: tc.kind, Params: tc.params}
			now := time.Now()
			req := google.ChannelRequest{
				ID: fmt.Sprintf("sim-channel-%d", i), Token: "tok-" + tc.kind, Address: hook,
				Expiration: google.RequestedExpiration(w, now),
			}
			g, err := a.Watch(ctx, w, req)
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			c, ok := sim.Channel(req.ID)
			if !ok {
				t.Fatalf("the simulator has no channel %s", req.ID)
			}
			if c.Kind != tc.kind || c.ResourceID != g.ResourceID || c.ResourceURI != g.ResourceURI ||
				c.Token != req.Token || c.Address != hook || !c.Expiration.Equal(g.Expiration) {
				t.Errorf("simulator channel %+v does not match the request %+v and grant %+v", c, req, g)
			}
			// We never ask for more than the simulator grants, so the
			// grant is what we asked (params.ttl, counted in whole
			// seconds from the simulator's clock, may shave a second).
			if d := req.Expiration.Sub(g.Expiration); d < 0 || d > 2*time.Second {
				t.Errorf("granted %v, asked %v", g.Expiration, req.Expiration)
			}

			if err := a.Stop(ctx, w, req.ID, g.ResourceID); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if c, _ := sim.Channel(req.ID); c.StoppedAt.IsZero() {
				t.Error("the simulator did not stop the channel")
			}
			if err := a.Stop(ctx, w, req.ID, g.ResourceID); !google.IsNotFound(err) {
				t.Errorf("second Stop = %v, want not found", err)
			}
		})
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("%d channels left live: %+v", len(live), live)
	}
}

// TestAPIsAgainstGoogleSimShortTTL proves a watch's ttlSeconds reaches
// Google and comes back as the granted expiration.
func TestAPIsAgainstGoogleSimShortTTL(t *testing.T) {
	t.Parallel()
	sim, a, hook := startSim(t)
	w := store.Watch{Kind: "calendar.events", Params: map[string]string{"calendarId": "c1"}, TTLSeconds: 90}
	now := time.Now()
	g, err := a.Watch(context.Background(), w, google.ChannelRequest{ID: "short", Address: hook, Expiration: google.RequestedExpiration(w, now)})
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Expiration.Sub(now); d < 85*time.Second || d > 90*time.Second {
		t.Errorf("granted now + %v, want about 90s", d)
	}
	if err := a.Stop(context.Background(), w, "short", g.ResourceID); err != nil {
		t.Fatal(err)
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("left live: %+v", live)
	}
}

// TestClassifyAgainstGoogleSim proves each error class as the real
// clients report the simulator's Google-shaped failures.
func TestClassifyAgainstGoogleSim(t *testing.T) {
	t.Parallel()
	sim, a, hook := startSim(t)
	w := store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}}
	resource := googlesim.ResourceID("drive.files", map[string]string{"fileId": "f1"})
	for i, tc := range []struct {
		name   string
		inject *googlesim.Failure
		want   google.Class
		reason string
	}{
		// The webhook domain is not allowed: failed, reason spelled out.
		{"webhook", &googlesim.FailWebhook, google.ClassFailed, "Unauthorized WebHook callback channel: " + hook},
		// The grant was revoked.
		{"auth", &googlesim.FailAuth, google.ClassFailed, "rejected the credentials"},
		// Access to the file was lost.
		{"forbidden", &googlesim.FailForbidden, google.ClassFailed, "permission denied"},
		// Rate limits, 429 and 5xx are retried.
		{"rate limit", &googlesim.FailRateLimit, google.ClassTransient, "rateLimitExceeded"},
		{"user rate limit", &googlesim.FailUserRateLimit, google.ClassTransient, "userRateLimitExceeded"},
		{"429", &googlesim.FailTooManyRequests, google.ClassTransient, "429"},
		{"503", &googlesim.FailUnavailable, google.ClassTransient, "503"},
		// The file is gone.
		{"404", &googlesim.FailNotFound, google.ClassGone, "no longer exists"},
		{"410", &googlesim.FailGone, google.ClassGone, "410"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch, ResourceID: resource}, *tc.inject)
			_, err := a.Watch(context.Background(), w, google.ChannelRequest{
				ID: fmt.Sprint("fail-", i), Token: "tok", Address: hook, Expiration: time.Now().Add(time.Hour),
			})
			if err == nil {
				t.Fatal("Watch succeeded despite the injected failure")
			}
			if c := google.Classify(err); c != tc.want {
				t.Errorf("Classify = %v, want %v (%v)", c, tc.want, err)
			}
			if r := google.Reason(err); !strings.Contains(r, tc.reason) {
				t.Errorf("Reason = %q, want it to contain %q", r, tc.reason)
			}
		})
	}

	// A deleted resource is gone.
	sim.DeleteResource(resource)
	_, err := a.Watch(context.Background(), w, google.ChannelRequest{ID: "deleted", Address: hook, Expiration: time.Now().Add(time.Hour)})
	if google.Classify(err) != google.ClassGone {
		t.Errorf("watch on a deleted file: %v, class %v, want gone", err, google.Classify(err))
	}
	sim.RestoreResource(resource)

	// A reused channel id (a retried call whose first attempt got through)
	// is not the watch's fault.
	req := google.ChannelRequest{ID: "twice", Address: hook, Expiration: time.Now().Add(time.Hour)}
	g, err := a.Watch(context.Background(), w, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Watch(context.Background(), w, req); google.Classify(err) != google.ClassTransient {
		t.Errorf("reused id: %v, class %v, want transient", err, google.Classify(err))
	}
	if err := a.Stop(context.Background(), w, req.ID, g.ResourceID); err != nil {
		t.Fatal(err)
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("left live: %+v", live)
	}
}

// TestErrorKindsAgainstGoogleSim proves IsThrottle, IsAnswer and
// RetryAfter on the errors the real clients return: Google's answers
// (injected), a call that times out while the simulator holds it, and a
// server that is gone.
func TestErrorKindsAgainstGoogleSim(t *testing.T) {
	t.Parallel()
	sim, a, hook := startSim(t)
	w := store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}}
	match := googlesim.Match{Op: googlesim.OpWatch, ResourceID: googlesim.ResourceID("drive.files", w.Params)}
	with := func(f googlesim.Failure, after time.Duration) googlesim.Failure {
		f.RetryAfter = after
		return f
	}
	// A simulator that is no longer there: the client gets no answer.
	closed, err := googlesim.Start(googlesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	gone, err := google.NewAPIs(context.Background(), google.APIConfig{BaseURL: closed.URL})
	if err != nil {
		t.Fatal(err)
	}

	for i, tc := range []struct {
		name       string
		fail       func(t *testing.T) (timeout time.Duration, undo func()) // arranges the failure
		apis       *google.APIs                                            // default a
		throttle   bool
		answer     bool
		retryAfter time.Duration
	}{
		// 429 with Retry-After: slow down, and for how long.
		{name: "429 with Retry-After", fail: injected(sim, match, with(googlesim.FailTooManyRequests, 30*time.Second)),
			throttle: true, answer: true, retryAfter: 30 * time.Second},
		// Rate-limit 403s throttle too; Retry-After is whole seconds.
		{name: "403 rate limit", fail: injected(sim, match, with(googlesim.FailRateLimit, 1500*time.Millisecond)),
			throttle: true, answer: true, retryAfter: 2 * time.Second},
		{name: "403 user rate limit", fail: injected(sim, match, googlesim.FailUserRateLimit), throttle: true, answer: true},
		// 5xx: Google's trouble, slow down.
		{name: "500", fail: injected(sim, match, googlesim.FailBackend), throttle: true, answer: true},
		{name: "503 with Retry-After", fail: injected(sim, match, with(googlesim.FailUnavailable, 5*time.Second)),
			throttle: true, answer: true, retryAfter: 5 * time.Second},
		// Refusals are answers but no reason to slow down.
		{name: "403 forbidden", fail: injected(sim, match, googlesim.FailForbidden), answer: true},
		{name: "401", fail: injected(sim, match, googlesim.FailAuth), answer: true},
		{name: "404", fail: injected(sim, match, googlesim.FailNotFound), answer: true},
		{name: "400 webhook", fail: injected(sim, match, googlesim.FailWebhook), answer: true},
		// A status nothing recognises is still an answer.
		{name: "412", fail: injected(sim, match, googlesim.Failure{Code: 412, Reason: "conditionNotMet", Message: "Precondition Failed"}), answer: true},
		// Timed out while Google held the call: no answer, the channel
		// may exist.
		{name: "timeout", fail: func(t *testing.T) (time.Duration, func()) {
			release := sim.Hold(match)
			// Released only once the simulator has dropped the call,
			// so that it opens nothing.
			return 50 * time.Millisecond, func() { waitDropped(t, sim); release() }
		}},
		// Nobody listening: a transport error, no answer either.
		{name: "closed server", apis: gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.fail != nil {
				timeout, undo := tc.fail(t)
				defer undo()
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
			}
			apis := a
			if tc.apis != nil {
				apis = tc.apis
			}
			_, err := apis.Watch(ctx, w, google.ChannelRequest{
				ID: fmt.Sprint("kinds-", i), Token: "tok", Address: hook, Expiration: time.Now().Add(time.Hour),
			})
			if err == nil {
				t.Fatal("Watch succeeded despite the failure")
			}
			if got := google.IsThrottle(err); got != tc.throttle {
				t.Errorf("IsThrottle = %v, want %v (%v)", got, tc.throttle, err)
			}
			if got := google.IsAnswer(err); got != tc.answer {
				t.Errorf("IsAnswer = %v, want %v (%v)", got, tc.answer, err)
			}
			if got := google.RetryAfter(err); got != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v (%v)", got, tc.retryAfter, err)
			}
			// Every one of them is retried by the next pass.
			if !tc.answer && google.Classify(err) != google.ClassTransient {
				t.Errorf("Classify = %v, want transient (%v)", google.Classify(err), err)
			}
		})
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("left live: %+v", live)
	}
}

// injected arranges for the next call that matches to fail with f.
func injected(sim *googlesim.Sim, m googlesim.Match, f googlesim.Failure) func(*testing.T) (time.Duration, func()) {
	return func(*testing.T) (time.Duration, func()) {
		sim.FailNext(1, m, f)
		return 0, sim.ClearFailures
	}
}

// waitDropped waits until the simulator has dropped a held call whose
// client gave up.
func waitDropped(t *testing.T, sim *googlesim.Sim) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); sim.Stats().Dropped == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the simulator still holds a call its client gave up")
		}
	}
}

// TestRevokedSubjectAgainstGoogleSim proves that the simulator learns a
// watch's subject from the real clients' calls: once a subject's grant is
// revoked, its watch and its stop get Google's 401, classified failed
// with the reason spelled out, while another subject and the service
// account on the same resource go on working.
func TestRevokedSubjectAgainstGoogleSim(t *testing.T) {
	t.Parallel()
	sim, a, hook := startSim(t)
	ctx := context.Background()
	params := map[string]string{"calendarId": "team@example.com"}
	alice := store.Watch{Kind: "calendar.events", Params: params, Subject: "alice@example.com"}
	bob := store.Watch{Kind: "calendar.events", Params: params, Subject: "bob@example.com"}
	sa := store.Watch{Kind: "calendar.events", Params: params}
	req := func(id string) google.ChannelRequest {
		return google.ChannelRequest{ID: id, Token: "tok-" + id, Address: hook, Expiration: time.Now().Add(time.Hour)}
	}

	// Alice's channel, opened before her grant was revoked.
	g, err := a.Watch(ctx, alice, req("alice-1"))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := sim.Channel("alice-1"); c.Subject != alice.Subject {
		t.Errorf("the simulator saw subject %q, want %q", c.Subject, alice.Subject)
	}

	sim.RevokeSubject(alice.Subject)
	_, err = a.Watch(ctx, alice, req("alice-2"))
	if c := google.Classify(err); c != google.ClassFailed {
		t.Fatalf("revoked subject's watch: %v, class %v, want failed", err, c)
	}
	if r := google.Reason(err); !strings.Contains(r, "401 authError: Invalid Credentials") || !strings.Contains(r, "revoked") {
		t.Errorf("Reason = %q, want Google's 401 and the grant's revocation", r)
	}
	err = a.Stop(ctx, alice, "alice-1", g.ResourceID)
	if c := google.Classify(err); c != google.ClassFailed || google.IsNotFound(err) {
		t.Errorf("revoked subject's stop: %v, class %v, want failed", err, c)
	}

	// Another subject and the service account are unaffected.
	for _, w := range []store.Watch{bob, sa} {
		id := "other-" + w.Subject
		g, err := a.Watch(ctx, w, req(id))
		if err != nil {
			t.Fatalf("subject %q: %v", w.Subject, err)
		}
		if c, _ := sim.Channel(id); c.Subject != w.Subject {
			t.Errorf("the simulator saw subject %q, want %q", c.Subject, w.Subject)
		}
		if err := a.Stop(ctx, w, id, g.ResourceID); err != nil {
			t.Errorf("subject %q: stop: %v", w.Subject, err)
		}
	}

	// The grant given back, alice stops her channel.
	sim.RestoreSubject(alice.Subject)
	if err := a.Stop(ctx, alice, "alice-1", g.ResourceID); err != nil {
		t.Fatal(err)
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("left live: %+v", live)
	}
}
