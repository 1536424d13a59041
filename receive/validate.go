package receive

import (
	"crypto/subtle"
	"errors"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// Validation errors: what is wrong between a notification and its channel.
var (
	// ErrUnknownChannel: no channel has that id (a stray: 2xx, nothing
	// published, so Google stops retrying something nobody serves).
	ErrUnknownChannel = errors.New("receive: unknown channel")
	// ErrRetired: the channel was retired and its grace period is over
	// (a stray, like an unknown channel).
	ErrRetired = errors.New("receive: channel retired")
	// ErrBadToken: the token is missing or is not the channel's (403).
	ErrBadToken = errors.New("receive: token does not match the channel")
	// ErrResourceMismatch: the resource id is not the channel's (403).
	ErrResourceMismatch = errors.New("receive: resource id does not match the channel")
)

// Validate checks a notification against its stored channel at now: the
// token's hash equal to the stored one (in constant time), the resource id
// equal when the channel knows it, and the channel pending, active, or
// retired but still within its grace period.
func Validate(n Notification, c store.Channel, now time.Time) error {
	// Every channel watchrelay makes has a token, so a notification
	// without one is forged, as is one whose hash differs.
	if n.Token == "" || c.TokenHash == "" ||
		subtle.ConstantTimeCompare([]byte(store.HashToken(n.Token)), []byte(c.TokenHash)) != 1 {
		return ErrBadToken
	}
	if c.ResourceID != "" && c.ResourceID != n.ResourceID {
		return ErrResourceMismatch
	}
	if !c.Accepts(now) {
		return ErrRetired
	}
	return nil
}
