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
	Watches(ctx context.Context, state store.WatchState) ([]store.Watch, error)
	WatchesOf(ctx context.Context, kind, subject string) ([]store.Watch, error)
	DueWatches(ctx context.Context, before time.Time, limit int) ([]store.Watch, error)
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
	cursorStore
	latestStore
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

// testContract is the one behaviour both stores share, a file per
// concern. Each case gets a fresh store from newStore.
func testContract(t *testing.T, newStore func(t *testing.T) contractStore) {
	testWatches(t, newStore)
	testChannels(t, newStore)
	testLeases(t, newStore)
	testEnd(t, newStore)
	testCursors(t, newStore)
	testCursorRecords(t, newStore)
	testLatest(t, newStore)
	testOutboxes(t, newStore)
	testOps(t, newStore)
	testErrors(t, newStore)
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
