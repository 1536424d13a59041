// Package event is watchrelay's public event format: CloudEvents 1.0 in
// binary content mode on Pub/Sub (the CloudEvents Pub/Sub protocol binding),
// and the Publisher that Receive, Renew and Sync each send them through,
// under a Policy of their own.
//
// Each message has the attributes ce-specversion, ce-id, ce-source, ce-type,
// ce-time, ce-subject and content-type, plus watch_id, kind and
// resource_state (change, on a change event) for subscription filters; its
// ordering key is the watch id and its data the JSON of NotificationData,
// LifecycleData, ChangeData or ResyncData.
package event

import (
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
