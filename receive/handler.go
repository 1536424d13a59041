package receive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/store"
)

// MaxBody is the largest body Receive reads; Google's bodies are a few
// hundred bytes (Drive changes), so anything bigger is not Google.
const MaxBody = 64 << 10

// Channels is what Receive needs of the store: one read per notification,
// and a write only for the sync of a pending channel.
type Channels interface {
	Channel(ctx context.Context, id string) (store.Channel, error)
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
}

// Publisher makes an event durable; Publish returns only once Pub/Sub has it.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Deps are what a Handler is built from.
type Deps struct {
	Channels  Channels
	Publisher Publisher
	// Logger gets one line per refused or stray notification (default
	// slog.Default()).
	Logger *slog.Logger
	// Strays, when set, gets a record of each notification of an unknown
	// channel, within per-instance bounds, so that Renew stops it.
	Strays Strays
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Project names the project in trace log fields.
	Project string
	// Timeout bounds one notification (default
	// config.Defaults.ReceiveTimeout), so that a hanging store or Pub/Sub
	// is answered 503 while Google still waits. The store's calls before
	// the publish get its first half, and the publisher's own timeout must
	// be at most PublishTimeout(Timeout), which fits in the second (the
	// publisher's policy is PublishPolicy(Timeout)): then a
	// publish Receive answers 503 for has been given up already, and is
	// not published later behind Google's retry.
	Timeout time.Duration
	// MaxInFlight bounds the notifications the Handler works on at once
	// (default config.Defaults.ReceiveMaxInFlight); past it, it answers
	// 503 at once.
	MaxInFlight int
}

// Handler is the Receive function.
type Handler struct {
	d        Deps
	strays   *strayLog // nil without Deps.Strays
	inFlight inFlight
}

// New checks its inputs and returns a Handler.
func New(d Deps) (*Handler, error) {
	if d.Channels == nil || d.Publisher == nil {
		return nil, errors.New("receive: New needs Channels and a Publisher")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Timeout <= 0 {
		d.Timeout = config.Defaults.ReceiveTimeout
	}
	if d.MaxInFlight <= 0 {
		d.MaxInFlight = config.Defaults.ReceiveMaxInFlight
	}
	h := &Handler{d: d}
	if d.Strays != nil {
		h.strays = newStrayLog(d.Strays, d.Logger)
	}
	return h, nil
}

// Errors of the request itself, beside the parse and validation errors.
var (
	errMethod   = errors.New("receive: use POST")
	errTooLarge = fmt.Errorf("receive: body over %d bytes", MaxBody)
	// errBusy: Deps.MaxInFlight notifications are in flight already.
	errBusy = errors.New("receive: too many notifications in flight on this instance")
)

// statusOf is the one place error kinds become HTTP statuses. Strays answer
// 2xx so that Google stops sending what nobody serves; outages answer 503 so
// that Google retries until the event is durable.
func statusOf(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMissingHeader), errors.Is(err, ErrBadHeader):
		return http.StatusBadRequest
	case errors.Is(err, ErrBadToken), errors.Is(err, ErrResourceMismatch):
		return http.StatusForbidden
	case errors.Is(err, ErrUnknownChannel), errors.Is(err, ErrRetired):
		return http.StatusNoContent
	}
	return http.StatusServiceUnavailable
}

// ServeHTTP answers Google per docs/DESIGN.md's Receive table: 200 once the event
// is durable, 204 for a stray, 405, 400, 413 and 403 for requests that are
// wrong, and 503 while the store or Pub/Sub is out, so that Google retries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := h.handle(w, r)
	status := statusOf(err)
	if err == nil && h.d.Logger.Enabled(r.Context(), slog.LevelDebug) {
		h.d.Logger.Debug("notification published", "channel", n.ChannelID, "messageNumber", n.MessageNumber,
			"resourceState", n.ResourceState, logging.Trace(h.d.Project, r.Header.Get("X-Cloud-Trace-Context")))
	}
	if err != nil {
		attrs := []any{
			"status", status, "channel", n.ChannelID, "messageNumber", n.MessageNumber,
			"error", err.Error(), logging.Trace(h.d.Project, r.Header.Get("X-Cloud-Trace-Context")),
		}
		switch {
		case status == http.StatusNoContent:
			h.d.Logger.Warn("stray notification", attrs...)
		case status >= 500:
			h.d.Logger.Error("notification not acknowledged; Google retries", attrs...)
		default:
			h.d.Logger.Warn("notification refused", attrs...)
		}
	}
	switch status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", http.MethodPost)
	case http.StatusOK, http.StatusNoContent:
		w.WriteHeader(status)
		return
	case http.StatusServiceUnavailable:
		// The cause (a Firestore or Pub/Sub error) is in the log; the
		// caller only needs to know to come back.
		http.Error(w, "receive: unavailable, retry later", status)
		return
	}
	http.Error(w, err.Error(), status)
}

// handle does the work of one notification and returns what it parsed (for
// the log) and why it failed, if it did.
func (h *Handler) handle(w http.ResponseWriter, r *http.Request) (Notification, error) {
	if !h.inFlight.enter(h.d.MaxInFlight) {
		return Notification{}, errBusy
	}
	defer h.inFlight.leave()
	if r.Method != http.MethodPost {
		return Notification{}, errMethod
	}
	if r.Body == nil { // a Request built by hand; servers always set one
		r.Body = http.NoBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return Notification{}, errTooLarge
		}
		return Notification{}, fmt.Errorf("receive: read body: %w", err)
	}
	n, err := ParseHeaders(r.Header)
	if err != nil {
		return n, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.d.Timeout)
	defer cancel()
	// A Firestore that refuses is answered 503 in about a second, not
	// retried until the deadline; the publisher does the same for Pub/Sub
	// (PublishPolicy).
	ctx = store.FailFast(ctx, UnavailableFor)
	// The store's calls before the publish end by the middle of the
	// deadline, so that the publish, given up by its own timeout, ends
	// before it (see Deps.Timeout).
	end, _ := ctx.Deadline()
	sctx, scancel := context.WithDeadline(ctx, storeDeadline(end, h.d.Timeout))
	defer scancel()
	c, err := h.d.Channels.Channel(sctx, n.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		h.strays.record(ctx, n, h.d.Now())
		return n, ErrUnknownChannel
	}
	if err != nil {
		return n, err
	}
	c.ID = n.ChannelID
	now := h.d.Now()
	if err := Validate(n, c, now); err != nil {
		return n, err
	}
	if n.IsSync() && c.State == store.ChannelPending && c.ResourceID == "" {
		// The sync may beat the watch response: record the resource id
		// so Renew can stop this channel even if it never hears back.
		// This comes before the publish, and a failure answers 503 with
		// nothing published: Google's retry of the same message records
		// it and publishes the event then, so neither the record nor the
		// event is lost, and no event goes out twice for one failure.
		if err := h.d.Channels.UpdateChannel(sctx, c.ID, store.ChannelUpdate{
			ResourceID: &n.ResourceID, ResourceURI: &n.ResourceURI, SyncedAt: &now,
		}); err != nil {
			return n, fmt.Errorf("receive: record sync: %w", err)
		}
	}
	// No write per notification: when a watch last delivered is recorded
	// by Sync's claim of its cursor (store.Cursor.NotifiedAt), a write
	// Sync makes anyway.
	if err := h.d.Publisher.Publish(ctx, Event(n, c, body, now)); err != nil {
		return n, err
	}
	return n, nil
}
