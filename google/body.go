package google

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	directory "google.golang.org/api/admin/directory/v1"
	reports "google.golang.org/api/admin/reports/v1"
)

// The admin kinds' changes: Admin SDK notifications carry the changed
// resource as their body, so there is nothing to read and no cursor.

// ErrBadBody: an admin notification's body is empty or is not the
// resource its kind sends.
var ErrBadBody = errors.New("google: notification body is not the resource")

// bodyKind is a kind whose notification body is the change: the resource
// kind ("kind" of the JSON) it sends, and whether its items change.
type bodyKind struct {
	resource string
	mutable  bool
}

var bodyKinds = map[string]bodyKind{
	"admin.directory.users":    {"admin#directory#user", true},
	"admin.directory.aliases":  {"admin#directory#alias", true},
	"admin.reports.activities": {"admin#reports#activity", false},
}

// FromBody reports whether a kind's changes are the notification body
// itself (admin.directory.users, admin.directory.aliases,
// admin.reports.activities) rather than a read.
func FromBody(kind string) bool {
	_, ok := bodyKinds[kind]
	return ok
}

// Mutable reports whether the items of a body kind change over time (a
// Directory user or alias), so that a body delivered late may be older
// than one already published for its item. A Reports activity happens
// once and never changes: each notification is an item of its own.
func Mutable(kind string) bool { return bodyKinds[kind].mutable }

// BodyItem is the item an admin notification's body carries. state is
// X-Goog-Resource-State: for directory users and aliases the event (add,
// delete, update, makeAdmin, undelete), where "delete" means Removed. The
// error wraps ErrBadBody when the body is empty or is not the resource.
//
// A user's or alias's Version is its etag and the state: Directory may
// send a deletion with the etag of the last update, and the two must not
// share an event id. An activity's is its time (activities never change).
func BodyItem(kind, state string, body json.RawMessage) (Item, error) {
	bk, ok := bodyKinds[kind]
	want := bk.resource
	if !ok {
		return Item{}, fmt.Errorf("google: %s notifications carry no change in their body", kind)
	}
	bad := func(why string) (Item, error) {
		return Item{}, fmt.Errorf("%w: %s: %s", ErrBadBody, kind, why)
	}
	var compact bytes.Buffer
	if len(bytes.TrimSpace(body)) == 0 {
		return bad("empty body")
	}
	if err := json.Compact(&compact, body); err != nil {
		return bad("not JSON")
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return bad("not a JSON object")
	}
	if head.Kind != "" && head.Kind != want {
		return bad(fmt.Sprintf("kind %q, want %q", head.Kind, want))
	}
	it := Item{Removed: state == "delete", JSON: compact.Bytes()}
	switch kind {
	case "admin.directory.users":
		var u directory.User
		if json.Unmarshal(body, &u) != nil || u.Id == "" {
			return bad("no user id")
		}
		it.ID, it.Version = u.Id, version(u.Etag, state)
	case "admin.directory.aliases":
		var a directory.Alias
		if json.Unmarshal(body, &a) != nil || a.Alias == "" {
			return bad("no alias")
		}
		it.ID, it.Version = a.Alias, version(a.Etag, state)
	default:
		var a reports.Activity
		if json.Unmarshal(body, &a) != nil || a.Id == nil || a.Id.UniqueQualifier == 0 || a.Id.Time == "" {
			return bad("no id.uniqueQualifier and id.time")
		}
		it.ID, it.Version, it.Removed = strconv.FormatInt(a.Id.UniqueQualifier, 10), a.Id.Time, false
	}
	return it, nil
}

// version is a directory resource's version: its etag and the event.
func version(etag, state string) string {
	if etag == "" {
		return state
	}
	return etag + "/" + state
}
