package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/googleapi"
	workspaceevents "google.golang.org/api/workspaceevents/v1"
)

// The workspace.events kind: a Google Workspace Events subscription
// (workspaceevents/v1) through which Workspace publishes its own
// CloudEvents about a Chat space, a Meet space or a Drive item straight to
// the deployment's events topic. Unlike a channel, a subscription is
// renewed in place: a pass patches the one it has (ChannelRequest.Current)
// and creates one only when there is none, since Google allows one per
// target resource and user.

// workspaceMaxTTL is a subscription's longest lifetime. The Subscription
// resource's expiration field
// (developers.google.com/workspace/events/reference/rest/v1/subscriptions)
// allows up to 7 days when payloads omit resource data and up to 4 hours
// when they include it (24 hours when the organisation grants access
// through domain-wide delegation, which it does here, but that is not
// promised per target). One MaxTTL serves every watch of a kind, so it is
// the shorter: a subscription without resource data is patched more often
// than it must be, one call every few hours.
const workspaceMaxTTL = 4 * time.Hour

// workspaceScopes are what subscriptions.create, get, patch, reactivate and
// delete accept for the read-only event types of Chat (spaces, memberships,
// messages, reactions), Meet (spaces, conferences) and Drive. Google checks
// that the token holds a scope supporting every event type asked for; one
// fixed set keeps the domain-wide delegation grant one list for every
// watch of the kind, whatever its target.
var workspaceScopes = []string{
	workspaceevents.ChatSpacesReadonlyScope,
	workspaceevents.ChatMembershipsReadonlyScope,
	workspaceevents.ChatMessagesReadonlyScope,
	workspaceevents.ChatMessagesReactionsReadonlyScope,
	workspaceevents.MeetingsSpaceReadonlyScope,
	workspaceevents.DriveReadonlyScope,
}

func init() {
	register(Kind{
		Name: "workspace.events", API: APIWorkspaceEvents, Delivery: DeliverEvents, NeedsSubject: true,
		Required: []string{"targetResource", "eventTypes"}, Optional: []string{"includeResource"},
		Scopes: workspaceScopes,
		// With no ttl Google grants its maximum, at least this.
		MaxTTL: workspaceMaxTTL, DefaultTTL: workspaceMaxTTL,
		check: checkWorkspace,
		watch: watchSubscription,
		stop:  deleteSubscription,
	})
}

// checkWorkspace checks what Google would refuse with a 400, which would
// fail the watch only after it is stored.
func checkWorkspace(p map[string]string) error {
	var errs []error
	if t := p["targetResource"]; t != "" && !strings.HasPrefix(t, "//") {
		errs = append(errs, fmt.Errorf("%w: param targetResource=%q is not a full resource name such as //chat.googleapis.com/spaces/AAA", ErrInvalidWatch, t))
	}
	if _, ok := p["eventTypes"]; ok && len(splitList(p["eventTypes"])) == 0 {
		errs = append(errs, fmt.Errorf("%w: param eventTypes lists no event type", ErrInvalidWatch))
	}
	return errors.Join(append(errs, isBool(p, "includeResource"))...)
}

// Suspension reasons (Subscription.suspensionReason) a pass cannot repair
// by reactivating: the user or the app lost its grant or its access, or
// the target is gone. Every other reason (ENDPOINT_PERMISSION_DENIED,
// ENDPOINT_NOT_FOUND, ENDPOINT_RESOURCE_EXHAUSTED, OTHER) is reactivated.
var (
	failedSuspensions = []string{"USER_SCOPE_REVOKED", "USER_AUTHORIZATION_FAILURE", "APP_SCOPE_REVOKED", "APP_AUTHORIZATION_FAILURE"}
	goneSuspensions   = []string{"RESOURCE_DELETED"}
)

// SuspendedError says Workspace suspended a watch's subscription for a
// reason reactivating cannot repair, or (Repeated) for an endpoint reason
// it kept coming back to after reactivation. Classify makes a revoked scope or a
// lost authorisation ClassFailed and a deleted target ClassGone.
type SuspendedError struct {
	Subscription string // its name, subscriptions/{id}
	Reason       string // its suspensionReason, e.g. USER_SCOPE_REVOKED
	// Repeated counts the renewals in a row that found it suspended for
	// an endpoint reason and reactivated it; 0 for the other reasons.
	Repeated int
}

func (e *SuspendedError) Error() string {
	return fmt.Sprintf("google: Workspace suspended %s: %s", e.Subscription, e.Reason)
}

