package googlesim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Admin SDK's pushes: Directory and Reports notifications carry the
// changed resource as their JSON body, so these edits push it to every
// live channel whose watch selects it. Nothing here is listed: Admin
// watchers need no read.

// User is a Directory user, as far as the simulator keeps one.
type User struct {
	ID           string
	PrimaryEmail string // its domain is what a watch's domain selects
	CustomerID   string // what a watch's customer selects; customer my_customer selects every user
	ETag         string // set by the edit
}

// Activity is one Reports activity.
type Activity struct {
	Time            time.Time // Options.Now when zero
	UniqueQualifier int64     // a fresh number when zero
	CustomerID      string
	ActorEmail      string   // the userKey when empty
	Events          []string // event names; the first is the notification's state
}

// adminData holds the Directory users and their aliases; guarded by
// Sim.mu. Its maps are made on first use.
type adminData struct {
	seq     int64               // the last admin edit, for etags and unique qualifiers
	users   map[string]*User    // user id → user, until deleted
	aliases map[string][]string // user id → alias emails
}

// EditUser records a Directory user event (add, update, delete,
// makeAdmin, undelete) and pushes the user, with the event as the
// resource state, to every live users channel whose customer or domain
// selects it and whose event, if any, is this one. It returns the user as
// pushed, with its new ETag. It panics on an event Directory does not
// send, since that is a mistake of the test.
func (s *Sim) EditUser(u User, event string) User {
	if !slices.Contains(userEvents, event) {
		panic(fmt.Sprintf("googlesim: EditUser: event %q is not one of %v", event, userEvents))
	}
	s.mu.Lock()
	a := s.admin()
	a.seq++
	u.ETag = etag(a.seq)
	if event == "delete" {
		delete(a.users, u.ID)
	} else {
		stored := u
		a.users[u.ID] = &stored
	}
	body := map[string]any{"kind": "admin#directory#user", "id": u.ID, "etag": u.ETag, "primaryEmail": u.PrimaryEmail}
	if u.CustomerID != "" {
		body["customerId"] = u.CustomerID
	}
	domain := u.PrimaryEmail[strings.LastIndex(u.PrimaryEmail, "@")+1:]
	msgs := s.queueBody(KindDirectoryUsers, event, body, func(p map[string]string) bool {
		selected := p["customer"] == "my_customer" || (p["customer"] != "" && p["customer"] == u.CustomerID) ||
			(p["domain"] != "" && p["domain"] == domain)
		return selected && (p["event"] == "" || p["event"] == event)
	})
	s.mu.Unlock()
	s.dispatch(msgs)
	return u
}

// AddAlias gives a user (by id or primary email) an alias and pushes it,
// state add, to the user's aliases channels. It reports false, and
// changes nothing, when there is no such user.
func (s *Sim) AddAlias(userKey, alias string) bool {
	return s.editAlias(userKey, alias, "add")
}

// DeleteAlias removes a user's alias and pushes it, state delete, to the
// user's aliases channels. It reports false when the user has no such
// alias.
func (s *Sim) DeleteAlias(userKey, alias string) bool {
	return s.editAlias(userKey, alias, "delete")
}

func (s *Sim) editAlias(userKey, alias, event string) bool {
	s.mu.Lock()
	a := s.admin()
	u := a.user(userKey)
	if u == nil || slices.Contains(a.aliases[u.ID], alias) != (event == "delete") {
		s.mu.Unlock()
		return false
	}
	if event == "add" {
		a.aliases[u.ID] = append(a.aliases[u.ID], alias)
	} else {
		a.aliases[u.ID] = slices.DeleteFunc(a.aliases[u.ID], func(x string) bool { return x == alias })
	}
	a.seq++
	body := map[string]any{"kind": "admin#directory#alias", "id": u.ID, "etag": etag(a.seq),
		"primaryEmail": u.PrimaryEmail, "alias": alias}
	msgs := s.queueBody(KindDirectoryAliases, event, body, func(p map[string]string) bool {
		return (p["userKey"] == u.ID || p["userKey"] == u.PrimaryEmail) && (p["event"] == "" || p["event"] == event)
	})
	s.mu.Unlock()
	s.dispatch(msgs)
	return true
}

// RecordActivity records an activity of a user (id or email) in an
// application and pushes it to every live activities channel of that
// application whose userKey is the user or "all". The state is the
// activity's first event name. It returns the activity as pushed, its
// defaults filled in.
func (s *Sim) RecordActivity(userKey, applicationName string, act Activity) Activity {
	s.mu.Lock()
	a := s.admin()
	a.seq++
	if act.Time.IsZero() {
		act.Time = s.opts.Now()
	}
	if act.UniqueQualifier == 0 {
		act.UniqueQualifier = a.seq
	}
	if act.ActorEmail == "" {
		act.ActorEmail = userKey
	}
	events := make([]map[string]string, len(act.Events))
	for i, name := range act.Events {
		events[i] = map[string]string{"name": name}
	}
	state := "activity"
	if len(act.Events) > 0 {
		state = act.Events[0]
	}
	body := map[string]any{
		"kind": "admin#reports#activity",
		"id": map[string]string{"time": rfc3339(act.Time), "uniqueQualifier": strconv.FormatInt(act.UniqueQualifier, 10),
			"applicationName": applicationName, "customerId": act.CustomerID},
		"actor":  map[string]string{"email": act.ActorEmail},
		"events": events,
	}
	msgs := s.queueBody(KindReportsActivities, state, body, func(p map[string]string) bool {
		return p["applicationName"] == applicationName &&
			(p["userKey"] == "all" || p["userKey"] == userKey || p["userKey"] == act.ActorEmail)
	})
	s.mu.Unlock()
	s.dispatch(msgs)
	return act
}

// admin returns the admin data, making its maps on first use; s.mu must
// be held.
func (s *Sim) admin() *adminData {
	a := &s.data.admin
	if a.users == nil {
		a.users = make(map[string]*User)
		a.aliases = make(map[string][]string)
	}
	return a
}

// user finds a user by id or primary email.
func (a *adminData) user(key string) *User {
	if u := a.users[key]; u != nil {
		return u
	}
	for _, u := range a.users {
		if u.PrimaryEmail == key {
			return u
		}
	}
	return nil
}

// queueBody builds a message carrying body for every live channel of kind
// whose watch parameters selects says yes to, in channel id order so a
// seeded run numbers them the same; s.mu must be held. Admin watches are
// filters (customer, domain, event), not one resource each, so the
// channels are found by their parameters rather than their resource id.
func (s *Sim) queueBody(kind, state string, body map[string]any, selects func(map[string]string) bool) []message {
	if s.closed {
		return nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // maps of strings always encode
	}
	now := s.opts.Now()
	var chans []*channel
	for _, c := range s.channels {
		if c.Kind == kind && c.live(now) && !s.deleted[c.ResourceID] && selects(c.Params) {
			chans = append(chans, c)
		}
	}
	slices.SortFunc(chans, func(x, y *channel) int { return strings.Compare(x.ID, y.ID) })
	msgs := make([]message, 0, len(chans))
	for _, c := range chans {
		msgs = append(msgs, s.message(c, state, pushOptions{body: string(b)}))
		s.begin()
	}
	return msgs
}
