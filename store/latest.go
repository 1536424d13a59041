package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// LatestCollection holds, per item of a watch whose changes are
// notification bodies (the Admin SDK's), the message Sync published last
// for it. Owned by Sync; deleted with its watch.
const LatestCollection = "latest"

// Latest is a latest/{id} document: the notification whose body Sync
// published last for one item of a watch. Sync's subscription is unordered
// and a delivery it failed comes back later, so without it an alias's
// redelivered add could be published after its delete, and stand as the
// last word on a deleted alias. See BodyClaim for the rule.
type Latest struct {
	WatchID string `firestore:"watchId" json:"watchId"` // a field, so that a purge finds a watch's records
	ItemID  string `firestore:"itemId" json:"itemId"`
	// Version is the item's version published (the last part of its
	// change event's id), for operators.
	Version string `firestore:"version" json:"version"`
	// ChannelID and MessageNumber name the message that carried the body.
	ChannelID     string `firestore:"channelId" json:"channelId"`
	MessageNumber int64  `firestore:"messageNumber" json:"messageNumber"`
	// ChannelExpiration is that channel's, as the notification said it;
	// omitted when it said none.
	ChannelExpiration time.Time `firestore:"channelExpiration,omitempty" json:"channelExpiration,omitzero"`
	// ClaimedAt is when Sync claimed the body, just before publishing it.
	ClaimedAt time.Time `firestore:"claimedAt" json:"claimedAt,omitzero"`
}

// BodyClaim offers one notification's body as the latest of its item.
type BodyClaim struct {
	WatchID, ItemID, Version string
	// ChannelID and Number are the notification's X-Goog-Channel-ID and
	// X-Goog-Message-Number.
	ChannelID string
	Number    int64
	// Expiration is the channel's X-Goog-Channel-Expiration; zero when
	// Google sent none.
	Expiration time.Time
	// Current is the watch's channel as Sync read the watch; "" when it
	// has none.
	Current string
	Now     time.Time
}

// Verdict is how a body compares with the one published last for its item.
type Verdict string

// Verdicts of ClaimBody.
const (
	// BodyNewer: the body is now the item's latest; publish it.
	BodyNewer Verdict = "newer"
	// BodySame: the message published last, delivered again; publish it
	// again (its change event has the same ce-id, so subscribers dedupe).
	BodySame Verdict = "same"
	// BodyOlder: a newer body of the item was published; drop this one.
	BodyOlder Verdict = "older"
)

// order is the rule, written once for both stores: how body b compares
// with l, the body published last for its item.
//
// Google numbers a channel's messages in increasing order (not
// consecutively), so within one channel the higher number is the newer
// change and an equal one is the same message again. Numbers of two
// channels say nothing of each other: a watch's channel is replaced every
// few hours, and while the old one is retired both deliver every change.
// So a body from the watch's current channel beats one recorded from any
// other: if the recorded change is newer, the current channel, live when it
// was made, delivers it too, with a higher number than b's, and it is
// published again then. For the same reason a body from another channel
// never beats one recorded from the current channel. When neither channel
// is current (a body delayed past a renewal, or a new channel's sync
// before its activation), the later-expiring channel is the later-opened
// one, since a watch asks every channel for the same lifetime; with no
// expiration to go by, the body that arrived last stands, as it would
// without this rule.
func (l Latest) order(b BodyClaim) Verdict {
	switch {
	case b.ChannelID == l.ChannelID:
		switch {
		case b.Number > l.MessageNumber:
			return BodyNewer
		case b.Number == l.MessageNumber:
			return BodySame
		}
		return BodyOlder
	case b.ChannelID == b.Current:
		return BodyNewer
	case l.ChannelID == b.Current:
		return BodyOlder
	case !b.Expiration.IsZero() && !l.ChannelExpiration.IsZero() && !b.Expiration.Equal(l.ChannelExpiration):
		if b.Expiration.After(l.ChannelExpiration) {
			return BodyNewer
		}
		return BodyOlder
	}
	return BodyNewer
}

// claim applies the rule to b, given the item's record l (ok false: there
// is none, and any body is newer). It returns the record as it stands
// after the claim, and whether the store is to write it.
func (l Latest) claim(b BodyClaim, ok bool) (Latest, Verdict, bool) {
	if ok {
		if v := l.order(b); v != BodyNewer {
			return l, v, false
		}
	}
	return Latest{
		WatchID: b.WatchID, ItemID: b.ItemID, Version: b.Version,
		ChannelID: b.ChannelID, MessageNumber: b.Number,
		ChannelExpiration: normal(b.Expiration), ClaimedAt: normal(b.Now),
	}, BodyNewer, true
}

// check refuses a claim no record can be kept for.
func (b BodyClaim) check() error {
	if err := CheckID(b.WatchID); err != nil {
		return fmt.Errorf("claim body: %w", err)
	}
	if b.ItemID == "" || b.ChannelID == "" {
		return fmt.Errorf("claim body of watch %s: %w: empty item or channel id", b.WatchID, ErrInvalidID)
	}
	return nil
}

// latestDoc is the document id of an item's record. Item ids may hold "/",
// which a document id cannot, and watch ids never do, so "watch/item"
// names one item of one watch, hashed as outbox ids are.
func latestDoc(watchID, itemID string) string {
	sum := sha256.Sum256([]byte(watchID + "/" + itemID))
	return hex.EncodeToString(sum[:])
}
