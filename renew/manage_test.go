package renew_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// manageNow is the clock of the tests below; the records hold microseconds.
var manageNow = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// unavailable is a memory store whose named methods fail as a store that
// cannot be reached does.
type unavailable struct {
	*store.Memory
	fail map[string]bool
}

func (u unavailable) Watch(ctx context.Context, id string) (store.Watch, error) {
	if u.fail["Watch"] {
		return store.Watch{}, store.ErrUnavailable
	}
	return u.Memory.Watch(ctx, id)
}

func (u unavailable) UpdateWatch(ctx context.Context, id string, wu store.WatchUpdate, now time.Time) error {
	if u.fail["UpdateWatch"] {
		return store.ErrUnavailable
	}
	return u.Memory.UpdateWatch(ctx, id, wu, now)
}

func (u unavailable) UpdateChannel(ctx context.Context, id string, cu store.ChannelUpdate) error {
	if u.fail["UpdateChannel"] {
		return store.ErrUnavailable
	}
	return u.Memory.UpdateChannel(ctx, id, cu)
}

// seed returns a memory store holding ws and cs.
func seed(t *testing.T, ws []store.Watch, cs []store.Channel) *store.Memory {
	t.Helper()
	m := store.NewMemory()
	for _, w := range ws {
		if err := m.CreateWatch(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		if err := m.CreateChannel(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// ended is a watch a pass gave up on, still holding what the pass wrote.
func ended(state store.WatchState) store.Watch {
	return store.Watch{
		ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, State: state,
		ChannelID: "c-old", ChannelExpiration: manageNow.Add(time.Hour),
		LastError: "401 authError: Invalid Credentials", Failures: 3, RetryAt: manageNow.Add(time.Hour),
		DueAt:     manageNow.Add(time.Hour),
		CreatedAt: manageNow.Add(-time.Hour), UpdatedAt: manageNow.Add(-time.Hour),
	}
}

// holds checks what m holds as channel "c" and watch "w"; nil wants none.
func holds(t *testing.T, m *store.Memory, channel *store.Channel, watch *store.Watch) {
	t.Helper()
	c, err := m.Channel(context.Background(), "c")
	same(t, "channel", channel, c, err)
	w, err := m.Watch(context.Background(), "w")
	same(t, "watch", watch, w, err)
}

func same[T any](t *testing.T, what string, want *T, got T, err error) {
	t.Helper()
	switch {
	case want == nil && !errors.Is(err, store.ErrNotFound):
		t.Errorf("%s %+v (%v), want none", what, got, err)
	case want == nil:
	case err != nil:
		t.Errorf("%s: %v", what, err)
	default:
		if diff := cmp.Diff(*want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
}

func TestAddWatch(t *testing.T) {
	t.Parallel()
	drive := store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, Labels: map[string]string{"tenant": "acme"}}
	withID := func(w store.Watch, id string) store.Watch { w.ID = id; return w }
	withSubject := func(w store.Watch, s string) store.Watch { w.Subject = s; return w }
	for _, tc := range []struct {
		name    string
		stored  []store.Watch
		in      store.Watch
		want    store.Watch // ID "" means any fresh id
		wantErr error
	}{
		// A watch with no id gets a fresh one, and is active and new.
		{"fresh id", nil, drive,
			store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, Labels: map[string]string{"tenant": "acme"},
				State: store.WatchActive, CreatedAt: manageNow, UpdatedAt: manageNow}, nil},
		// A given id is kept.
		{"given id", nil, withID(drive, "budget"),
			store.Watch{ID: "budget", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, Labels: map[string]string{"tenant": "acme"},
				State: store.WatchActive, CreatedAt: manageNow, UpdatedAt: manageNow}, nil},
		// What the pass owns is not taken from the caller: the watch
		// starts with no channel, error or failures, so the pass opens one.
		{"pass's fields start empty", nil, ended(store.WatchFailed),
			store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f1"},
				State: store.WatchActive, CreatedAt: manageNow, UpdatedAt: manageNow}, nil},
		// A kind no API has is refused, naming the known ones.
		{"unknown kind", nil, store.Watch{Kind: "drive.nope"}, store.Watch{}, google.ErrUnknownKind},
		// So is a watch its API would refuse.
		{"missing param", nil, store.Watch{Kind: "drive.files"}, store.Watch{}, google.ErrInvalidWatch},
		// A channel shorter than two passes apart would lapse between
		// them: refused, saying the minimum.
		{"ttl under two schedule periods", nil, store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, TTLSeconds: 60},
			store.Watch{}, google.ErrInvalidWatch},
		// A mailbox is stored as Gmail's pushes name it, in lower case.
		{"gmail subject lowered", nil, store.Watch{ID: "mail", Kind: "gmail.users", Subject: "Ann@Example.COM"},
			store.Watch{ID: "mail", Kind: "gmail.users", Subject: "ann@example.com",
				State: store.WatchActive, CreatedAt: manageNow, UpdatedAt: manageNow}, nil},
		// Another kind's subject is kept as given.
		{"other subject kept", nil, withID(withSubject(drive, "Ann@Example.COM"), "f"),
			store.Watch{ID: "f", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, Labels: map[string]string{"tenant": "acme"}, Subject: "Ann@Example.COM",
				State: store.WatchActive, CreatedAt: manageNow, UpdatedAt: manageNow}, nil},
		// An id taken is the store's refusal, passed on.
		{"id taken", []store.Watch{withID(drive, "budget")}, withID(drive, "budget"), store.Watch{}, store.ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := seed(t, tc.stored, nil)
			got, err := renew.AddWatch(context.Background(), m, tc.in, 10*time.Minute, manageNow)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if ws, _ := m.Watches(context.Background(), "", 0); len(ws) != len(tc.stored) {
					t.Errorf("refused, yet %d watches stored, want %d", len(ws), len(tc.stored))
				}
				return
			}
			if tc.want.ID == "" {
				if !regexp.MustCompile(`^w-[0-9a-f]{8}$`).MatchString(got.ID) {
					t.Errorf("fresh id %q, want w- and 8 hex characters", got.ID)
				}
				tc.want.ID = got.ID
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("returned (-want +got):\n%s", diff)
			}
			stored, err := m.Watch(context.Background(), got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, stored); diff != "" {
				t.Errorf("stored differs from returned (-returned +stored):\n%s", diff)
			}
		})
	}
}

