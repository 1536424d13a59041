package google

import "context"

// ClientCount is how many clients a has built, for the external tests.
func (a *APIs) ClientCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.services)
}

// ServiceAccount is the delegation target a resolves, for the external
// tests.
func (a *APIs) ServiceAccount(ctx context.Context) (string, error) { return a.serviceAccount(ctx) }

// HasWatch reports whether k has a watch call, for the external tests.
func (k Kind) HasWatch() bool { return k.watch != nil }
