package googlesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/internal/wait"
)

// The Workspace Events API (workspaceevents/v1): subscriptions through
// which Workspace would publish its CloudEvents to a Pub/Sub topic, kept
// as far as a watcher creates, renews, reactivates, lists and deletes
// them. Nothing is published. Create, patch, reactivate and delete answer
// long-running operations, as Google's do.

// KindWorkspaceEvents is the kind Call.Kind names for every Workspace
// Events call.
const KindWorkspaceEvents = "workspace.events"

// Operations of the Workspace Events API beyond OpWatch (create), OpStop
// (delete), OpGet (subscriptions.get) and OpList (subscriptions.list).
const (
	OpPatch      = "patch"          // subscriptions.patch
	OpReactivate = "reactivate"     // subscriptions.reactivate
	OpOperation  = "operations.get" // polling an operation
)

// Subscription lifetimes, from the Subscription resource's expiration
// field: 7 days when payloads omit resource data, 4 hours when they
// include it (Google allows 24 with domain-wide delegation; the simulator
// cannot tell, so grants the 4).
const (
	subscriptionMaxTTL         = 7 * 24 * time.Hour
	subscriptionResourceMaxTTL = 4 * time.Hour
)

// maxSubscriptionsPage is subscriptions.list's largest page: "If you
// specify a value more than 100, the system only returns 100".
const maxSubscriptionsPage = 100

func (s *Sim) workspaceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/subscriptions", s.eventsCall(OpWatch, s.createSubscription))
	mux.HandleFunc("GET /v1/subscriptions", s.eventsCall(OpList, s.listSubscriptions))
	mux.HandleFunc("GET /v1/subscriptions/{id}", s.eventsCall(OpGet, s.getSubscription))
	mux.HandleFunc("PATCH /v1/subscriptions/{id}", s.eventsCall(OpPatch, s.patchSubscription))
	mux.HandleFunc("DELETE /v1/subscriptions/{id}", s.eventsCall(OpStop, s.deleteSubscription))
	// A wildcard is a whole segment, so reactivate's custom method
	// (subscriptions/{id}:reactivate) is told apart inside.
	mux.HandleFunc("POST /v1/subscriptions/{id}", s.eventsCall(OpReactivate, s.reactivateSubscription))
	mux.HandleFunc("GET /v1/operations/{id}", s.eventsCall(OpOperation, s.getOperation))
}

// eventsHandler answers one Workspace Events call, s.mu held; name is the
// subscription or operation the path names.
type eventsHandler func(w http.ResponseWriter, r *http.Request, name string, call Call)

// eventsCall does what every Workspace Events call shares: latency, holds,
// counting, revoked subjects and injected failures. Call.ResourceID is the
// subscription's name, or for a create the target resource.
func (s *Sim) eventsCall(op string, h eventsHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if wait.Sleep(r.Context(), s.opts.Latency) != nil {
			return
		}
		name, body := "", []byte(nil)
		switch id := r.PathValue("id"); {
		case op == OpOperation:
			name = "operations/" + id
		case op == OpReactivate:
			var ok bool
			if id, ok = strings.CutSuffix(id, ":reactivate"); !ok {
				writeFailure(w, FailNotFound)
				return
			}
			name = "subscriptions/" + id
		case id != "":
			name = "subscriptions/" + id
		}
		if r.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
		}
		call := Call{Op: op, Kind: KindWorkspaceEvents, ResourceID: name, Subject: subjectOf(r), Path: r.URL.Path}
		if op == OpWatch {
			var req subscriptionRequest
			json.Unmarshal(body, &req) //nolint:errcheck // the handler reports a bad body
			call.ResourceID = req.TargetResource
		}
		if !s.await(w, r, call) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.countEvents(op)
		if f, failed := s.injected(call); failed {
			writeFailure(w, f)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h(w, r, name, call)
	}
}

