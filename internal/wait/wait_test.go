package wait_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/wait"
)

func TestSleep(t *testing.T) {
	t.Parallel()
	if err := wait.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("a plain wait: %v", err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	// An ended context is reported, waiting or not.
	for _, d := range []time.Duration{0, time.Hour} {
		if err := wait.Sleep(ended, d); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep(ended, %v) = %v, want context.Canceled", d, err)
		}
	}
}
