package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/store"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// contractStore is every method both stores share; the contract suite runs
// against each.
type contractStore interface {
	CreateWatch(ctx context.Context, w store.Watch) error
	Watch(ctx context.Context, id string) (store.Watch, error)
	Watches(ctx context.Context, state store.WatchState, limit int) ([]store.Watch, error)
	WatchesOf(ctx context.Context, kind, subject string) ([]store.Watch, error)
	DueWatches(ctx context.Context, now time.Time, after store.Watch, limit int) ([]store.Watch, error)
	LeaseWatch(ctx context.Context, id string, l store.Lease, now time.Time, open func(store.Watch) (store.Channel, bool)) (store.Watch, error)
	ReleaseWatch(ctx context.Context, id, holder string, u store.WatchUpdate, now time.Time, events ...store.OutboxEvent) error
	EndWatch(ctx context.Context, e store.End) (store.Channel, bool, error)
	Outbox(ctx context.Context, limit int) ([]store.OutboxEvent, error)
	Forget(ctx context.Context, published []string, channelID string, u store.ChannelUpdate) error
	UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error
	DeleteWatch(ctx context.Context, id string, events ...store.OutboxEvent) error
	CreateChannel(ctx context.Context, c store.Channel) error
	Channel(ctx context.Context, id string) (store.Channel, error)
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
	ActivateChannel(ctx context.Context, a store.Activation) error
	ChannelsByState(ctx context.Context, state store.ChannelState, before time.Time, limit int) ([]store.Channel, error)
	RecordStray(ctx context.Context, s store.Stray) error
	Strays(ctx context.Context, state store.StrayState, limit int) ([]store.Stray, error)
	UpdateStray(ctx context.Context, id string, u store.StrayUpdate) error
	RecordPass(ctx context.Context, p store.PassRecord) error
	LastPass(ctx context.Context) (store.PassRecord, error)
	SweepDue(ctx context.Context, limit int, dueAt func(store.Watch) time.Time, now time.Time) (store.SweepPage, error)
	cursorStore
	latestStore
}

// cursorStore is Sync's part of the contract; contractStore embeds it.
type cursorStore interface {
	WantSync(ctx context.Context, cl store.SyncClaim) (store.Cursor, bool, error)
	AdvanceCursor(ctx context.Context, watchID, holder string, at store.Position, until, now time.Time) error
	OwedCursors(ctx context.Context, now time.Time, limit int) ([]store.Cursor, error)
	FinishSync(ctx context.Context, fi store.Finish) (store.Cursor, bool, error)
	ReleaseSync(ctx context.Context, watchID, holder, lastError string, now time.Time) error
	Cursor(ctx context.Context, watchID string) (store.Cursor, error)
	Cursors(ctx context.Context, limit int) ([]store.Cursor, error)
}

// latestStore is Sync's record of the bodies it published; contractStore
// embeds it.
type latestStore interface {
	ClaimBody(ctx context.Context, b store.BodyClaim) (store.Latest, store.Verdict, error)
	Latest(ctx context.Context, watchID, itemID string) (store.Latest, error)
}

var (
	_ contractStore = (*store.Memory)(nil)
	_ contractStore = (*store.Firestore)(nil)
)

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	testContract(t, func(*testing.T) contractStore { return store.NewMemory() })
}

// TestFirestoreContract runs each case on a store of its own on the
// emulator (backend.Space: a fresh project each).
func TestFirestoreContract(t *testing.T) {
	t.Parallel()
	emulator.Require(t) // once here, rather than a skip per case
	testContract(t, func(t *testing.T) contractStore { return backend.New(t).Firestore(t) })
}

// testContract is the one behaviour both stores share: contractCases, each
// case on a fresh store from newStore, and testEnd's table.
func testContract(t *testing.T, newStore func(t *testing.T) contractStore) {
	runCases(t, newStore, contractCases)
	testEnd(t, newStore)
}

