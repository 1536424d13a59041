// Package event is watchrelay's public event format: CloudEvents 1.0 in
// binary content mode on Pub/Sub (the CloudEvents Pub/Sub protocol binding),
// and the one Publisher both Receive and Renew send them through.
//
// Each message has the attributes ce-specversion, ce-id, ce-source, ce-type,
// ce-time, ce-subject and content-type, plus watch_id, kind and
// resource_state (change, on a change event) for subscription filters; its
// ordering key is the watch id and its data the JSON of NotificationData,
// LifecycleData, ChangeData or ResyncData.
package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/watchrelay/watchrelay/store"
)

// The ce-type values, as docs/DESIGN.md lists them.
const (
	TypeNotification = "watchrelay.notification.v1"
	TypeStarted      = "watchrelay.watch.started.v1"
	TypeRenewed      = "watchrelay.watch.renewed.v1"
	TypeLapsed       = "watchrelay.watch.lapsed.v1"
	TypeFailed       = "watchrelay.watch.failed.v1"
	TypeGone         = "watchrelay.watch.gone.v1"
	TypeStopped      = "watchrelay.watch.stopped.v1"
	// TypeChange is one changed item, read by Sync (see ChangeData).
	TypeChange = "watchrelay.change.v1"
	// TypeResync: a watch's cursor expired; Sync took a fresh baseline,
	// and changes between the two may have been published only as the
	// baseline (or, without a snapshot, not at all): resync from the API.
	TypeResync = "watchrelay.watch.resync.v1"
)

// Attribute names of the binding and of watchrelay's filter attributes.
const (
	AttrSpecVersion   = "ce-specversion"
	AttrID            = "ce-id"
	AttrSource        = "ce-source"
	AttrType          = "ce-type"
	AttrTime          = "ce-time"
	AttrSubject       = "ce-subject"
	AttrContentType   = "content-type"
	AttrWatchID       = "watch_id"
	AttrKind          = "kind"
	AttrResourceState = "resource_state"
	AttrChange        = "change"
)

// The values of a change event's change attribute.
const (
	ChangeUpsert  = "upsert"
	ChangeRemoved = "removed"
)

// ErrUnavailable wraps every publish failure: the event is not durable, so
// the caller must not acknowledge what it stands for.
var ErrUnavailable = errors.New("event: publish failed")

// Event is one CloudEvent before it becomes a Pub/Sub message. Its time goes
// out in milliseconds, as docs/DESIGN.md's examples show it: finer digits would
// only be the clock's noise.
type Event struct {
	ID      string
	Source  string
	Type    string
	Subject string
	Time    time.Time
	// WatchID, Kind and ResourceState become filter attributes; WatchID is
	// also the ordering key, so one watch's events arrive in order.
	WatchID       string
	Kind          string
	ResourceState string
	// Change is ChangeUpsert or ChangeRemoved on a change event, a filter
	// attribute too; empty on every other event.
	Change string
	// Data is marshalled to JSON as the message data.
	Data any
}

// NotificationData is the data of a watchrelay.notification.v1 event. Fields
// Google did not send are omitted.
type NotificationData struct {
	WatchID           string            `json:"watchId"`
	ChannelID         string            `json:"channelId"`
	Kind              string            `json:"kind,omitempty"`
	MessageNumber     int64             `json:"messageNumber"`
	ResourceState     string            `json:"resourceState"`
	ResourceID        string            `json:"resourceId"`
	ResourceURI       string            `json:"resourceUri"`
	Changed           []string          `json:"changed,omitempty"`
	ChannelExpiration *time.Time        `json:"channelExpiration,omitempty"`
	ReceivedAt        time.Time         `json:"receivedAt"`
	Labels            map[string]string `json:"labels,omitempty"`
	Body              json.RawMessage   `json:"body,omitempty"`
}

