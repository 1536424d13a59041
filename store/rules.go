package store

import "time"

// Finished is the update that records a channel's last state (stopped,
// expired or failed) and when its record may go. The record is kept
// Retention for operators reading the console, then the Firestore TTL policy
// on deleteAt removes it: nothing else ever deletes a channel, so a finished
// record without a deleteAt would stay forever. StoppedAt is set only for
// ChannelStopped, the one state in which Google confirmed the stop.
//
// A pass and the CLI's channel stop both finish channels; this is the one
// place that says what finishing writes.
func Finished(state ChannelState, now time.Time) ChannelUpdate {
	u := ChannelUpdate{State: &state, DeleteAt: Ptr(now.Add(Retention))}
	if state == ChannelStopped {
		u.StoppedAt = &now
	}
	return u
}

// Retiring is the update that retires a channel: stopping, until
// channels.stop is confirmed, and its notifications still accepted until
// acceptUntil, as Google may retry real changes sent before the retirement.
func Retiring(acceptUntil time.Time) ChannelUpdate {
	return ChannelUpdate{State: Ptr(ChannelStopping), AcceptUntil: &acceptUntil}
}

// retirement is the update of a channel its watch no longer names (a
// renewal replaced it, or the watch ended): stopping, or expired (a
// finished record) if its expiration has passed at now; its notifications
// accepted until acceptUntil either way, as Google may still retry real
// changes.
func retirement(expiration, now, acceptUntil time.Time) ChannelUpdate {
	if !expiration.After(now) {
		u := Finished(ChannelExpired, now)
		u.AcceptUntil = &acceptUntil
		return u
	}
	return Retiring(acceptUntil)
}
