package renew

import (
	"context"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// Google is the two calls a pass makes for every kind. *google.APIs implements it
// over google.golang.org/api; tests may wrap it to inject crashes.
type Google interface {
	// Watch opens a channel on the watch's resource.
	Watch(ctx context.Context, w store.Watch, req google.ChannelRequest) (google.Granted, error)
	// Stop closes a channel through the kind's own channels.stop.
	Stop(ctx context.Context, w store.Watch, channelID, resourceID string) error
}

// The typed clients are what the deployed Renew uses.
var _ Google = (*google.APIs)(nil)
