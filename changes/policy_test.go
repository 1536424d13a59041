package changes

import (
	"testing"

	"github.com/watchrelay/watchrelay/store"
)

// A page's read and the keeping of it, were both to run out, end before a
// live holder that writes after every page could be taken over; and the
// keeping leaves a publish of Sync's policy time to fail on its own terms
// (a hung request, a refusal waited out) rather than be cut off.
func TestPublishPolicyFitsAPage(t *testing.T) {
	p := PublishPolicy()
	if publish := max(p.Timeout, p.UnavailableFor); publish > KeepTimeout {
		t.Errorf("a publish of Sync's policy takes up to %v, past KeepTimeout (%v)", publish, KeepTimeout)
	}
	if worst := pageTimeout + KeepTimeout; worst >= store.TakeoverQuiet {
		t.Errorf("a page's read (%v) and its keeping (%v) take up to %v, want less than store.TakeoverQuiet (%v)",
			pageTimeout, KeepTimeout, worst, store.TakeoverQuiet)
	}
}
