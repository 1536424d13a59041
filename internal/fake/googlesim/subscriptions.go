package googlesim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Workspace Events subscriptions and operations the simulator keeps
// (workspace.go serves the calls), and what tests may do to them.

// Subscription is a Workspace Events subscription as the simulator holds
// it.
type Subscription struct {
	Name             string // subscriptions/{id}
	TargetResource   string
	EventTypes       []string
	IncludeResource  bool
	PubsubTopic      string
	Subject          string // the user whose token created it; "" for the service account
	State            string // ACTIVE, SUSPENDED, or DELETED once deleted or expired
	SuspensionReason string
	CreateTime       time.Time
	UpdateTime       time.Time
	ExpireTime       time.Time
}

// SubscriptionStats counts the Workspace Events calls beyond Stats, where
// creates count as watches (WatchCalls, WatchOK) and deletes as stops
// (StopCalls, StopOK).
type SubscriptionStats struct {
	GetCalls        int // subscriptions.get, whatever the answer
	ListCalls       int // subscriptions.list, whatever the answer
	PatchCalls      int // subscriptions.patch, whatever the answer
	PatchOK         int // patches that renewed a subscription
	ReactivateCalls int // subscriptions.reactivate, whatever the answer
	ReactivateOK    int // reactivations of a suspended subscription
	OperationCalls  int // operations.get, whatever the answer
}

// eventsData holds the subscriptions and operations; guarded by Sim.mu.
// Its maps are made on first use, so the zero value is ready.
type eventsData struct {
	seq   int
	subs  map[string]*Subscription // by name, deleted ones too
	ops   map[string]*operation    // by name
	delay int                      // DelayOperations
	stats SubscriptionStats
}

// operation is a long-running operation: done once left polls are used.
type operation struct {
	name     string
	left     int
	metadata string // the metadata's type
	response any    // the subscription, or Empty for a delete
}

// events returns the Workspace Events data, making its maps on first use;
// s.mu must be held.
func (s *Sim) events() *eventsData {
	e := &s.data.events
	if e.subs == nil {
		e.subs = make(map[string]*Subscription)
		e.ops = make(map[string]*operation)
	}
	return e
}

// subscriptionsLocked is Subscriptions; s.mu must be held.
func (s *Sim) subscriptionsLocked() []Subscription {
	now := s.opts.Now()
	out := make([]Subscription, 0, len(s.events().subs))
	for _, sub := range s.events().subs {
		c := *sub
		c.EventTypes = slices.Clone(sub.EventTypes)
		if !sub.live(now) {
			c.State = "DELETED"
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Subscription) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Subscriptions returns every subscription ever created, sorted by name;
// a deleted or expired one has State DELETED.
func (s *Sim) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscriptionsLocked()
}

// SubscriptionStats returns the Workspace Events counters so far.
func (s *Sim) SubscriptionStats() SubscriptionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events().stats
}

// SuspendSubscription suspends a live subscription with a
// suspensionReason (USER_SCOPE_REVOKED, RESOURCE_DELETED,
// ENDPOINT_PERMISSION_DENIED, OTHER, ...), as Workspace does when it can
// no longer deliver. It reports false when there is no such live
// subscription.
func (s *Sim) SuspendSubscription(name, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subscription(name)
	if sub == nil {
		return false
	}
	sub.State, sub.SuspensionReason, sub.UpdateTime = "SUSPENDED", reason, s.opts.Now()
	return true
}

// DelayOperations makes the operations of later creates, patches and
// reactivations answer not done until their nth operations.get; 0, the
// default, answers them done at once. The subscription changes at once
// either way; only the operation's answer waits.
func (s *Sim) DelayOperations(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events().delay = max(n, 0)
}

func (sub *Subscription) live(now time.Time) bool {
	return sub.State != "DELETED" && now.Before(sub.ExpireTime)
}

// resource is the Subscription resource as Google answers it.
func (sub *Subscription) resource() map[string]any {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	r := map[string]any{
		"@type":                "type.googleapis.com/google.apps.events.subscriptions.v1.Subscription",
		"name":                 sub.Name,
		"uid":                  strings.TrimPrefix(sub.Name, "subscriptions/"),
		"targetResource":       sub.TargetResource,
		"eventTypes":           sub.EventTypes,
		"notificationEndpoint": map[string]string{"pubsubTopic": sub.PubsubTopic},
		"state":                sub.State,
		"createTime":           ts(sub.CreateTime),
		"updateTime":           ts(sub.UpdateTime),
		"expireTime":           ts(sub.ExpireTime),
		"etag":                 strconv.FormatInt(sub.UpdateTime.UnixNano(), 36),
	}
	if sub.Subject != "" {
		r["authority"], r["userAuthority"] = "users/"+sub.Subject, "users/"+sub.Subject
	}
	if sub.IncludeResource {
		r["payloadOptions"] = map[string]bool{"includeResource": true}
	}
	if sub.SuspensionReason != "" {
		r["suspensionReason"] = sub.SuspensionReason
	}
	return r
}

// newOperation records an operation that answers response, not done
// until DelayOperations' nth poll; s.mu must be held.
func (s *Sim) newOperation(metadata string, response any) *operation {
	e := s.events()
	e.seq++
	op := &operation{name: fmt.Sprintf("operations/sim-op-%06d", e.seq), left: e.delay, metadata: metadata, response: response}
	e.ops[op.name] = op
	return op
}

// writeOperation answers a new operation for response; s.mu must be held.
func (s *Sim) writeOperation(w http.ResponseWriter, metadata string, response any) {
	writeJSON(w, s.newOperation(metadata, response).resource())
}

// resource is the Operation as Google answers it: the response only once
// done.
func (op *operation) resource() map[string]any {
	r := map[string]any{
		"name":     op.name,
		"metadata": map[string]string{"@type": "type.googleapis.com/google.apps.events.subscriptions.v1." + op.metadata},
	}
	if op.left == 0 {
		r["done"], r["response"] = true, op.response
	}
	return r
}