// Watches added without ids get ids of their own.
func TestAddWatchFreshIDs(t *testing.T) {
	t.Parallel()
	m := store.NewMemory()
	ids := map[string]bool{}
	for range 3 {
		w, err := renew.AddWatch(context.Background(), m, store.Watch{Kind: "drive.files", Params: map[string]string{"fileId": "f1"}}, 10*time.Minute, manageNow)
		if err != nil {
			t.Fatal(err)
		}
		ids[w.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("3 watches got ids %v", ids)
	}
}

func TestRemoveWatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		stored  store.Watch
		id      string
		wantErr error
	}{
		// Marked deleted, for the pass to stop its channel and purge it.
		{"active", ended(store.WatchActive), "w", nil},
		// A failed watch goes the same way.
		{"failed", ended(store.WatchFailed), "w", nil},
		// No such watch: the store's not found, passed on.
		{"unknown", ended(store.WatchActive), "nope", store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := seed(t, []store.Watch{tc.stored}, nil)
			err := renew.RemoveWatch(context.Background(), m, tc.id, manageNow)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			want := tc.stored
			if tc.wantErr == nil {
				// Only the state changes: the pass needs the channel
				// to stop it.
				want.State, want.UpdatedAt = store.WatchDeleted, manageNow
			}
			got, _ := m.Watch(context.Background(), tc.stored.ID)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("watch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryWatch(t *testing.T) {
	t.Parallel()
	retried := func(w store.Watch) store.Watch {
		w.State, w.LastError, w.Failures, w.RetryAt = store.WatchActive, "", 0, time.Time{}
		w.ChannelID, w.ChannelExpiration, w.UpdatedAt, w.DueAt = "", time.Time{}, manageNow, time.Time{}
		return w
	}
	for _, tc := range []struct {
		name    string
		stored  store.Watch
		id      string
		want    store.Watch
		wantErr error
		says    string
	}{
		// Its grant is back: active, with nothing of the failure left.
		{"failed", ended(store.WatchFailed), "w", retried(ended(store.WatchFailed)), nil, ""},
		// Its resource is back: the same.
		{"gone", ended(store.WatchGone), "w", retried(ended(store.WatchGone)), nil, ""},
		// An active watch has nothing to retry: refused, left as it is.
		{"active", ended(store.WatchActive), "w", ended(store.WatchActive), renew.ErrNotRetryable, "is active"},
		// A removed watch is on its way out: refused, so the pass still
		// purges it.
		{"deleted", ended(store.WatchDeleted), "w", ended(store.WatchDeleted), renew.ErrNotRetryable, "is deleted"},
		// No such watch: the store's not found, passed on.
		{"unknown", ended(store.WatchFailed), "nope", ended(store.WatchFailed), store.ErrNotFound, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := seed(t, []store.Watch{tc.stored}, nil)
			err := renew.RetryWatch(context.Background(), m, tc.id, manageNow)
			if !errors.Is(err, tc.wantErr) || (err != nil && !strings.Contains(err.Error(), tc.says)) {
				t.Fatalf("error %v, want %v saying %q", err, tc.wantErr, tc.says)
			}
			got, _ := m.Watch(context.Background(), tc.stored.ID)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("watch (-want +got):\n%s", diff)
			}
			// A retried watch is new work for the very next pass.
			due, _ := m.DueWatches(context.Background(), manageNow, store.Watch{}, 10)
			if isDue := len(due) == 1; isDue != (tc.wantErr == nil) {
				t.Errorf("due to the next pass: %v, want %v", isDue, tc.wantErr == nil)
			}
		})
	}
}

