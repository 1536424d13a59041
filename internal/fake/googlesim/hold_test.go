package googlesim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/api/drive/v3"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// arrivals is a Match whose Func reports each call it is asked about, so
// a test knows a call has reached the simulator and is being held.
func arrivals(m googlesim.Match) (googlesim.Match, <-chan googlesim.Call) {
	ch := make(chan googlesim.Call, 16)
	m.Func = func(c googlesim.Call) bool {
		ch <- c
		return true
	}
	return m, ch
}

// within waits for a value on ch, failing the test with failure after
// 10 s: a call that reaches a Hold, or a held call's result.
func within[T any](t *testing.T, ch <-chan T, failure string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal(failure)
		var zero T
		return zero
	}
}

// async runs f and returns where its error arrives.
func async(f func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return done
}

// TestHold proves that each operation waits on a matching Hold before the
// simulator does anything with it, goes through once released, and that
// calls after the release are not held.
func TestHold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fileID := map[string]string{"fileId": "f1"}
	rid := googlesim.ResourceID(googlesim.KindDriveFiles, fileID)
	for _, tc := range []struct {
		name  string
		match googlesim.Match
		setup func(t *testing.T, sim *googlesim.Sim, hook string) // before the hold
		call  func(sim *googlesim.Sim, hook, id string) error
		count func(googlesim.Stats) int // the calls the simulator counted
	}{
		// A watch on one resource.
		{"watch", googlesim.Match{Op: googlesim.OpWatch, ResourceID: rid}, nil,
			func(sim *googlesim.Sim, hook, id string) error {
				return must(watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: fileID, id: id, address: hook}))
			},
			func(s googlesim.Stats) int { return s.WatchCalls }},
		// A stop, matched by the kind of the channel it stops.
		{"stop", googlesim.Match{Op: googlesim.OpStop, Kind: googlesim.KindDriveFiles},
			func(t *testing.T, sim *googlesim.Sim, hook string) {
				for _, id := range []string{"held", "after"} {
					if _, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindDriveFiles, params: fileID, id: id, address: hook}); err != nil {
						t.Fatal(err)
					}
				}
			},
			func(sim *googlesim.Sim, _, id string) error { return stop(ctx, sim.URL, "drive", id, rid) },
			func(s googlesim.Stats) int { return s.StopCalls }},
		// Drive's changes.getStartPageToken.
		{"startPageToken", googlesim.Match{Op: googlesim.OpStartPageToken}, nil,
			func(sim *googlesim.Sim, _, _ string) error {
				svc, err := drive.NewService(ctx, opts(sim.URL, "/drive/v3/")...)
				if err != nil {
					return err
				}
				return must(svc.Changes.GetStartPageToken().Context(ctx).Do())
			},
			func(s googlesim.Stats) int { return s.PageTokenCalls }},
		// A list call: Drive's changes list.
		{"list", googlesim.Match{Op: googlesim.OpList, Kind: googlesim.KindDriveChanges}, nil,
			func(sim *googlesim.Sim, _, _ string) error {
				svc, err := drive.NewService(ctx, opts(sim.URL, "/drive/v3/")...)
				if err != nil {
					return err
				}
				return must(svc.Changes.List("1").Context(ctx).Do())
			},
			func(s googlesim.Stats) int { return s.ListCalls }},
		// Drive's files.get of one file.
		{"get", googlesim.Match{Op: googlesim.OpGet, ResourceID: rid},
			func(_ *testing.T, sim *googlesim.Sim, _ string) { sim.EditFile(googlesim.File{ID: "f1"}) },
			func(sim *googlesim.Sim, _, _ string) error {
				svc, err := drive.NewService(ctx, opts(sim.URL, "/drive/v3/")...)
				if err != nil {
					return err
				}
				return must(svc.Files.Get("f1").Context(ctx).Do())
			},
			func(s googlesim.Stats) int { return s.GetCalls }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := start(t, googlesim.Options{})
			hook := newReceiver(t)
			if tc.setup != nil {
				tc.setup(t, sim, hook.URL)
			}
			before := tc.count(sim.Stats())
			m, calls := arrivals(tc.match)
			release := sim.Hold(m)

			done := async(func() error { return tc.call(sim, hook.URL, "held") })
			if c := within(t, calls, "no call reached the hold"); c.Op != tc.match.Op {
				t.Errorf("held %+v, want a %s", c, tc.match.Op)
			}
			// Held before anything: not even counted, and no answer yet.
			if got := tc.count(sim.Stats()); got != before {
				t.Errorf("counted %d calls while held, want %d", got, before)
			}
			select {
			case err := <-done:
				t.Fatalf("the held call returned %v before release", err)
			default:
			}

			release()
			release() // a second release is harmless
			if err := within(t, done, "the call did not return"); err != nil {
				t.Fatalf("released call: %v", err)
			}
			// A call after the release is not held, nor even looked at.
			if err := tc.call(sim, hook.URL, "after"); err != nil {
				t.Fatalf("call after release: %v", err)
			}
			select {
			case c := <-calls:
				t.Errorf("a call after release was matched: %+v", c)
			default:
			}
			if got := tc.count(sim.Stats()); got != before+2 {
				t.Errorf("counted %d calls, want %d", got, before+2)
			}
		})
	}
}

