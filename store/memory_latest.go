package store

import (
	"context"
	"fmt"
)

// ClaimBody compares b with the body published last for its item (the rule
// of Latest.order) and, when b is newer, records it as the item's latest,
// in one atomic step: under the mutex here, a read and a conditional write
// in Firestore. It returns the record as it stands after the claim (for
// BodyOlder, the newer one b lost to) and the verdict: publish b for
// BodyNewer and BodySame, drop it for BodyOlder.
//
// The claim comes before the publish so that of two deliveries of one
// item at once only the newer can be published last. Claimed after the
// publish, both could read the record before either wrote it, both
// publish, and the older land last. What remains: two claims that succeed
// in turn (the older first) publish concurrently, and Pub/Sub may take the
// newer first. That needs two bodies of one item within one publish's
// round trip (tens of milliseconds); closing it would cost a second write
// per notification (a claim held until its publish is confirmed).
func (m *Memory) ClaimBody(_ context.Context, b BodyClaim) (Latest, Verdict, error) {
	if err := b.check(); err != nil {
		return Latest{}, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.latest[b.WatchID][b.ItemID]
	l, v, write := l.claim(b, ok)
	if write {
		if m.latest[b.WatchID] == nil {
			m.latest[b.WatchID] = map[string]Latest{}
		}
		m.latest[b.WatchID][b.ItemID] = l
	}
	return l, v, nil
}

// Latest returns the record of the body published last for an item of a
// watch; ErrNotFound if there is none.
func (m *Memory) Latest(_ context.Context, watchID, itemID string) (Latest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.latest[watchID][itemID]
	if !ok {
		return Latest{}, fmt.Errorf("latest %s/%s: %w", watchID, itemID, ErrNotFound)
	}
	return l, nil
}