// countEvents counts a call in Stats or SubscriptionStats; s.mu must be
// held.
func (s *Sim) countEvents(op string) {
	st := &s.events().stats
	switch op {
	case OpWatch:
		s.stats.WatchCalls++
	case OpStop:
		s.stats.StopCalls++
	case OpGet:
		st.GetCalls++
	case OpList:
		st.ListCalls++
	case OpPatch:
		st.PatchCalls++
	case OpReactivate:
		st.ReactivateCalls++
	case OpOperation:
		st.OperationCalls++
	}
}

// subscriptionRequest is the Subscription of a create or patch body.
type subscriptionRequest struct {
	TargetResource       string   `json:"targetResource"`
	EventTypes           []string `json:"eventTypes"`
	NotificationEndpoint struct {
		PubsubTopic string `json:"pubsubTopic"`
	} `json:"notificationEndpoint"`
	PayloadOptions struct {
		IncludeResource bool `json:"includeResource"`
	} `json:"payloadOptions"`
	TTL        string `json:"ttl"`
	ExpireTime string `json:"expireTime"`
}

var pubsubTopic = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)

// Errors of the Workspace Events API, with the status Google's REST
// answers carry.
var (
	failSubscriptionNotFound = Failure{Code: 404, Reason: "notFound", Message: "Subscription not found."}
	failTargetNotFound       = Failure{Code: 404, Reason: "notFound", Message: "Target resource not found."}
)

func invalidArgument(msg string) Failure {
	return Failure{Code: 400, Reason: "badRequest", Message: msg}
}

func (s *Sim) createSubscription(w http.ResponseWriter, r *http.Request, _ string, call Call) {
	var req subscriptionRequest
	if json.NewDecoder(r.Body).Decode(&req) != nil {
		writeFailure(w, invalidArgument("Invalid JSON payload."))
		return
	}
	switch {
	case !strings.HasPrefix(req.TargetResource, "//"):
		writeFailure(w, invalidArgument("target_resource must be a full resource name."))
		return
	case len(req.EventTypes) == 0:
		writeFailure(w, invalidArgument("event_types must not be empty."))
		return
	case !pubsubTopic.MatchString(req.NotificationEndpoint.PubsubTopic):
		writeFailure(w, invalidArgument("notification_endpoint.pubsub_topic must be projects/{project}/topics/{topic}."))
		return
	case s.deleted[req.TargetResource]:
		writeFailure(w, failTargetNotFound)
		return
	}
	e, now := s.events(), s.opts.Now()
	for _, sub := range e.subs {
		if sub.live(now) && sub.TargetResource == req.TargetResource && sub.Subject == call.Subject {
			writeFailure(w, Failure{Code: 409, Reason: "alreadyExists",
				Message: "A subscription for this target resource and user already exists."})
			return
		}
	}
	max := subscriptionMaxTTL
	if req.PayloadOptions.IncludeResource {
		max = subscriptionResourceMaxTTL
	}
	exp, bad := expiry(req, now, max)
	if bad != nil {
		writeFailure(w, *bad)
		return
	}
	e.seq++
	sub := &Subscription{
		Name: fmt.Sprintf("subscriptions/sim-%06d", e.seq), TargetResource: req.TargetResource,
		EventTypes: slices.Clone(req.EventTypes), IncludeResource: req.PayloadOptions.IncludeResource,
		PubsubTopic: req.NotificationEndpoint.PubsubTopic, Subject: call.Subject, State: "ACTIVE",
		CreateTime: now, UpdateTime: now, ExpireTime: exp,
	}
	e.subs[sub.Name] = sub
	s.stats.WatchOK++
	s.writeOperation(w, "CreateSubscriptionMetadata", sub.resource())
}

