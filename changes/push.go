package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/watchrelay/watchrelay/internal/event"
)

// maxPush caps a push delivery's body: a notification's own body is at most
// 64 KiB (Receive refuses more), a third more in base64, plus its envelope.
const maxPush = 1 << 20

// ErrBadMessage: a delivery that is not a Pub/Sub push envelope around a
// notification event or a Gmail push. It is answered 400: Pub/Sub delivers it again until
// the subscription's dead-letter policy sets it aside, where it is kept.
var ErrBadMessage = errors.New("changes: not a notification event")

// pushEnvelope is the JSON body of a Pub/Sub push delivery.
type pushEnvelope struct {
	Message struct {
		Attributes map[string]string `json:"attributes"`
		Data       []byte            `json:"data"` // base64 in the JSON
		MessageID  string            `json:"messageId"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// Deliver handles one Pub/Sub message of either subscription Sync is fed
// from: a notification event of the events topic, whose watch it syncs, or
// Gmail's push to the inbound topic ({emailAddress, historyId}, with none of
// watchrelay's attributes), which it turns into notification events. Any
// other event (Sync's own change events among them: the emulators and
// pstest ignore the subscription's filter) is acknowledged untouched. A nil
// error means the message may be acknowledged; ErrBadMessage, that it
// never can be; ErrTransient, that it is to be delivered again.
func (s *Syncer) Deliver(ctx context.Context, attrs map[string]string, data []byte, messageID string) (Outcome, error) {
	switch attrs[event.AttrType] {
	case "":
		return s.gmailPush(ctx, data)
	case event.TypeNotification:
	default:
		return Outcome{Skipped: notANotification}, nil
	}
	t := Trigger{WatchID: attrs[event.AttrWatchID], Message: messageID}
	if err := json.Unmarshal(data, &t.Notification); err != nil {
		return Outcome{}, fmt.Errorf("%w: data: %v", ErrBadMessage, err)
	}
	if t.WatchID == "" {
		t.WatchID = t.Notification.WatchID
	}
	if t.WatchID == "" {
		return Outcome{}, fmt.Errorf("%w: no watch id", ErrBadMessage)
	}
	out, err := s.Handle(ctx, t)
	if err == nil && out.Skipped == skippedNoWatch {
		// One line per notification of a watch the store does not have
		// (removed since, or scripts/smoke.sh's channel, whose turn this
		// line shows); not for every notification of a watch with
		// changes off, which would be a log line each.
		s.log.Info("sync skipped", "watch", t.WatchID, "reason", out.Skipped)
	}
	return out, err
}

// notANotification is why Deliver skips any event but a notification; it
// is answered 204 rather than with an outcome.
const notANotification = "not a notification"

// statusOf is the one place a Deliver outcome becomes an HTTP status.
func statusOf(out Outcome, err error) int {
	switch {
	case errors.Is(err, ErrBadMessage):
		return http.StatusBadRequest
	case err != nil:
		return http.StatusServiceUnavailable
	case out.Skipped == notANotification:
		return http.StatusNoContent
	}
	return http.StatusOK
}

// ServeHTTP is the Sync function: the push endpoint of a subscription of the
// events topic. 2xx acknowledges the delivery; 503 (a transient failure) and
// 400 (not a notification event) have Pub/Sub deliver it again, with
// backoff, until its dead-letter policy keeps it aside.
func (s *Syncer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "sync: use POST", http.StatusMethodNotAllowed)
		return
	}
	var env pushEnvelope
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPush)).Decode(&env); err != nil {
		http.Error(w, fmt.Sprintf("sync: %v: %v", ErrBadMessage, err), http.StatusBadRequest)
		return
	}
	out, err := s.Deliver(r.Context(), env.Message.Attributes, env.Message.Data, env.Message.MessageID)
	code := statusOf(out, err)
	switch {
	case err != nil:
		if code == http.StatusBadRequest {
			s.log.Warn("push delivery refused", "message", env.Message.MessageID, "error", err)
		}
		http.Error(w, "sync: "+err.Error(), code)
	case code == http.StatusNoContent:
		w.WriteHeader(code)
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out) //nolint:errcheck // Pub/Sub reads only the status
	}
}