// contractCases is the contract, a concern a file; the cases are in the
// files named.
var contractCases = []contractCase{
	// watches_test.go: watches.
	{"watch round trip", testWatchRoundTrip},
	{"WatchesOf matches kind, subject and active state", testWatchesOf},
	{"Watches by state", testWatchesByState},
	{"DueWatches", testDueWatches},
	{"UpdateWatch touches only the named fields", testUpdateWatch},
	{"DeleteWatch is idempotent", testDeleteWatch},
	{"Changes and Snapshot round trip", testChangesRoundTrip},

	// sweep_test.go: watches from before dueAt.
	{"SweepDue gives dueAt to the active watches that lack it, a page at a time", testDueSweep},
	{"SweepDue is done at once on an empty store", testDueSweepEmpty},

	// channels_test.go: channels.
	{"channel round trip", testChannelRoundTrip},
	{"empty optional fields round trip", testEmptyFieldsRoundTrip},
	{"UpdateChannel touches only the named fields", testUpdateChannel},
	{"ChannelsByState", testChannelsByState},
	{"maps are not shared with the caller", testMapsNotShared},

	// leases_test.go: a watch's lease, and the activation under it.
	{"LeaseWatch is exclusive under concurrency", testLeaseExclusive},
	{"LeaseWatch lets a new holder in once the lease ran out", testLeaseRunsOut},
	{"ActivateChannel sets the channel and its watch", testActivate},
	{"LeaseWatch creates the claim's pending channel in the same step", testLeaseOpens},
	{"ActivateChannel refuses what its claim no longer owns", testActivateRefuses},
	{"ActivateChannel retires a lapsed channel as expired, and survives a missing one", testActivateRetires},

	// end_test.go: a watch's end, beside testEnd's table.
	{"EndWatch after a renewal retires the new channel", testEndAfterRenewal},
	{"EndWatch refuses a state that is not an end, and ignores a watch that is gone", testEndRefuses},

	// cursor_test.go: the rules of a cursor's lease, and cursors as records.
	{"WantSync counts every claim and takes only a free or redelivered lease", testWantSyncTakes},
	{"WantSync is exclusive and counts every claim under concurrency", testWantSyncConcurrent},
	{"only the holder moves the cursor", testOnlyHolder},
	{"FinishSync releases only when no notification came during the fetch", testFinishSync},
	{"ReleaseSync counts the failure and leaves the fetch owed", testReleaseSync},
	{"a debouncing holder covers notifications until its read begins", testCovers},
	{"a read's page is kept until the read completes", testPosition},

	{"cursors that do not exist", testNoCursor},
	{"Cursors lists by watch id", testCursorsList},
	{"DeleteWatch deletes the watch's cursor in the same step", testDeleteWatchCursor},
	{"OwedCursors finds failed reads and dead holders, not live or done ones", testOwedCursors},

	// latest_test.go: the latest body of an item.
	{"ClaimBody keeps the newest body of an item", testClaimBodyRule},
	{"ClaimBody admits one newest under concurrency", testClaimBodyConcurrent},
	{"ClaimBody and Latest refuse what no record can be", testClaimBodyInvalid},
	{"DeleteWatch deletes the watch's latest records", testDeleteWatchLatest},

	// outbox_test.go: the outbox.
	{"the outbox keeps events written with their state until forgotten", testOutbox},

	// ops_test.go: strays and the last pass.
	{"strays are recorded once and move through their states", testStrays},
	{"the last pass round trips", testLastPass},

	// errors_test.go: what both stores refuse, and how they say it.
	{"create refuses a taken or empty id", testCreateRefuses},
	{"not found", testNotFound},
	{"each error says store: once", testSaysStoreOnce},
}

// contractCase is one test of the contract that both stores pass.
type contractCase struct {
	name string
	run  func(*testing.T, contractStore)
}

// runCases runs each case in parallel, each on a fresh store.
func runCases(t *testing.T, newStore func(t *testing.T) contractStore, cases []contractCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}