// A watch that failed when its grant was revoked gets a channel from the
// first pass after the grant is back and it is retried, on both stores.
func TestRetryWatchThenPass(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "calendar.events", Params: map[string]string{"calendarId": "c1"}, Subject: "alice@example.com"})
		r.sim.RevokeSubject("alice@example.com")
		if sum := r.pass(nil); sum.Failed != 1 {
			t.Fatalf("pass with the grant revoked: %+v, want 1 failed", sum)
		}
		r.sim.RestoreSubject("alice@example.com")
		if sum := r.pass(nil); sum.Started != 0 {
			t.Fatalf("pass before the retry: %+v, want the failed watch left alone", sum)
		}
		if err := renew.RetryWatch(context.Background(), s, "w", r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if sum := r.pass(nil); sum.Started != 1 || sum.Remaining != 0 {
			t.Fatalf("pass after the retry: %+v, want 1 started", sum)
		}
		r.converged("w")
	})
}

func TestImportSpecCheck(t *testing.T) {
	t.Parallel()
	ok := renew.ImportSpec{ID: "c", Token: "t", ResourceID: "r", Kind: "drive.files", WatchID: "w", Expiration: manageNow.Add(time.Hour)}
	with := func(f func(*renew.ImportSpec)) renew.ImportSpec { s := ok; f(&s); return s }
	for _, tc := range []struct {
		name string
		spec renew.ImportSpec
		says []string // none for no error
	}{
		// Everything Receive and Renew need, within Google's limits.
		{"ok", ok, nil},
		// At Google's limits exactly.
		{"at the limits", with(func(s *renew.ImportSpec) { s.ID, s.Token = strings.Repeat("c", 64), strings.Repeat("t", 256) }), nil},
		// The missing fields are named, sorted, by their flags' names.
		{"missing", renew.ImportSpec{ID: "c"}, []string{"missing expiration, kind, resource-id, token, watch"}},
		// No Firestore document can have this id.
		{"bad id", with(func(s *renew.ImportSpec) { s.ID = "a/b" }), []string{"id: store: invalid id"}},
		// Receive refuses a channel id beyond Google's 64 characters.
		{"long id", with(func(s *renew.ImportSpec) { s.ID = strings.Repeat("c", 65) }), []string{"id longer than 64 characters"}},
		// And a token beyond its 256.
		{"long token", with(func(s *renew.ImportSpec) { s.Token = strings.Repeat("t", 257) }), []string{"token longer than 256 characters"}},
		// Renew could not replace a channel of an unknown kind.
		{"unknown kind", with(func(s *renew.ImportSpec) { s.Kind = "drive.nope" }), []string{"unknown kind"}},
		// Params belong to the watch: a kind needing some is fine.
		{"kind with params", with(func(s *renew.ImportSpec) { s.Kind = "calendar.events" }), nil},
		// Google sends nothing on an expired channel.
		{"expired", with(func(s *renew.ImportSpec) { s.Expiration = manageNow }), []string{"has passed"}},
		// Every fault is reported, not the first only.
		{"all at once", with(func(s *renew.ImportSpec) { s.ID, s.Kind = "__c__", "drive.nope" }), []string{"id: store: invalid id", "unknown kind"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.spec.Check(manageNow)
			if (err == nil) != (len(tc.says) == 0) {
				t.Fatalf("Check: %v, want an error saying %q", err, tc.says)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Check: %v, want it to say %q", err, s)
				}
			}
		})
	}
}

