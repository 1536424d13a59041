package changes

import (
	"testing"

	"github.com/watchrelay/watchrelay/store"
)

// A page's read and its publish, were both to run out, end well before a
// live holder that writes after every page could be taken over.
func TestPublishPolicyFitsAPage(t *testing.T) {
	p := PublishPolicy()
	if worst := pageTimeout + max(p.Timeout, p.UnavailableFor); worst > store.TakeoverQuiet*3/4 {
		t.Errorf("a page's read (%v) and publish (%v) take up to %v, want at most three quarters of store.TakeoverQuiet (%v)",
			pageTimeout, max(p.Timeout, p.UnavailableFor), worst, store.TakeoverQuiet)
	}
}
