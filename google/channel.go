package google

import (
	"time"

	directory "google.golang.org/api/admin/directory/v1"
	reports "google.golang.org/api/admin/reports/v1"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"
)

// ChannelRequest is what a pass asks Google for when it opens a channel.
type ChannelRequest struct {
	ID         string    // fresh UUIDv4
	Token      string    // fresh random token; only its hash is stored
	Address    string    // webhook URL; for a Pub/Sub kind, the topic's full name
	Expiration time.Time // requested; Google may grant less
	// Current is the resource id of the grant being renewed, for the kinds
	// kept alive by renewing one grant rather than opening another (a
	// Workspace Events subscription's name); empty for a first grant and
	// for webhook kinds.
	Current string
}

// Granted is what Google answered to a watch call.
type Granted struct {
	ResourceID  string
	ResourceURI string
	Expiration  time.Time
	// Reactivated: the grant was suspended for this reason (a Workspace
	// subscription's endpoint reason) and reactivated by this call. Renew
	// counts such renewals in a row, and ends the watch once the
	// suspension keeps coming back (see RepeatedSuspension).
	Reactivated string
}

// The four APIs declare identical Channel types; these convert to and from
// the common one. A nil response (an error) converts to the zero channel.

func toCalendar(c channel) *calendar.Channel {
	return &calendar.Channel{Id: c.ID, Type: c.Type, Address: c.Address, Token: c.Token, Expiration: c.Expiration,
		Params: c.Params, ResourceId: c.ResourceID}
}

func fromCalendar(r *calendar.Channel) channel {
	if r == nil {
		return channel{}
	}
	return channel{ID: r.Id, ResourceID: r.ResourceId, ResourceURI: r.ResourceUri, Expiration: r.Expiration}
}

func toDrive(c channel) *drive.Channel {
	return &drive.Channel{Id: c.ID, Type: c.Type, Address: c.Address, Token: c.Token, Expiration: c.Expiration,
		Params: c.Params, ResourceId: c.ResourceID}
}

func fromDrive(r *drive.Channel) channel {
	if r == nil {
		return channel{}
	}
	return channel{ID: r.Id, ResourceID: r.ResourceId, ResourceURI: r.ResourceUri, Expiration: r.Expiration}
}

func toDirectory(c channel) *directory.Channel {
	return &directory.Channel{Id: c.ID, Type: c.Type, Address: c.Address, Token: c.Token, Expiration: c.Expiration,
		Params: c.Params, ResourceId: c.ResourceID}
}

func fromDirectory(r *directory.Channel) channel {
	if r == nil {
		return channel{}
	}
	return channel{ID: r.Id, ResourceID: r.ResourceId, ResourceURI: r.ResourceUri, Expiration: r.Expiration}
}

func toReports(c channel) *reports.Channel {
	return &reports.Channel{Id: c.ID, Type: c.Type, Address: c.Address, Token: c.Token, Expiration: c.Expiration,
		Params: c.Params, ResourceId: c.ResourceID}
}

func fromReports(r *reports.Channel) channel {
	if r == nil {
		return channel{}
	}
	return channel{ID: r.Id, ResourceID: r.ResourceId, ResourceURI: r.ResourceUri, Expiration: r.Expiration}
}