func TestImportChannel(t *testing.T) {
	t.Parallel()
	spec := renew.ImportSpec{ID: "c", Token: "t", ResourceID: "r", ResourceURI: "u", Kind: "drive.files", WatchID: "w", Expiration: manageNow.Add(time.Hour)}
	labelled := store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, Labels: map[string]string{"tenant": "acme"},
		State: store.WatchActive, CreatedAt: manageNow, UpdatedAt: manageNow}
	serving := labelled
	serving.ChannelID, serving.ChannelExpiration = "c-other", manageNow.Add(2*time.Hour)
	imported := store.Channel{ID: "c", WatchID: "w", Kind: "drive.files", ResourceID: "r", ResourceURI: "u",
		TokenHash: store.HashToken("t"), Expiration: spec.Expiration, State: store.ChannelActive, CreatedAt: manageNow}
	withLabels := imported
	withLabels.Labels = labelled.Labels
	pointed := labelled
	pointed.ChannelID, pointed.ChannelExpiration = "c", spec.Expiration
	for _, tc := range []struct {
		name        string
		stored      []store.Watch
		fail        map[string]bool
		wantChannel *store.Channel // nil: none
		wantWatch   *store.Watch   // nil: none
		wantErr     error
	}{
		// The watch has no channel: it is pointed at this one, so Renew
		// replaces it before it expires, and its labels route the events.
		{"watch without a channel", []store.Watch{labelled}, nil, &withLabels, &pointed, nil},
		// The watch has a channel: it keeps it; this one serves beside it.
		{"watch with a channel", []store.Watch{serving}, nil, &withLabels, &serving, nil},
		// The watch is not stored yet: Receive needs the channel only.
		{"watch not stored yet", nil, nil, &imported, nil, nil},
		// The watch cannot be read: an error, not a channel without its
		// labels, whose events would lose their routing.
		{"watch unreadable", []store.Watch{labelled}, map[string]bool{"Watch": true}, nil, &labelled, store.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := seed(t, tc.stored, nil)
			err := renew.ImportChannel(context.Background(), unavailable{m, tc.fail}, spec, manageNow)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			holds(t, m, tc.wantChannel, tc.wantWatch)
		})
	}
}

