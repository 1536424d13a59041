package receive_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	const token = "validate-token-3e8b1d5f7a9c"
	live := store.Channel{
		ID: "ch", WatchID: "w", Kind: "calendar.events", ResourceID: "res",
		TokenHash: store.HashToken(token), State: store.ChannelActive,
	}
	note := receive.Notification{ChannelID: "ch", MessageNumber: 5, ResourceID: "res", ResourceState: "exists", ResourceURI: "u", Token: token}
	with := func(edit func(c *store.Channel)) store.Channel { c := live; edit(&c); return c }
	sent := func(edit func(n *receive.Notification)) receive.Notification { n := note; edit(&n); return n }

	tests := []struct {
		name string
		n    receive.Notification
		c    store.Channel
		want error
	}{
		// An active channel, its token, its resource.
		{"active", note, live, nil},
		// Pending, resource id not known yet: any resource id goes.
		{"pending, resource unknown", sent(func(n *receive.Notification) { n.ResourceID = "other" }),
			with(func(c *store.Channel) { c.State = store.ChannelPending; c.ResourceID = "" }), nil},
		// Retired, still in its grace period.
		{"stopping within grace", note, with(func(c *store.Channel) {
			c.State = store.ChannelStopping
			c.AcceptUntil = t0.Add(time.Nanosecond)
		}), nil},
		// Retired, the grace ends exactly now: refused.
		{"stopped at acceptUntil", note, with(func(c *store.Channel) {
			c.State = store.ChannelStopped
			c.AcceptUntil = t0
		}), receive.ErrRetired},
		// Expired with no grace.
		{"expired", note, with(func(c *store.Channel) { c.State = store.ChannelExpired }), receive.ErrRetired},
		// The watch call failed: the channel serves nobody.
		{"failed", note, with(func(c *store.Channel) { c.State = store.ChannelFailed }), receive.ErrRetired},
		// A state this version does not know is not served.
		{"unknown state", note, with(func(c *store.Channel) { c.State = "paused" }), receive.ErrRetired},
		// No token: Google sends one for every watchrelay channel.
		{"no token", sent(func(n *receive.Notification) { n.Token = "" }), live, receive.ErrBadToken},
		// A wrong token.
		{"wrong token", sent(func(n *receive.Notification) { n.Token = token + "x" }), live, receive.ErrBadToken},
		// The hash itself sent as the token.
		{"hash as token", sent(func(n *receive.Notification) { n.Token = store.HashToken(token) }), live, receive.ErrBadToken},
		// A channel without a stored hash accepts nothing, not even "".
		{"no stored hash", sent(func(n *receive.Notification) { n.Token = "" }),
			with(func(c *store.Channel) { c.TokenHash = "" }), receive.ErrBadToken},
		// The stored hash in upper case is not the documented form.
		{"upper-case stored hash", note, with(func(c *store.Channel) {
			c.TokenHash = strings.ToUpper(c.TokenHash)
		}), receive.ErrBadToken},
		// Another resource's notification with this channel's token.
		{"resource mismatch", sent(func(n *receive.Notification) { n.ResourceID = "res2" }), live, receive.ErrResourceMismatch},
		// Resource ids are opaque: compared exactly, case included.
		{"resource id case", sent(func(n *receive.Notification) { n.ResourceID = "RES" }), live, receive.ErrResourceMismatch},
		// A forged notification to a retired channel is forged first.
		{"retired and wrong token", sent(func(n *receive.Notification) { n.Token = "x" }),
			with(func(c *store.Channel) { c.State = store.ChannelStopped }), receive.ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := receive.Validate(tt.n, tt.c, t0)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), token) || tt.n.Token != "" && strings.Contains(err.Error(), tt.n.Token)) {
				t.Errorf("error %q shows a token", err)
			}
		})
	}
}
