package store_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/store"
)

// A Firestore that refuses connections answers every attempt Unavailable at
// once. The client library retries that until the caller's deadline; under
// FailFast a read gives up once the allowance is spent.
func TestFailFast(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: every dial is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	conn, err := store.DialEmulator(refused)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := store.OpenFirestore(t.Context(), "p", "", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })

	const deadline, allowance = 3 * time.Second, 300 * time.Millisecond
	for _, tc := range []struct {
		name     string
		failFast bool
		// min, max: when the read must have failed.
		min, max time.Duration
	}{
		// The allowance, then ErrUnavailable: a second or so at most,
		// generous on a loaded machine.
		{"fail fast", true, allowance, allowance + time.Second},
		// The library's own policy: retried until the deadline.
		{"library's retries", false, deadline - 100*time.Millisecond, deadline + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			if tc.failFast {
				ctx = store.FailFast(ctx, allowance)
			}
			start := time.Now()
			_, err := fs.Channel(ctx, "ch-1")
			took := time.Since(start)
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("read = %v, want ErrUnavailable", err)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("read failed after %v, want between %v and %v", took, tc.min, tc.max)
			}
		})
	}
}
