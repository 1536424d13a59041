package changes

import (
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
// notification event. It is answered 400: Pub/Sub delivers it again until
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

// TriggerOf reads a Pub/Sub message of the events topic. ok is false for
// any event but a notification (Sync's own change events among them: the
// emulator and pstest ignore the subscription's filter), which is simply
// acknowledged.
func TriggerOf(attrs map[string]string, data []byte, messageID string) (t Trigger, ok bool, err error) {
	if attrs[event.AttrType] != event.TypeNotification {
		return Trigger{}, false, nil
	}
	t = Trigger{WatchID: attrs[event.AttrWatchID], Message: messageID}
	if err := json.Unmarshal(data, &t.Notification); err != nil {
		return Trigger{}, false, fmt.Errorf("%w: data: %v", ErrBadMessage, err)
	}
	if t.WatchID == "" {
		t.WatchID = t.Notification.WatchID
	}
	if t.WatchID == "" {
		return Trigger{}, false, fmt.Errorf("%w: no watch id", ErrBadMessage)
	}
	return t, true, nil
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
	t, ok, err := TriggerOf(env.Message.Attributes, env.Message.Data, env.Message.MessageID)
	if err != nil {
		s.log.Warn("push delivery refused", "message", env.Message.MessageID, "error", err)
		http.Error(w, "sync: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out, err := s.Handle(r.Context(), t)
	if err != nil {
		http.Error(w, "sync: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out) //nolint:errcheck // Pub/Sub reads only the status
}