// LifecycleData is the data of every watchrelay.watch.*.v1 event.
type LifecycleData struct {
	WatchID       string            `json:"watchId"`
	Kind          string            `json:"kind"`
	Params        map[string]string `json:"params,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	OldChannelID  string            `json:"oldChannelId,omitempty"`
	OldExpiration *time.Time        `json:"oldExpiration,omitempty"`
	NewChannelID  string            `json:"newChannelId,omitempty"`
	NewExpiration *time.Time        `json:"newExpiration,omitempty"`
	Error         string            `json:"error,omitempty"`
}

// ChangeData is the data of a watchrelay.change.v1 event: one item as the
// API returned it when Sync read it.
type ChangeData struct {
	WatchID   string            `json:"watchId"`
	Kind      string            `json:"kind"`
	ItemID    string            `json:"itemId"`
	Removed   bool              `json:"removed"`
	Item      json.RawMessage   `json:"item,omitempty"`
	FetchedAt time.Time         `json:"fetchedAt"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// ResyncData is the data of a watchrelay.watch.resync.v1 event.
type ResyncData struct {
	WatchID string            `json:"watchId"`
	Kind    string            `json:"kind"`
	Reason  string            `json:"reason"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// WatchSource is the ce-source of every event about a watch that is not a
// notification: lifecycle, change and resync events.
func WatchSource(watchID string) string { return "//watchrelay/watches/" + watchID }

// LifecycleOf is the data of a lifecycle event about w: the channel it
// leaves (oldID, expiring at oldExp; "" for none) and the one it moves to
// (newID, expiring at newExp; "" for none), and why, when it ended.
func LifecycleOf(w store.Watch, oldID string, oldExp time.Time, newID string, newExp time.Time, reason string) LifecycleData {
	d := LifecycleData{
		WatchID:      w.ID,
		Kind:         w.Kind,
		Params:       w.Params,
		Labels:       w.Labels,
		OldChannelID: oldID,
		NewChannelID: newID,
		Error:        reason,
	}
	if oldID != "" && !oldExp.IsZero() {
		d.OldExpiration = &oldExp
	}
	if newID != "" {
		d.NewExpiration = &newExp
	}
	return d
}

// Ended is the event that reports w's end in state, at now: gone.v1 for
// store.WatchGone, else failed.v1. w is the watch as it was just before
// the end, so the channel it names is the one the end retired. Renew and
// Sync both end watches, and report it alike.
func Ended(w store.Watch, state store.WatchState, reason string, now time.Time) Event {
	typ := TypeFailed
	if state == store.WatchGone {
		typ = TypeGone
	}
	return Lifecycle(typ, LifecycleOf(w, w.ChannelID, w.ChannelExpiration, "", time.Time{}, reason), now)
}

// Lifecycle is the watchrelay.watch.*.v1 event of type typ about a watch, at
// now. Its id is fixed by the watch, the type and the channel it is about
// (the new one, or the old one when there is none), so a repeat, from Renew
// or Sync alike, dedupes.
func Lifecycle(typ string, data LifecycleData, now time.Time) Event {
	channel := data.NewChannelID
	if channel == "" {
		channel = data.OldChannelID
	}
	return Event{
		ID:      data.WatchID + "/" + typ + "/" + channel,
		Source:  WatchSource(data.WatchID),
		Type:    typ,
		Subject: data.WatchID,
		Time:    now,
		WatchID: data.WatchID,
		Kind:    data.Kind,
		Data:    data,
	}
}

// Message renders the event as a Pub/Sub message in binary content mode.
func (e Event) Message() (*pubsub.Message, error) {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return nil, fmt.Errorf("event: %s: %w", e.ID, err)
	}
	attrs := map[string]string{
		AttrSpecVersion: "1.0",
		AttrID:          e.ID,
		AttrSource:      e.Source,
		AttrType:        e.Type,
		AttrTime:        e.Time.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano),
		AttrContentType: "application/json",
		AttrWatchID:     e.WatchID,
		AttrKind:        e.Kind,
	}
	if e.Subject != "" {
		attrs[AttrSubject] = e.Subject
	}
	if e.ResourceState != "" {
		attrs[AttrResourceState] = e.ResourceState
	}
	if e.Change != "" {
		attrs[AttrChange] = e.Change
	}
	return &pubsub.Message{Data: data, Attributes: attrs, OrderingKey: e.WatchID}, nil
}

// Publisher sends events to one topic and waits until Pub/Sub has them.
type Publisher struct {
	p *pubsub.Publisher
}

// NewPublisher publishes to topic (an id or a full name) through client, with
// message ordering on, as ordering keys require.
func NewPublisher(client *pubsub.Client, topic string) (*Publisher, error) {
	if client == nil || topic == "" {
		return nil, errors.New("event: NewPublisher needs a client and a topic")
	}
	p := client.Publisher(topic)
	p.EnableMessageOrdering = true
	// One notification is one publish that Google waits on: send it at
	// once rather than after the default 10 ms batching delay. A bundle of
	// one is sent without waiting for the delay at all (receive's
	// BenchmarkReceive: about 0.2 ms instead of 1.5 ms per notification).
	p.PublishSettings.DelayThreshold = time.Millisecond
	p.PublishSettings.CountThreshold = 1
	p.PublishSettings.Timeout = PublishTimeout
	failFast(client, UnavailableFor)
	return &Publisher{p: p}, nil
}

// PublishTimeout bounds the client's own retries of one publish, by
// default. Past it the publish is given up for good, so that one Receive
// answered 503 for is not published later in the background (Google's
// retry publishes it), nor pauses the watch's ordering key long after. It
// is receive.PublishTimeout of Receive's default deadline (10 s): the
// service sets receive.PublishTimeout of the configured one (SetTimeout).
const PublishTimeout = 4 * time.Second

// SetTimeout replaces PublishTimeout; call it before the first Publish.
// Tests with a short Receive timeout use it to keep the same order.
func (p *Publisher) SetTimeout(d time.Duration) { p.p.PublishSettings.Timeout = d }

// Publish sends e and returns once Pub/Sub has confirmed it is stored.
func (p *Publisher) Publish(ctx context.Context, e Event) error {
	msg, err := e.Message()
	if err != nil {
		return err
	}
	if _, err := p.p.Publish(ctx, msg).Get(ctx); err != nil {
		// A failed publish pauses its ordering key; resume it so the
		// next attempt (Google's retry) can go through.
		p.p.ResumePublish(msg.OrderingKey)
		return fmt.Errorf("%w: %s %s: %v", ErrUnavailable, e.Type, e.ID, err)
	}
	return nil
}

// PublishAll sends es in order and returns once Pub/Sub has confirmed them
// all. They go out together rather than one round trip each (a page of a
// thousand Drive changes), and on one ordering key they keep their order.
// On a failure some may be stored and others not: the caller publishes
// them all again, and consumers dedupe on ce-id.
func (p *Publisher) PublishAll(ctx context.Context, es []Event) error {
	results := make([]*pubsub.PublishResult, len(es))
	for i, e := range es {
		msg, err := e.Message()
		if err != nil {
			return err
		}
		results[i] = p.p.Publish(ctx, msg)
	}
	var first error
	for i, r := range results {
		if _, err := r.Get(ctx); err != nil && first == nil {
			p.p.ResumePublish(es[i].WatchID)
			first = fmt.Errorf("%w: %s %s: %v", ErrUnavailable, es[i].Type, es[i].ID, err)
		}
	}
	return first
}

// Stop flushes and stops the publisher.
func (p *Publisher) Stop() { p.p.Stop() }