// diagnose classifies the suspension for Classify and Reason.
func (e *SuspendedError) diagnose() (Class, string) {
	said := "Workspace suspended " + e.Subscription + " with " + e.Reason
	if e.Repeated > 0 {
		return ClassFailed, fmt.Sprintf("%s %d renewals in a row, though reactivated each time: Workspace cannot deliver to the events topic; check the topic's publisher grants (Terraform's workspace_events_publishers), then restart the watch", said, e.Repeated)
	}
	switch e.Reason {
	case "RESOURCE_DELETED":
		return ClassGone, "the watched resource no longer exists (" + said + ")"
	case "USER_SCOPE_REVOKED", "APP_SCOPE_REVOKED":
		return ClassFailed, said + ": a scope the subscription needs was revoked; grant it again, then restart the watch"
	}
	return ClassFailed, said + ": the authorising user or app lost access to the target resource; restore it, then restart the watch"
}

// watchSubscription opens or renews the watch's subscription. ch.ResourceID
// is the one being renewed ("" for a first grant), ch.Address the events
// topic, ch.Expiration the lifetime asked for. It answers the subscription's
// name as the resource id, its target as the resource URI and its
// expireTime.
func watchSubscription(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
	ttl := subscriptionTTL(ch)
	if ch.ResourceID != "" {
		s, err := c.events.Subscriptions.Get(ch.ResourceID).Context(ctx).Do()
		switch {
		case err == nil && s.State != "DELETED":
			return renewSubscription(ctx, c, s, ttl)
		case err != nil && !IsNotFound(err):
			return channel{}, fmt.Errorf("get %s: %w", ch.ResourceID, err)
		}
		// Google deletes a subscription once it expires: open another.
	}
	s, err := createSubscription(ctx, c, p, ch.Address, ttl)
	if err == nil {
		return fromSubscription(s)
	}
	if !alreadyExists(err) {
		return channel{}, err
	}
	// One subscription per target and user: this is an earlier attempt of
	// the same call, or a grant the store lost. Adopt it rather than fail.
	s, err = findSubscription(ctx, c, p, err)
	if err != nil {
		return channel{}, err
	}
	return renewSubscription(ctx, c, s, ttl)
}

// subscriptionTTL is the ttl to ask for: the lifetime APIs.Watch worked out
// by its clock (params.ttl, in seconds), capped at workspaceMaxTTL, in
// Duration's JSON form. "0s", with none asked, is Google's "the longest it
// allows".
func subscriptionTTL(ch channel) string {
	secs, err := strconv.ParseInt(ch.Params["ttl"], 10, 64)
	if err != nil || secs < 1 {
		return "0s"
	}
	return strconv.FormatInt(min(secs, int64(workspaceMaxTTL/time.Second)), 10) + "s"
}

// createSubscription creates the watch's subscription and waits for the
// operation to finish.
func createSubscription(ctx context.Context, c clients, p map[string]string, topic, ttl string) (*workspaceevents.Subscription, error) {
	if !eventsTopic.MatchString(topic) {
		return nil, fmt.Errorf("%w: workspace.events publishes to a Pub/Sub topic (projects/P/topics/T), not %q", ErrInvalidWatch, topic)
	}
	s := &workspaceevents.Subscription{
		TargetResource:       p["targetResource"],
		EventTypes:           splitList(p["eventTypes"]),
		NotificationEndpoint: &workspaceevents.NotificationEndpoint{PubsubTopic: topic},
		Ttl:                  ttl,
	}
	// payloadOptions only when asked: Google supports it for Chat and
	// Drive events alone.
	if v, _ := boolParam(p, "includeResource"); v {
		s.PayloadOptions = &workspaceevents.PayloadOptions{IncludeResource: true}
	}
	op, err := c.events.Subscriptions.Create(s).Context(ctx).Do()
	s, err = finish(ctx, c, op, err)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	return s, nil
}

// eventsTopic is a Pub/Sub topic's full name.
var eventsTopic = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)

// renewSubscription brings s back to ACTIVE when a reactivation can, then
// asks for ttl more.
func renewSubscription(ctx context.Context, c clients, s *workspaceevents.Subscription, ttl string) (channel, error) {
	reactivated := ""
	if s.State == "SUSPENDED" {
		if slices.Contains(failedSuspensions, s.SuspensionReason) || slices.Contains(goneSuspensions, s.SuspensionReason) {
			return channel{}, &SuspendedError{Subscription: s.Name, Reason: s.SuspensionReason}
		}
		// An endpoint reason may have been fixed since (the topic's
		// publisher grant restored); if not, Workspace suspends it again
		// and says so in a lifecycle event.
		op, err := c.events.Subscriptions.Reactivate(s.Name, &workspaceevents.ReactivateSubscriptionRequest{}).Context(ctx).Do()
		if _, err = finish(ctx, c, op, err); err != nil {
			return channel{}, fmt.Errorf("reactivate %s (suspended with %s): %w", s.Name, s.SuspensionReason, err)
		}
		reactivated = s.SuspensionReason
	}
	op, err := c.events.Subscriptions.Patch(s.Name, &workspaceevents.Subscription{Ttl: ttl}).UpdateMask("ttl").Context(ctx).Do()
	renewed, err := finish(ctx, c, op, err)
	if err != nil {
		return channel{}, fmt.Errorf("patch %s: %w", s.Name, err)
	}
	ch, err := fromSubscription(renewed)
	ch.Reactivated = reactivated
	return ch, err
}

