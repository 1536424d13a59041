package receive

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/watchrelay/watchrelay/store"
)

// Strays is where Receive records a notification of a channel the store
// does not know, so that Renew stops it; *store.Memory and *store.Firestore
// are ones.
type Strays interface {
	RecordStray(ctx context.Context, s store.Stray) error
}

// Anyone can post notifications with random channel ids, so what a stray
// costs is bounded: per instance, at most strayBurst records at once and
// strayRate a second after that, and a channel id recorded already (or
// refused by the limit) is not tried again while it is remembered.
const (
	strayRate     = 1
	strayBurst    = 10
	strayRemember = 10000
)

// strayLog records strays within those bounds.
type strayLog struct {
	store   Strays
	limiter *rate.Limiter
	log     *slog.Logger

	mu   sync.Mutex
	seen map[string]bool
}

func newStrayLog(s Strays, log *slog.Logger) *strayLog {
	return &strayLog{store: s, limiter: rate.NewLimiter(strayRate, strayBurst), log: log, seen: map[string]bool{}}
}

// record writes n's stray record, once per channel id, within the bounds;
// a failure is logged, never answered: the notification is a stray either
// way, and Google must not retry it.
func (l *strayLog) record(ctx context.Context, n Notification, now time.Time) {
	if l == nil || store.CheckID(n.ChannelID) != nil {
		return
	}
	l.mu.Lock()
	if l.seen[n.ChannelID] {
		l.mu.Unlock()
		return
	}
	if len(l.seen) >= strayRemember {
		clear(l.seen)
	}
	l.seen[n.ChannelID] = true
	l.mu.Unlock()
	if !l.limiter.Allow() {
		return
	}
	err := l.store.RecordStray(ctx, store.Stray{
		ChannelID: n.ChannelID, ResourceID: n.ResourceID, ResourceURI: n.ResourceURI,
		State: store.StraySeen, SeenAt: now, DeleteAt: now.Add(store.Retention),
	})
	if err != nil && !errors.Is(err, store.ErrExists) {
		l.log.Warn("stray not recorded", "channel", n.ChannelID, "error", err)
	}
}
