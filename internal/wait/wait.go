// Package wait holds the one way watchrelay waits: for a while, or until
// its context ends, whichever comes first.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends, and returns ctx's error then. A d of
// zero or less does not wait, but still reports an ended ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
