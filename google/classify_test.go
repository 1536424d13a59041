package google

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/auth"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

// apiErr is a Google API error answer as the clients return it.
func apiErr(code int, reason, message string) error {
	ge := &googleapi.Error{Code: code, Message: message}
	if reason != "" {
		ge.Errors = []googleapi.ErrorItem{{Reason: reason, Message: message}}
	}
	return ge
}

// call wraps err as Watch does.
func call(err error) error {
	return &CallError{Op: "watch", Kind: "calendar.events", Subject: "ann@example.com",
		Scopes: []string{"https://www.googleapis.com/auth/calendar.readonly"}, Err: err}
}

// viaTransport wraps a token source's error as an http.Client does when
// the oauth2 transport fails before sending.
func viaTransport(err error) error {
	return &url.Error{Op: "Post", URL: "https://www.googleapis.com/calendar/v3/users/me/settings/watch", Err: err}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	const webhookMsg = "Unauthorized WebHook callback channel: https://hooks.example/recv"
	for _, tc := range []struct {
		name   string
		err    error
		want   Class
		reason string // a part Reason must contain
	}{
		// The resource was deleted or is not visible: the watch is gone.
		{"404", apiErr(404, "notFound", "Not Found"), ClassGone, "404 notFound: Not Found"},
		{"410", apiErr(410, "deleted", "Resource has been deleted"), ClassGone, "no longer exists"},
		// An expired cursor (Calendar's 410 on a sync token) keeps its
		// class, but says what it is: the resource is there.
		{"expired sync token", call(fmt.Errorf("%w: %w", ErrCursorExpired, apiErr(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."))),
			ClassGone, "cursor expired (410 fullSyncRequired"},
		{"cursor not ours", call(fmt.Errorf("%w: gmail.users cursor \"x\" is not a history id", ErrCursorExpired)), ClassGone, "is not a history id"},
		// Credentials refused or the grant revoked.
		{"401", apiErr(401, "authError", "Invalid Credentials"), ClassFailed, "rejected the credentials"},
		// Lost access to the resource.
		{"403 forbidden", apiErr(403, "forbidden", "Forbidden"), ClassFailed, "permission denied"},
		{"403 insufficientPermissions", apiErr(403, "insufficientPermissions", "Insufficient Permission"), ClassFailed, "permission denied"},
		{"403 authError", apiErr(403, "authError", "Request had insufficient authentication scopes."), ClassFailed, "permission denied"},
		// The API is not enabled: a configuration error with its fix.
		{"403 accessNotConfigured", apiErr(403, "accessNotConfigured", "Google Calendar API has not been used in project 12 before or it is disabled."),
			ClassFailed, "enable it"},
		// Rate and quota limits are retried, even though they are 403s.
		{"403 rateLimitExceeded", apiErr(403, "rateLimitExceeded", "Rate Limit Exceeded"), ClassTransient, "will retry"},
		{"403 userRateLimitExceeded", apiErr(403, "userRateLimitExceeded", "User Rate Limit Exceeded"), ClassTransient, "rate or quota"},
		{"403 quotaExceeded", apiErr(403, "quotaExceeded", "Quota exceeded"), ClassTransient, "rate or quota"},
		{"429", apiErr(429, "rateLimitExceeded", "Too Many Requests"), ClassTransient, "will retry"},
		// Google's own trouble is retried.
		{"500", apiErr(500, "backendError", "Backend Error"), ClassTransient, "500 backendError"},
		{"503 without JSON", &googleapi.Error{Code: 503, Body: "<html>unavailable</html>"}, ClassTransient, "unavailable"},
		// The webhook's domain is not allowed: failed, with the fix.
		{"400 webhook unauthorized", apiErr(400, "push.webhookUrlUnauthorized", webhookMsg), ClassFailed, webhookMsg + "): verify the domain in Search Console"},
		// Recognised by Google's message alone, too.
		{"400 webhook message only", &googleapi.Error{Code: 400, Message: webhookMsg}, ClassFailed, "Search Console"},
		{"400 webhook not https", apiErr(400, "push.webhookUrlNotHttps", "WebHook callback must be HTTPS: http://x"), ClassFailed, "must be https"},
		{"400 other push reason", apiErr(400, "push.webhookUrlNoHostPort", "bad"), ClassFailed, "refused the webhook address"},
		// Other bad requests are configuration errors of the watch.
		{"400 badRequest", apiErr(400, "badRequest", "Bad Request"), ClassFailed, "check the watch's kind, params"},
		{"400 invalid", apiErr(400, "invalid", "Invalid value for: event"), ClassFailed, "Invalid value for: event"},
		// A reused channel id means an earlier attempt got through: not
		// the watch's fault.
		{"400 channelIdNotUnique", apiErr(400, "channelIdNotUnique", "Channel id not unique"), ClassTransient, "fresh id"},
		// Wrapped as Watch wraps it, a Google error classifies the same.
		{"wrapped 404", call(apiErr(404, "notFound", "Not Found")), ClassGone, "404"},
		// A refused grant names the user the watch acts as.
		{"wrapped 401 with a subject", call(apiErr(401, "authError", "Invalid Credentials")), ClassFailed, "acts as ann@example.com"},
		// The OAuth token endpoint refuses the delegated user.
		{"invalid_grant", call(viaTransport(&oauth2.RetrieveError{Response: &http.Response{StatusCode: 400},
			ErrorCode: "invalid_grant", ErrorDescription: "Invalid email or User ID"})), ClassFailed, "delegation to ann@example.com (invalid_grant: Invalid email or User ID)"},
		// Domain-wide delegation not granted for the scopes: say which.
		{"unauthorized_client", call(&oauth2.RetrieveError{Response: &http.Response{StatusCode: 401}, ErrorCode: "unauthorized_client"}),
			ClassFailed, "authorize the service account's client id for the scopes https://www.googleapis.com/auth/calendar.readonly"},
		// A token endpoint outage is retried.
		{"token endpoint 503", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 503}, Body: []byte("busy")}, ClassTransient, "busy"},
		// cloud.google.com/go/auth reports the same through its own type.
		{"auth invalid_grant", viaTransport(&auth.Error{Response: &http.Response{StatusCode: 400},
			Body: []byte(`{"error":"invalid_grant","error_description":"account disabled"}`)}), ClassFailed, "invalid_grant: account disabled"},
		// impersonate reports refusals as text, under a url.Error that
		// must not make them look like network trouble.
		{"impersonate unauthorized_client", call(viaTransport(errors.New(`impersonate: status code 401: {"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method"}`))),
			ClassFailed, "domain-wide delegation is not granted"},
		{"impersonate signJwt denied", viaTransport(errors.New(`impersonate: status code 403: {"error":{"code":403,"message":"Permission 'iam.serviceAccounts.signJwt' denied","status":"PERMISSION_DENIED"}}`)),
			ClassFailed, "roles/iam.serviceAccountTokenCreator"},
		{"impersonate 503", viaTransport(errors.New(`impersonate: status code 503: {"error":"internal_failure"}`)), ClassTransient, "will retry"},
		// Network trouble and timeouts are retried.
		{"connection refused", viaTransport(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), ClassTransient, "could not reach Google"},
		{"deadline", call(viaTransport(context.DeadlineExceeded)), ClassTransient, "timed out"},
		{"canceled", context.Canceled, ClassTransient, "canceled"},
		// A status nothing recognises says nothing against the watch:
		// retried, not ended on a guess.
		{"412", apiErr(412, "conditionNotMet", "Precondition Failed"), ClassTransient, "unexpected status (412 conditionNotMet"},
		{"423", apiErr(423, "", "Locked"), ClassTransient, "will retry"},
		{"405 without JSON", &googleapi.Error{Code: 405, Body: "Method Not Allowed"}, ClassTransient, "Method Not Allowed"},
		// Invalid watches and missing configuration are failures of the
		// watch, with the details.
		{"unknown kind", call(fmt.Errorf("%w %q", ErrUnknownKind, "gmail.users")), ClassFailed, `unknown kind "gmail.users"`},
		{"invalid params", call(fmt.Errorf("%w: drive.files needs param fileId", ErrInvalidWatch)), ClassFailed, "needs param fileId"},
		{"no service account", call(ErrNoServiceAccount), ClassFailed, "service account email is unknown"},
		// Anything unrecognised is retried rather than ending a watch on
		// a guess.
		{"unknown error", errors.New("something odd"), ClassTransient, "something odd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify = %v, want %v (%v)", got, tc.want, tc.err)
			}
			if r := Reason(tc.err); !strings.Contains(r, tc.reason) {
				t.Errorf("Reason = %q, want it to contain %q", r, tc.reason)
			}
		})
	}
}