// findSubscription finds the subscription an ALREADY_EXISTS answer (exists)
// refused to duplicate: the caller's one on the target with the watch's
// event types. Google documents no name in the error, so it is listed.
func findSubscription(ctx context.Context, c clients, p map[string]string, exists error) (*workspaceevents.Subscription, error) {
	target, types := p["targetResource"], splitList(p["eventTypes"])
	var found, other *workspaceevents.Subscription
	err := c.events.Subscriptions.List().Filter(subscriptionFilter(target, types)).Pages(ctx,
		func(r *workspaceevents.ListSubscriptionsResponse) error {
			for _, s := range r.Subscriptions {
				switch {
				case s.TargetResource != target:
				case sameSet(s.EventTypes, types):
					found = s
				default:
					other = s
				}
			}
			return nil
		})
	switch {
	case err != nil:
		return nil, fmt.Errorf("list the subscription that exists: %w", err)
	case found != nil:
		return found, nil
	case other != nil:
		// Adopting it would deliver other events than the watch asks for.
		return nil, fmt.Errorf("%w: %s already has a subscription of this user, %s, for event types %s; Google allows one per target and user",
			ErrInvalidWatch, target, other.Name, strings.Join(other.EventTypes, ", "))
	}
	// Not listed yet: the conflict stands, and the next attempt looks again.
	return nil, exists
}

// subscriptionFilter is subscriptions.list's filter for the subscriptions
// on target that have any of types, in the documented form.
func subscriptionFilter(target string, types []string) string {
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = "event_types:" + strconv.Quote(t)
	}
	or := strings.Join(parts, " OR ")
	if len(parts) > 1 {
		or = "(" + or + ")"
	}
	return or + " AND target_resource=" + strconv.Quote(target)
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// alreadyExists reports whether err is Google's ALREADY_EXISTS answer.
func alreadyExists(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict && strings.Contains(ge.Body, "ALREADY_EXISTS")
}

// deleteSubscription ends the watch's subscription. The deletion is an
// operation that may still run; nothing more is waited for, since the
// subscription is going either way. A 404 (IsNotFound) means it is gone
// already: deleted, or expired and deleted by Google.
func deleteSubscription(ctx context.Context, c clients, ch channel) error {
	if ch.ResourceID == "" {
		return &googleapi.Error{Code: http.StatusNotFound, Message: "no subscription to delete"}
	}
	op, err := c.events.Subscriptions.Delete(ch.ResourceID).Context(ctx).Do()
	if err != nil {
		return err
	}
	if op.Done && op.Error != nil {
		return operationError(op.Error)
	}
	return nil
}

// Operation polling: Workspace usually answers done at once; a slow one is
// asked again after a short, growing pause, until ctx ends.
const (
	pollFirst = 50 * time.Millisecond
	pollMax   = 2 * time.Second
)

// finish waits for the operation a create, patch or reactivate answered
// (op, err) and returns the subscription it produced.
func finish(ctx context.Context, c clients, op *workspaceevents.Operation, err error) (*workspaceevents.Subscription, error) {
	for pause := pollFirst; err == nil && !op.Done; pause = min(2*pause, pollMax) {
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("operation %s: %w", op.Name, ctx.Err())
		case <-t.C:
		}
		op, err = c.events.Operations.Get(op.Name).Context(ctx).Do()
	}
	switch {
	case err != nil:
		return nil, err
	case op.Error != nil:
		return nil, operationError(op.Error)
	}
	var s workspaceevents.Subscription
	if err := json.Unmarshal(op.Response, &s); err != nil || s.Name == "" {
		return nil, fmt.Errorf("operation %s answered no subscription", op.Name)
	}
	return &s, nil
}

// rpcStatus maps a google.rpc.Code to the HTTP status Google's REST
// answers give it, so an operation's error classifies as a call's would.
var rpcStatus = map[int64]int{
	1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429,
	9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
}

// operationError is an operation's error as the *googleapi.Error a call
// would have answered.
func operationError(st *workspaceevents.Status) error {
	code, ok := rpcStatus[st.Code]
	if !ok {
		code = http.StatusInternalServerError
	}
	return &googleapi.Error{Code: code, Message: st.Message}
}

// fromSubscription is the grant a subscription is.
func fromSubscription(s *workspaceevents.Subscription) (channel, error) {
	exp, err := time.Parse(time.RFC3339Nano, s.ExpireTime)
	if err != nil {
		return channel{}, fmt.Errorf("subscription %s: expireTime %q: %w", s.Name, s.ExpireTime, err)
	}
	return channel{ResourceID: s.Name, ResourceURI: s.TargetResource, Expiration: exp.UnixMilli()}, nil
}
