package changes

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// gmailKind is the kind whose pushes arrive on the inbound Gmail topic.
const gmailKind = "gmail.users"

// gmailPush takes a message Gmail published to watchrelay's inbound topic,
// {emailAddress, historyId}, which names only a mailbox: it is matched to
// the mailbox's active gmail.users watches and published as a notification
// event under each watch's id, as Receive publishes a webhook's, and
// acknowledged only once they are durable. Sync reads the history when
// those events come back to it, from each watch's own cursor, so a push
// that arrives twice, or late, reads nothing twice. A push no watch wants
// (removed since) is acknowledged and dropped.
func (s *Syncer) gmailPush(ctx context.Context, data []byte) (Outcome, error) {
	email, historyID, err := google.GmailPush(data)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	ws, err := s.store.WatchesOf(ctx, gmailKind, email)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", ErrTransient, err)
	}
	if len(ws) == 0 {
		s.log.Warn("Gmail push for a mailbox no watch serves", "kind", gmailKind)
		return Outcome{Skipped: "no watch of the mailbox"}, nil
	}
	number, _ := strconv.ParseInt(historyID, 10, 64) // GmailPush checked it
	es := make([]event.Event, len(ws))
	for i, w := range ws {
		es[i] = s.gmailNotification(w, email, number, data)
	}
	if err := s.pub.PublishAll(ctx, es); err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", ErrTransient, err)
	}
	return Outcome{Published: len(es)}, nil
}

// gmailNotification is the notification event of one Gmail push for w. Its
// id is fixed by the watch and the history id, so a push Pub/Sub delivers
// twice dedupes; the history id stands where a webhook's message number
// does, and the push itself is the body.
func (s *Syncer) gmailNotification(w store.Watch, email string, historyID int64, data []byte) event.Event {
	now := s.opts.Now()
	uri := "https://gmail.googleapis.com/gmail/v1/users/" + email
	return event.Event{
		ID:            fmt.Sprintf("%s/gmail/%d", w.ID, historyID),
		Source:        uri,
		Type:          event.TypeNotification,
		Subject:       email,
		Time:          now,
		WatchID:       w.ID,
		Kind:          w.Kind,
		ResourceState: "history",
		Data: event.NotificationData{
			WatchID: w.ID, ChannelID: w.ChannelID, Kind: w.Kind, MessageNumber: historyID,
			ResourceState: "history", ResourceID: email, ResourceURI: uri,
			ReceivedAt: now, Labels: w.Labels, Body: json.RawMessage(data),
		},
	}
}