// expiry is the expireTime a create or patch asks for: its ttl ("0s" or
// none: the longest allowed) or its expireTime, capped at max.
func expiry(req subscriptionRequest, now time.Time, max time.Duration) (time.Time, *Failure) {
	var asked time.Time
	switch {
	case req.ExpireTime != "":
		t, err := time.Parse(time.RFC3339Nano, req.ExpireTime)
		if err != nil || !t.After(now) {
			f := invalidArgument("expire_time must be a time in the future.")
			return time.Time{}, &f
		}
		asked = t
	case req.TTL != "":
		secs, err := strconv.ParseFloat(strings.TrimSuffix(req.TTL, "s"), 64)
		if err != nil || secs < 0 || !strings.HasSuffix(req.TTL, "s") {
			f := invalidArgument("ttl must be a duration such as 3600s.")
			return time.Time{}, &f
		}
		if secs > 0 {
			asked = now.Add(time.Duration(secs * float64(time.Second)))
		}
	}
	if limit := now.Add(max); asked.IsZero() || asked.After(limit) {
		asked = limit
	}
	return asked.UTC().Truncate(time.Microsecond), nil
}

// subscription returns the live subscription name; s.mu must be held.
func (s *Sim) subscription(name string) *Subscription {
	if sub := s.events().subs[name]; sub != nil && sub.live(s.opts.Now()) {
		return sub
	}
	return nil
}

func (s *Sim) getSubscription(w http.ResponseWriter, _ *http.Request, name string, _ Call) {
	sub := s.subscription(name)
	if sub == nil {
		writeFailure(w, failSubscriptionNotFound)
		return
	}
	writeJSON(w, sub.resource())
}

func (s *Sim) patchSubscription(w http.ResponseWriter, r *http.Request, name string, _ Call) {
	var req subscriptionRequest
	if json.NewDecoder(r.Body).Decode(&req) != nil {
		writeFailure(w, invalidArgument("Invalid JSON payload."))
		return
	}
	sub := s.subscription(name)
	if sub == nil {
		writeFailure(w, failSubscriptionNotFound)
		return
	}
	// Only the lifetime is modelled; the mask names the field that counts.
	switch mask := r.URL.Query().Get("updateMask"); mask {
	case "ttl":
		req.ExpireTime = ""
	case "expire_time", "expireTime":
		req.TTL = ""
	case "":
	default:
		writeFailure(w, invalidArgument("update_mask "+mask+" is not supported here: ttl or expire_time."))
		return
	}
	if req.TTL == "" && req.ExpireTime == "" {
		writeFailure(w, invalidArgument("Nothing to update: ttl or expire_time."))
		return
	}
	now, max := s.opts.Now(), subscriptionMaxTTL
	if sub.IncludeResource {
		max = subscriptionResourceMaxTTL
	}
	exp, bad := expiry(req, now, max)
	if bad != nil {
		writeFailure(w, *bad)
		return
	}
	sub.ExpireTime, sub.UpdateTime = exp, now
	s.events().stats.PatchOK++
	s.writeOperation(w, "UpdateSubscriptionMetadata", sub.resource())
}

func (s *Sim) reactivateSubscription(w http.ResponseWriter, _ *http.Request, name string, _ Call) {
	sub := s.subscription(name)
	switch {
	case sub == nil:
		writeFailure(w, failSubscriptionNotFound)
		return
	case sub.State != "SUSPENDED":
		writeStatus(w, invalidArgument("The subscription is not suspended."), "FAILED_PRECONDITION")
		return
	}
	sub.State, sub.SuspensionReason, sub.UpdateTime = "ACTIVE", "", s.opts.Now()
	s.events().stats.ReactivateOK++
	s.writeOperation(w, "ReactivateSubscriptionMetadata", sub.resource())
}

func (s *Sim) deleteSubscription(w http.ResponseWriter, r *http.Request, name string, _ Call) {
	sub := s.subscription(name)
	switch {
	case sub != nil:
		sub.State, sub.UpdateTime = "DELETED", s.opts.Now()
		s.stats.StopOK++
	case r.URL.Query().Get("allowMissing") != "true":
		writeFailure(w, failSubscriptionNotFound)
		return
	}
	// A deletion is done at once: there is nothing to wait for.
	op := s.newOperation("DeleteSubscriptionMetadata", map[string]string{"@type": "type.googleapis.com/google.protobuf.Empty"})
	op.left = 0
	writeJSON(w, op.resource())
}