// TestHoldSelects proves a Hold leaves the calls it does not match alone.
func TestHoldSelects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := start(t, googlesim.Options{})
	hook := newReceiver(t)
	held := map[string]string{"calendarId": "held@example.com"}
	m, calls := arrivals(googlesim.Match{ResourceID: googlesim.ResourceID(googlesim.KindCalendarEvents, held)})
	release := sim.Hold(m)

	done := async(func() error {
		return must(watch(ctx, sim.URL, watchReq{kind: googlesim.KindCalendarEvents, params: held, id: "held", address: hook.URL}))
	})
	within(t, calls, "no call reached the hold")
	// Another resource, while the first is held.
	other := map[string]string{"calendarId": "other@example.com"}
	if _, err := watch(ctx, sim.URL, watchReq{kind: googlesim.KindCalendarEvents, params: other, id: "other", address: hook.URL}); err != nil {
		t.Fatalf("unmatched watch: %v", err)
	}
	if _, ok := sim.Channel("held"); ok {
		t.Error("the held watch opened its channel before release")
	}
	release()
	if err := within(t, done, "the call did not return"); err != nil {
		t.Fatal(err)
	}
	if _, ok := sim.Channel("held"); !ok {
		t.Error("the released watch opened no channel")
	}
}

// TestHoldClientGivesUp proves a held call whose client times out is
// dropped: the client sees its own deadline, and the release that follows
// opens nothing.
func TestHoldClientGivesUp(t *testing.T) {
	t.Parallel()
	sim := googlesim.New(googlesim.Options{})
	t.Cleanup(sim.Close)
	// Served here, to know when the simulator's handler has returned.
	returned := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.Handler().ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	hook := newReceiver(t)
	m, calls := arrivals(googlesim.Match{Op: googlesim.OpWatch})
	release := sim.Hold(m)
	defer release()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := async(func() error {
		return must(watch(ctx, srv.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "lost", address: hook.URL}))
	})
	within(t, calls, "no call reached the hold")
	if err := within(t, done, "the call did not return"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("held watch = %v, want the client's own deadline", err)
	}
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the simulator still holds a call its client gave up")
	}
	release()
	if c, ok := sim.Channel("lost"); ok {
		t.Errorf("a dropped call opened %+v", c)
	}
	if st := sim.Stats(); st.WatchCalls != 0 || st.Dropped != 1 {
		t.Errorf("Stats = %+v, want the call counted as dropped only", st)
	}
}

// TestHoldClose proves Close lets go of held calls: a client still there
// gets 503, and Close does not wait for a release.
func TestHoldClose(t *testing.T) {
	t.Parallel()
	sim := googlesim.New(googlesim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	hook := newReceiver(t)
	m, calls := arrivals(googlesim.Match{})
	sim.Hold(m)

	done := async(func() error {
		return must(watch(context.Background(), srv.URL, watchReq{kind: googlesim.KindDriveFiles, params: map[string]string{"fileId": "f"}, id: "c", address: hook.URL}))
	})
	within(t, calls, "no call reached the hold")
	sim.Close()
	wantGoogleError(t, within(t, done, "the call did not return"), 503, "backendError")
}
