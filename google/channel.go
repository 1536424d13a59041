package google

import (
	"time"
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
