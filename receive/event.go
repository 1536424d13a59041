package receive

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// Event builds the CloudEvent of a validated notification. Its id is
// "<channelId>/<messageNumber>", the same for Google's retries of one
// message, so consumers dedupe on it. A JSON body (Drive changes sends one)
// is carried as it is; any other body is dropped, since no API sends one.
func Event(n Notification, c store.Channel, body []byte, receivedAt time.Time) event.Event {
	receivedAt = receivedAt.UTC().Truncate(time.Millisecond) // as ce-time has it
	d := event.NotificationData{
		WatchID:       c.WatchID,
		ChannelID:     n.ChannelID,
		Kind:          c.Kind,
		MessageNumber: n.MessageNumber,
		ResourceState: n.ResourceState,
		ResourceID:    n.ResourceID,
		ResourceURI:   n.ResourceURI,
		Changed:       n.Changed,
		ReceivedAt:    receivedAt,
		Labels:        c.Labels,
	}
	if !n.Expiration.IsZero() {
		exp := n.Expiration
		d.ChannelExpiration = &exp
	}
	if len(body) > 0 && json.Valid(body) {
		d.Body = json.RawMessage(body)
	}
	return event.Event{
		ID:            n.ChannelID + "/" + strconv.FormatInt(n.MessageNumber, 10),
		Source:        n.ResourceURI,
		Type:          event.TypeNotification,
		Subject:       n.ResourceID,
		Time:          receivedAt,
		WatchID:       c.WatchID,
		Kind:          c.Kind,
		ResourceState: n.ResourceState,
		Data:          d,
	}
}