func TestRecordStopped(t *testing.T) {
	t.Parallel()
	channel := func(id string) store.Channel {
		return store.Channel{ID: id, WatchID: "w", Kind: "drive.files", ResourceID: "r", TokenHash: store.HashToken("t"),
			Expiration: manageNow.Add(time.Hour), State: store.ChannelActive, CreatedAt: manageNow.Add(-time.Hour)}
	}
	stopped := func(c store.Channel) store.Channel {
		c.State, c.StoppedAt, c.DeleteAt = store.ChannelStopped, manageNow, manageNow.Add(store.Retention)
		return c
	}
	watch := func(channelID string) store.Watch {
		w := ended(store.WatchActive)
		w.ChannelID, w.LastError, w.Failures = channelID, "", 0
		return w
	}
	cleared := watch("")
	cleared.ChannelExpiration, cleared.UpdatedAt = time.Time{}, manageNow
	cleared.DueAt = time.Time{} // due at once: the next pass reads it, and puts its retry time back
	for _, tc := range []struct {
		name        string
		watch       *store.Watch
		channel     *store.Channel
		fail        map[string]bool
		wantWatch   *store.Watch   // nil: none
		wantChannel *store.Channel // nil: none
		wantErr     error
	}{
		// The watch's current channel: finished, and the watch names no
		// channel, so the next pass gives it a fresh one.
		{"serving its watch", store.Ptr(watch("c")), store.Ptr(channel("c")), nil, &cleared, store.Ptr(stopped(channel("c"))), nil},
		// A channel its watch has replaced already: finished; the watch
		// keeps its current one.
		{"replaced", store.Ptr(watch("c-new")), store.Ptr(channel("c")), nil, store.Ptr(watch("c-new")), store.Ptr(stopped(channel("c"))), nil},
		// Its watch was purged: the channel is finished all the same.
		{"watch purged", nil, store.Ptr(channel("c")), nil, nil, store.Ptr(stopped(channel("c"))), nil},
		// Unknown to the store: a stray, nothing to record.
		{"stray", store.Ptr(watch("c-new")), nil, nil, store.Ptr(watch("c-new")), nil, nil},
		// The watch cannot be read: reported, and the channel left as it
		// was rather than finished under a watch that may name it.
		{"watch unreadable", store.Ptr(watch("c")), store.Ptr(channel("c")), map[string]bool{"Watch": true}, store.Ptr(watch("c")), store.Ptr(channel("c")), store.ErrUnavailable},
		// The watch cannot be cleared: the same.
		{"watch not cleared", store.Ptr(watch("c")), store.Ptr(channel("c")), map[string]bool{"UpdateWatch": true}, store.Ptr(watch("c")), store.Ptr(channel("c")), store.ErrUnavailable},
		// The channel cannot be finished: reported, not ignored.
		{"store down", store.Ptr(watch("c")), store.Ptr(channel("c")), map[string]bool{"UpdateChannel": true}, &cleared, store.Ptr(channel("c")), store.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ws []store.Watch
			var cs []store.Channel
			if tc.watch != nil {
				ws = append(ws, *tc.watch)
			}
			if tc.channel != nil {
				cs = append(cs, *tc.channel)
			}
			m := seed(t, ws, cs)
			err := renew.RecordStopped(context.Background(), unavailable{m, tc.fail}, "c", manageNow)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			holds(t, m, tc.wantChannel, tc.wantWatch)
		})
	}
}

// A channel stopped outside a pass is replaced by the very next pass, on
// both stores: without RecordStopped, the watch would wait for the stopped
// channel to come due, hearing nothing.
func TestRecordStoppedThenPass(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, TTLSeconds: 7200})
		r.pass(nil)
		w := r.watch("w")
		c := r.channel(w.ChannelID)
		ctx := context.Background()
		if err := r.apis.Stop(ctx, w, c.ID, c.ResourceID); err != nil {
			t.Fatal(err)
		}
		if err := renew.RecordStopped(ctx, s, c.ID, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if sum := r.pass(nil); sum.Started != 1 || sum.Remaining != 0 {
			t.Fatalf("pass after the stop: %+v, want 1 started", sum)
		}
		r.converged("w")
		if got := r.channel(c.ID); got.State != store.ChannelStopped || got.DeleteAt.IsZero() {
			t.Errorf("stopped channel recorded %s with deleteAt %v, want stopped and due for the TTL policy", got.State, got.DeleteAt)
		}
	})
}