func TestClassifyNil(t *testing.T) {
	t.Parallel()
	if Classify(nil) != ClassTransient || Reason(nil) != "" {
		t.Errorf("Classify(nil) = %v, Reason(nil) = %q", Classify(nil), Reason(nil))
	}
}

func TestClassString(t *testing.T) {
	t.Parallel()
	for c, want := range map[Class]string{ClassTransient: "transient", ClassGone: "gone", ClassFailed: "failed", Class(9): "Class(9)"} {
		if c.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(c), c.String(), want)
		}
	}
}

func TestClassifyIsNotFound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		// channels.stop's 404: already stopped or expired.
		{"404", apiErr(404, "notFound", "Channel not found"), true},
		// Wrapped as Stop wraps it.
		{"wrapped 404", call(apiErr(404, "notFound", "Channel not found")), true},
		// Any other answer is not "already stopped".
		{"410", apiErr(410, "deleted", "gone"), false},
		{"403", apiErr(403, "forbidden", "Forbidden"), false},
		{"network", viaTransport(syscall.ECONNREFUSED), false},
		{"nil", nil, false},
	} {
		if got := IsNotFound(tc.err); got != tc.want {
			t.Errorf("%s: IsNotFound = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// withHeader is apiErr with a Retry-After header, as CheckResponse copies
// the answer's headers.
func withHeader(code int, reason, retryAfter string) error {
	ge := apiErr(code, reason, "slow down").(*googleapi.Error)
	ge.Header = http.Header{"Retry-After": {retryAfter}}
	return ge
}

// TestIsThrottleIsAnswer proves which errors ask a pass to slow down, and
// which are Google's answer rather than an unknown outcome.
func TestIsThrottleIsAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		err              error
		throttle, answer bool
	}{
		// Google asks us to slow down in so many words.
		{"429", apiErr(429, "rateLimitExceeded", "Too Many Requests"), true, true},
		// Drive and Calendar send rate limits as 403 with a reason.
		{"403 rateLimitExceeded", apiErr(403, "rateLimitExceeded", "Rate Limit Exceeded"), true, true},
		{"403 userRateLimitExceeded", apiErr(403, "userRateLimitExceeded", "User Rate Limit Exceeded"), true, true},
		{"403 quotaExceeded", apiErr(403, "quotaExceeded", "Quota exceeded"), true, true},
		// ... or only in the message.
		{"403 rate limit in the message", &googleapi.Error{Code: 403, Message: "Calendar usage limits exceeded: rate limit"}, true, true},
		// Google's own trouble: calling harder would not help.
		{"500", apiErr(500, "backendError", "Backend Error"), true, true},
		{"503 without JSON", &googleapi.Error{Code: 503, Body: "unavailable"}, true, true},
		// Wrapped as Watch wraps it.
		{"wrapped 429", call(apiErr(429, "", "Too Many Requests")), true, true},
		// A permission 403 is a refusal, not a throttle.
		{"403 forbidden", apiErr(403, "forbidden", "Forbidden"), false, true},
		// Refusals of the watch itself are answers, not throttles.
		{"400 webhook", apiErr(400, "push.webhookUrlUnauthorized", "Unauthorized WebHook callback channel"), false, true},
		{"401", apiErr(401, "authError", "Invalid Credentials"), false, true},
		{"wrapped 404", call(apiErr(404, "notFound", "Not Found")), false, true},
		// A reused id is an answer too, though an earlier attempt may
		// have opened the channel: that one was ambiguous, not this one.
		{"400 channelIdNotUnique", apiErr(400, "channelIdNotUnique", "Channel id not unique"), false, true},
		// A timeout answer says nothing about Google's load.
		{"408", apiErr(408, "", "Request Timeout"), false, true},
		// No answer: the call may or may not have reached Google, and
		// nothing says the API is loaded.
		{"connection refused", viaTransport(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), false, false},
		{"connection reset", viaTransport(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), false, false},
		{"deadline", call(viaTransport(context.DeadlineExceeded)), false, false},
		{"canceled", context.Canceled, false, false},
		// The token endpoint is not the API: neither its refusal nor its
		// being busy is the API's answer.
		{"invalid_grant", call(viaTransport(&oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant"})), false, false},
		{"token endpoint 503", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 503}}, false, false},
		{"nil", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := IsThrottle(tc.err); got != tc.throttle {
				t.Errorf("IsThrottle(%v) = %v, want %v", tc.err, got, tc.throttle)
			}
			if got := IsAnswer(tc.err); got != tc.answer {
				t.Errorf("IsAnswer(%v) = %v, want %v", tc.err, got, tc.answer)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		err  error
		want time.Duration
	}{
		// delay-seconds.
		{"seconds", withHeader(429, "rateLimitExceeded", "30"), 30 * time.Second},
		{"zero seconds", withHeader(503, "backendError", "0"), 0},
		// An HTTP-date is counted from now.
		{"HTTP-date", withHeader(503, "backendError", "Sun, 22 Nov 2026 08:02:00 GMT"), 2 * time.Minute},
		// A date already past asks for no wait.
		{"past HTTP-date", withHeader(503, "backendError", "Sun, 22 Nov 2026 07:00:00 GMT"), 0},
		// Wrapped as Watch wraps it.
		{"wrapped", call(withHeader(403, "rateLimitExceeded", "7")), 7 * time.Second},
		// Nonsense is no Retry-After, not an error.
		{"negative", withHeader(429, "", "-5"), 0},
		{"garbage", withHeader(429, "", "soon"), 0},
		// A value too large for a Duration is capped, not wrapped around.
		{"huge", withHeader(429, "", "99999999999999999"), time.Duration(math.MaxInt64/time.Second) * time.Second},
		// No header, no answer, or no error: nothing to wait for.
		{"no header", apiErr(429, "rateLimitExceeded", "Too Many Requests"), 0},
		{"no answer", viaTransport(syscall.ECONNREFUSED), 0},
		{"nil", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := retryAfter(tc.err, now); got != tc.want {
				t.Errorf("retryAfter = %v, want %v", got, tc.want)
			}
		})
	}
	// RetryAfter reads the clock itself.
	if got := RetryAfter(withHeader(429, "", "3")); got != 3*time.Second {
		t.Errorf("RetryAfter = %v, want 3s", got)
	}
}
