package store

import (
	"testing"
	"time"
)

// TestDueSweepRecord: a page moves the sweep on or ends it, and a pass
// that read an older record never moves the stored one back.
func TestDueSweepRecord(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	from := DueSweep{After: "m"}
	if got := from.next(10, 10, "t", now); got.Done || got.After != "t" {
		t.Errorf("a full page: %+v, want on from t", got)
	}
	if got := from.next(3, 10, "p", now); !got.Done {
		t.Errorf("a short page: %+v, want done", got)
	}
	for _, row := range []struct {
		name          string
		next, stored  DueSweep
		wantSupersede bool
	}{
		// The usual step: further on than the record.
		{"further", DueSweep{After: "t"}, DueSweep{After: "m"}, true},
		// A pass that read the record before another moved it on.
		{"behind", DueSweep{After: "m"}, DueSweep{After: "t"}, false},
		// The same page, swept by two passes at once.
		{"same", DueSweep{After: "m"}, DueSweep{After: "m"}, false},
		// The end, whatever the record says.
		{"done", DueSweep{Done: true, After: "a"}, DueSweep{After: "t"}, true},
		// Nothing undoes the end.
		{"after the end", DueSweep{After: "z"}, DueSweep{Done: true}, false},
	} {
		if got := row.next.supersedes(row.stored); got != row.wantSupersede {
			t.Errorf("%s: %+v supersedes %+v = %v, want %v", row.name, row.next, row.stored, got, row.wantSupersede)
		}
	}
}
