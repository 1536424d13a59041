package google

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// How long channels live, and when they are renewed: the lifetimes of the
// kinds table applied to a watch, and the start-up and watch checks that
// keep a channel from lapsing between two passes.

// MaxTTL is the longest channel lifetime watchrelay asks for on kind, or 0
// for an unknown kind.
func MaxTTL(kind string) time.Duration { return kinds[kind].MaxTTL }

// RequestedExpiration is the expiration a pass asks for when it opens a
// channel for w at now: now + the kind's maximum lifetime, or less when the
// watch's ttlSeconds asks for less. For an unknown kind it is now: the
// watch call refuses the kind anyway.
func RequestedExpiration(w store.Watch, now time.Time) time.Time {
	return now.Add(requestedTTL(w))
}

// requestedTTL is the lifetime a pass asks for on a channel of w: the
// kind's maximum, or ttlSeconds when that is less.
func requestedTTL(w store.Watch) time.Duration {
	ttl := MaxTTL(w.Kind)
	// Compared in seconds, so a huge ttlSeconds cannot overflow a Duration.
	if w.TTLSeconds > 0 && w.TTLSeconds < int64(ttl/time.Second) {
		ttl = time.Duration(w.TTLSeconds) * time.Second
	}
	return ttl
}

// RenewThreshold is how long before its expiration a channel of w is
// replaced: renewBefore, but never more than half the lifetime the channel
// is asked for, so that a short-lived channel (a Drive one of an hour
// under a renewBefore of 90m) is not due the moment it opens. 0 for an
// unknown kind.
func RenewThreshold(w store.Watch, renewBefore time.Duration) time.Duration {
	return min(renewBefore, requestedTTL(w)/2)
}

// CheckRenewBefore checks WATCHRELAY_RENEW_BEFORE against the period of
// the Renew pass (WATCHRELAY_RENEW_INTERVAL) and the kinds' lifetimes. The
// window must hold at least two passes, so that one missed pass does not
// let a channel lapse, and must be shorter than the shortest lifetime of
// any kind, or every channel of that kind would be due as it opens.
func CheckRenewBefore(renewBefore, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("%w: WATCHRELAY_RENEW_INTERVAL=%v must be positive", ErrRenewWindow, interval)
	}
	if renewBefore < 2*interval {
		return fmt.Errorf("%w: WATCHRELAY_RENEW_BEFORE=%v is less than two passes of WATCHRELAY_RENEW_INTERVAL=%v (%v): one missed pass would let a channel lapse",
			ErrRenewWindow, renewBefore, interval, 2*interval)
	}
	var (
		shortest time.Duration
		names    []string
	)
	for _, k := range Kinds() {
		switch {
		case shortest == 0 || k.MaxTTL < shortest:
			shortest, names = k.MaxTTL, []string{k.Name}
		case k.MaxTTL == shortest:
			names = append(names, k.Name)
		}
	}
	if renewBefore >= shortest {
		return fmt.Errorf("%w: WATCHRELAY_RENEW_BEFORE=%v is not shorter than the %v lifetime of %s: every such channel would be due as it opens",
			ErrRenewWindow, renewBefore, shortest, strings.Join(names, ", "))
	}
	return nil
}

// CheckTTL refuses a watch whose ttlSeconds, when set, is shorter than two
// passes of interval (WATCHRELAY_RENEW_INTERVAL): its channels would lapse
// between passes, live about one minute in ten. ValidateWatch checks what
// holds whatever the deployment; this needs the deployment's interval.
func CheckTTL(w store.Watch, interval time.Duration) error {
	least := int64(math.Ceil((2 * interval).Seconds()))
	if w.TTLSeconds > 0 && w.TTLSeconds < least {
		return fmt.Errorf("%w: ttlSeconds %d is less than %d, two renewal passes of %v: the channel would lapse between passes",
			ErrInvalidWatch, w.TTLSeconds, least, interval)
	}
	return nil
}
