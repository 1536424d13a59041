package renew

import (
	"context"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// ChannelRequest is what a pass asks Google for when it opens a channel.
type ChannelRequest struct {
	ID         string    // fresh UUIDv4
	Token      string    // fresh random token; only its hash is stored
	Address    string    // webhook URL
	Expiration time.Time // requested; Google may grant less
}

// Granted is what Google answered to a watch call.
type Granted struct {
	ResourceID  string
	ResourceURI string
	Expiration  time.Time
}

// Google is the two calls a pass makes for every kind. *APIs implements it
// over google.golang.org/api; tests may wrap it to inject crashes.
type Google interface {
	// Watch opens a channel on the watch's resource.
	Watch(ctx context.Context, w store.Watch, req ChannelRequest) (Granted, error)
	// Stop closes a channel through the kind's own channels.stop.
	Stop(ctx context.Context, w store.Watch, channelID, resourceID string) error
}
