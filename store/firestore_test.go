package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchrelay/watchrelay/store"
)

func TestOpenFirestoreChecksInputs(t *testing.T) {
	t.Parallel()
	if _, err := store.OpenFirestore(t.Context(), "", ""); err == nil {
		t.Error("OpenFirestore with no project succeeded")
	}
}

// TestFirestoreUnreachable: with nothing listening, every call fails fast
// with ErrUnavailable, which Receive turns into a 503 so Google retries.
func TestFirestoreUnreachable(t *testing.T) {
	t.Parallel()
	// Port 1 on loopback refuses connections. A connection of our own
	// overrides FIRESTORE_EMULATOR_HOST, which other tests of this binary
	// set.
	conn, err := grpc.NewClient("passthrough:///127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f, err := store.OpenFirestore(t.Context(), "watchrelay-test", "", option.WithGRPCConn(conn), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		// Receive's one read.
		{"Channel", func(ctx context.Context) error { _, err := f.Channel(ctx, "c1"); return err }},
		// A write.
		{"CreateWatch", func(ctx context.Context) error { return f.CreateWatch(ctx, sampleWatch("w1")) }},
		// A query.
		{"DueWatches", func(ctx context.Context) error { _, err := f.DueWatches(ctx, t0, store.Watch{}, 10); return err }},
		// A transaction.
		{"LeaseWatch", func(ctx context.Context) error {
			_, err := f.LeaseWatch(ctx, "w1", lease("h", t0.Add(time.Minute)), t0, nil)
			return err
		}},
		// A cursor's read-and-write, which retries only lost races.
		{"WantSync", func(ctx context.Context) error {
			_, _, err := f.WantSync(ctx, store.SyncClaim{WatchID: "w1", Holder: "h", Until: t0.Add(time.Minute), Now: t0})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v; a dead Firestore must fail within the caller's deadline", d)
			}
		})
	}
}