func (s *Sim) getOperation(w http.ResponseWriter, _ *http.Request, name string, _ Call) {
	op := s.events().ops[name]
	if op == nil {
		writeFailure(w, Failure{Code: 404, Reason: "notFound", Message: "Operation not found."})
		return
	}
	op.left = max(op.left-1, 0)
	writeJSON(w, op.resource())
}

// filterTerm is one term of the list filters the simulator understands.
var filterTerm = regexp.MustCompile(`(event_types:|target_resource=)("(?:[^"\\]|\\.)*")`)

// listSubscriptions lists the caller's live subscriptions that have any
// of the filter's event types and, when it names one, its target, by
// name, a page at a time: pageSize of them (0 or none: Options.PageSize),
// at most 100. Only the filter forms Google documents are understood:
// event_types terms joined by OR, optionally in parentheses, AND one
// target_resource term.
func (s *Sim) listSubscriptions(w http.ResponseWriter, r *http.Request, _ string, call Call) {
	q := r.URL.Query()
	if f := refuseQuery(KindWorkspaceEvents, q); f != nil {
		writeFailure(w, *f)
		return
	}
	filter := q.Get("filter")
	target, types, ok := parseFilter(filter)
	if !ok {
		writeFailure(w, invalidArgument("Invalid filter: "+filter))
		return
	}
	after, ok := parseSubscriptionsToken(q.Get("pageToken"))
	if !ok {
		writeFailure(w, invalidArgument("Invalid page token."))
		return
	}
	size := pageSize(q, "pageSize", s.opts.PageSize, maxSubscriptionsPage)
	body := map[string]any{}
	var out []map[string]any
	for _, sub := range s.subscriptionsLocked() {
		if sub.Name <= after || sub.Subject != call.Subject || sub.State == "DELETED" ||
			(target != "" && sub.TargetResource != target) ||
			!slices.ContainsFunc(types, func(t string) bool { return slices.Contains(sub.EventTypes, t) }) {
			continue
		}
		if len(out) == size {
			body["nextPageToken"] = tokenEncoding.EncodeToString([]byte("w:" + after))
			break
		}
		out, after = append(out, sub.resource()), sub.Name
	}
	body["subscriptions"] = out
	writeJSON(w, body)
}

// parseFilter reads a subscriptions.list filter: its target ("" for
// any) and event types; ok is false for a filter the simulator does not
// understand, or one without an event type, which Google requires.
func parseFilter(filter string) (target string, types []string, ok bool) {
	rest := filter
	for _, m := range filterTerm.FindAllStringSubmatch(filter, -1) {
		v, err := strconv.Unquote(m[2])
		if err != nil {
			break
		}
		if m[1] == "event_types:" {
			types = append(types, v)
		} else {
			target = v
		}
		rest = strings.Replace(rest, m[0], "", 1)
	}
	ok = strings.Trim(strings.NewReplacer("AND", "", "OR", "", "(", "", ")", "").Replace(rest), " ") == "" && len(types) > 0
	return target, types, ok
}

// parseSubscriptionsToken reads a subscriptions.list page token: the
// name of the last subscription already listed ("" for none).
func parseSubscriptionsToken(tok string) (after string, ok bool) {
	if tok == "" {
		return "", true
	}
	b, err := tokenEncoding.DecodeString(tok)
	after, ok = strings.CutPrefix(string(b), "w:")
	return after, err == nil && ok
}

// writeStatus is writeFailure with a google.rpc status other than the
// one its code usually carries (FAILED_PRECONDITION is a 400 too).
func writeStatus(w http.ResponseWriter, f Failure, status string) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Status = f.Code, f.Message, status
	b.Error.Errors = []errorItem{{Message: f.Message, Domain: "global", Reason: f.Reason}}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(f.Code)
	json.NewEncoder(w).Encode(b) //nolint:errcheck // the client went away
}
