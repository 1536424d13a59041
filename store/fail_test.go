package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fail leaves an error the store made as it is, whichever of its kinds it
// wraps, and says the client's errors in the store's terms, naming the
// store once.
func TestFail(t *testing.T) {
	t.Parallel()
	for _, k := range []error{ErrNotFound, ErrExists, ErrLeased, ErrUnavailable, ErrInvalidID, ErrLeaseLost, ErrNotActive, errDecode} {
		// A rule's refusal, as a transaction returns it.
		err := fmt.Errorf("release watch w1: %w", k)
		if got := fail("release watch w1", err); got != err {
			t.Errorf("fail(%q) = %q, want it unchanged", err, got)
		}
	}
	for _, tt := range []struct {
		name string
		err  error
		want error // nil: none of the store's kinds
	}{
		// Firestore's own answers, which callers tell apart.
		{"not found", status.Error(codes.NotFound, "no document"), ErrNotFound},
		{"already exists", status.Error(codes.AlreadyExists, "document exists"), ErrExists},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), ErrUnavailable},
		{"aborted", status.Error(codes.Aborted, "too much contention"), ErrUnavailable},
		// The caller's deadline, run out between attempts.
		{"deadline", context.DeadlineExceeded, ErrUnavailable},
		// Anything else is kept as it is, in the store's name.
		{"denied", status.Error(codes.PermissionDenied, "missing permissions"), nil},
	} {
		got := fail("get watch w1", tt.err)
		if tt.want != nil && !errors.Is(got, tt.want) {
			t.Errorf("%s: fail = %v, want %v", tt.name, got, tt.want)
		}
		if n := strings.Count(got.Error(), "store:"); n != 1 || !strings.Contains(got.Error(), "get watch w1") {
			t.Errorf("%s: fail = %q, want what failed and store: once", tt.name, got)
		}
	}
}
