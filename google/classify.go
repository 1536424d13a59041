package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"github.com/googleapis/gax-go/v2/apierror"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

// Class is what a pass does about a Google error (docs/DESIGN.md, "Google
// errors").
type Class int

const (
	// ClassTransient: retry with backoff, then leave the watch for the
	// next pass (rate limits, 429, 5xx, network, timeouts, and anything
	// not recognised, since ending a watch on a guess would be worse).
	ClassTransient Class = iota
	// ClassGone: the watched resource no longer exists (404, 410); the
	// watch becomes gone.
	ClassGone
	// ClassFailed: credentials, permission or configuration refused
	// (401, 403 other than rate limits, 400, invalid_grant,
	// unauthorized_client, a webhook address Google will not call); the
	// watch becomes failed with the reason spelled out.
	ClassFailed
)

func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassGone:
		return "gone"
	case ClassFailed:
		return "failed"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Classify says what to do about err from Watch or Stop. A nil error is
// ClassTransient: there is nothing terminal about it.
func Classify(err error) Class {
	c, _ := diagnose(err)
	return c
}

// Reason spells err out as one sentence for a watch's lastError and its
// failed event: what Google said and what to do about it. It never
// contains a channel token.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	_, r := diagnose(err)
	var ce *CallError
	if errors.As(err, &ce) && ce.secret != "" {
		r = strings.ReplaceAll(r, ce.secret, "[token]")
	}
	return r
}

// IsNotFound reports whether Google answered 404, which on channels.stop
// means the channel is already stopped or expired: nothing left to do.
func IsNotFound(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == 404
}

// IsThrottle reports whether Google answered err by asking us to slow
// down: 429, a 403 whose reason is a rate or quota limit, or a 5xx. A
// pass stops calling that API until its next run. An error Google did not
// answer (network, timeout, canceled context) is not a throttle: nothing
// says the API is loaded.
func IsThrottle(err error) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return false
	}
	return ge.Code == 429 || ge.Code >= 500 || rateLimited(ge, apiReasons(ge))
}

// IsAnswer reports whether Google answered the call with an HTTP error,
// whatever its status: the call was refused, so a watch call opened no
// channel. Any other error, a network failure or a timeout above all,
// leaves the outcome unknown: the channel may exist at Google. Errors
// raised before the call was sent (an invalid watch, a refused token) are
// not answers either, which only errs on the side of caution.
func IsAnswer(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge)
}

// RetryAfter is the delay Google's answer asked for in its Retry-After
// header (delay-seconds or an HTTP-date), or 0 when err carries none.
func RetryAfter(err error) time.Duration { return retryAfter(err, time.Now()) }

// retryAfter is RetryAfter with an HTTP-date counted from now.
func retryAfter(err error, now time.Time) time.Duration {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return 0
	}
	v := strings.TrimSpace(ge.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Bound before converting, so a huge value cannot overflow.
		return time.Duration(min(max(s, 0), int64(math.MaxInt64/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// 403 reasons that are rate or quota limits: retry later, nothing is wrong
// with the watch.
var rateReasons = []string{
	"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded",
	"RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED",
}

// diagnose classifies err and phrases the reason.
func diagnose(err error) (Class, string) {
	if err == nil {
		return ClassTransient, ""
	}
	var (
		ce  *CallError
		ge  *googleapi.Error
		re  *oauth2.RetrieveError
		ae  *auth.Error
		se  *SuspendedError
		scp string
		sub string
	)
	if errors.As(err, &ce) {
		scp, sub = strings.Join(ce.Scopes, ","), ce.Subject
	}
	switch {
	case errors.Is(err, ErrUnknownKind), errors.Is(err, ErrInvalidWatch):
		return ClassFailed, "the watch is invalid: " + strings.TrimPrefix(inner(err).Error(), "google: ")
	case errors.Is(err, ErrNoServiceAccount):
		return ClassFailed, "the watch has a subject, so domain-wide delegation is needed, but the service account email is unknown: set it in the deployment"
	case errors.As(err, &se):
		class, reason := se.diagnose()
		if sub != "" && class == ClassFailed {
			reason += " (the watch acts as " + sub + ")"
		}
		return class, reason
	case errors.Is(err, ErrCursorExpired):
		// Only Sync reads, and it takes a fresh baseline: the resource is
		// there, the reason must not say it is gone.
		why := strings.TrimPrefix(inner(err).Error(), "google: ")
		if errors.As(err, &ge) {
			why = said(ge, apiReasons(ge))
		}
		return ClassGone, "the read's cursor expired (" + why + "): a fresh baseline is taken, and changes made before it are not published"
	case errors.As(err, &ge):
		class, reason := diagnoseAPI(ge)
		if sub != "" && class == ClassFailed && (ge.Code == 401 || ge.Code == 403) {
			// An operator fixes a revoked grant per user: say which.
			reason += " (the watch acts as " + sub + ")"
		}
		return class, reason
	case errors.As(err, &re):
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return diagnoseToken(status, re.ErrorCode, re.ErrorDescription, string(re.Body), sub, scp)
	case errors.As(err, &ae):
		status := 0
		if ae.Response != nil {
			status = ae.Response.StatusCode
		}
		code, desc := tokenBody(ae.Body)
		return diagnoseToken(status, code, desc, string(ae.Body), sub, scp)
	}
	// impersonate reports the IAM Credentials and OAuth token endpoints'
	// refusals as plain text: "impersonate: status code 400: {body}".
	if m := impersonateStatus.FindStringSubmatch(err.Error()); m != nil {
		status, _ := strconv.Atoi(m[1])
		code, desc := tokenBody([]byte(m[2]))
		return diagnoseToken(status, code, desc, m[2], sub, scp)
	}
	var (
		ue *url.Error
		ne net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTransient, "the call to Google timed out; the next pass tries again"
	case errors.Is(err, context.Canceled):
		return ClassTransient, "the call to Google was canceled; the next pass tries again"
	case errors.As(err, &ue), errors.As(err, &ne):
		return ClassTransient, "could not reach Google (" + inner(err).Error() + "); will retry"
	}
	return ClassTransient, "unexpected error (" + inner(err).Error() + "); will retry"
}

// impersonateStatus matches the errors of google.golang.org/api/impersonate.
var impersonateStatus = regexp.MustCompile(`impersonate: status code (\d{3}): (.*)`)

// inner is err without the CallError wrapper, whose prefix Reason's
// sentences do not need.
func inner(err error) error {
	var ce *CallError
	if errors.As(err, &ce) && ce.Err != nil {
		return ce.Err
	}
	return err
}

// diagnoseAPI classifies an error answer of a Google API.
func diagnoseAPI(ge *googleapi.Error) (Class, string) {
	reasons := apiReasons(ge)
	said := said(ge, reasons)
	has := func(rs ...string) bool {
		return slices.ContainsFunc(reasons, func(r string) bool { return slices.Contains(rs, r) })
	}
	msg := strings.ToLower(ge.Message)

	switch {
	case ge.Code == 404 || ge.Code == 410:
		return ClassGone, "the watched resource no longer exists or is no longer visible to the caller (" + said + ")"
	case ge.Code == 429 || ge.Code >= 500 || ge.Code == 408:
		return ClassTransient, "Google is busy or rate-limiting (" + said + "); will retry"
	case rateLimited(ge, reasons):
		return ClassTransient, "rate or quota limit reached (" + said + "); will retry"
	case ge.Code == 401:
		return ClassFailed, "Google rejected the credentials (" + said + "): the grant may have been revoked; check the service account and, for a subject, the domain-wide delegation"
	case ge.Code == 403 && (has("accessNotConfigured", "SERVICE_DISABLED") || strings.Contains(msg, "has not been used in project")):
		return ClassFailed, "the API is not enabled in the project (" + said + "): enable it in the Google Cloud console"
	case ge.Code == 403:
		return ClassFailed, "permission denied (" + said + "): the service account or the subject lost access to the resource, or lacks the scope"
	case ge.Code == 400 && (has("push.webhookUrlUnauthorized") || strings.Contains(msg, "unauthorized webhook callback channel")):
		return ClassFailed, "Google refused the webhook address (" + said + "): verify the domain in Search Console and add it to the project's allowed domains"
	case ge.Code == 400 && (has("push.webhookUrlNotHttps") || strings.Contains(msg, "must be https")):
		return ClassFailed, "Google refused the webhook address (" + said + "): it must be https with a valid certificate"
	case ge.Code == 400 && slices.ContainsFunc(reasons, func(r string) bool { return strings.HasPrefix(r, "push.") }):
		return ClassFailed, "Google refused the webhook address (" + said + ")"
	case ge.Code == 400 && has("channelIdNotUnique"):
		// Only a retried watch call reuses an id, and the first attempt
		// may have opened the channel: not a fault of the watch. A pass
		// should open the next channel under a fresh id.
		return ClassTransient, "Google already has a channel with this id, probably from an earlier attempt of the same call (" + said + "); the next attempt needs a fresh id"
	case ge.Code == 400:
		return ClassFailed, "Google rejected the request as invalid (" + said + "): check the watch's kind, params and ttlSeconds"
	case ge.Code == 409:
		return ClassTransient, "conflict (" + said + "); will retry"
	}
	// 412, 423 and the like: nothing says the watch is at fault, and
	// ending it on a guess would be worse than asking again.
	return ClassTransient, "Google answered an unexpected status (" + said + "); will retry"
}

// apiReasons lists the reasons of an error answer: error.errors[].reason,
// then the google.rpc.ErrorInfo reason when the answer carries one.
func apiReasons(ge *googleapi.Error) []string {
	reasons := make([]string, 0, len(ge.Errors)+1)
	for _, e := range ge.Errors {
		reasons = append(reasons, e.Reason)
	}
	var ae *apierror.APIError
	if errors.As(ge, &ae) && ae.Reason() != "" {
		reasons = append(reasons, ae.Reason())
	}
	return reasons
}

// rateLimited reports whether ge is a 403 that is a rate or quota limit
// rather than a refusal.
func rateLimited(ge *googleapi.Error, reasons []string) bool {
	return ge.Code == 403 && (slices.ContainsFunc(reasons, func(r string) bool { return slices.Contains(rateReasons, r) }) ||
		strings.Contains(strings.ToLower(ge.Message), "rate limit"))
}

// said phrases what Google answered: "400 push.webhookUrlUnauthorized:
// Unauthorized WebHook callback channel: https://...".
func said(ge *googleapi.Error, reasons []string) string {
	s := strconv.Itoa(ge.Code)
	if len(reasons) > 0 && reasons[0] != "" {
		s += " " + reasons[0]
	}
	switch {
	case ge.Message != "":
		s += ": " + ge.Message
	case len(ge.Errors) > 0 && ge.Errors[0].Message != "":
		s += ": " + ge.Errors[0].Message
	case ge.Body != "":
		s += ": " + truncate(ge.Body, 200)
	}
	return s
}

// diagnoseToken classifies a refusal of the OAuth token endpoint or of the
// IAM Credentials API (the delegation JWT), from its status, OAuth error
// code and description.
func diagnoseToken(status int, code, desc, body, subject, scopes string) (Class, string) {
	what := code
	switch {
	case code != "" && desc != "":
		what += ": " + desc
	case desc != "":
		what = strconv.Itoa(status) + " " + desc
	case what == "":
		what = strconv.Itoa(status) + ": " + truncate(body, 200)
	}
	who := "the service account"
	if subject != "" {
		who = "delegation to " + subject
	}
	switch {
	case code == "invalid_grant":
		return ClassFailed, "Google refused a token for " + who + " (" + what + "): the user may not exist or be suspended, or the grant was revoked"
	case code == "unauthorized_client":
		return ClassFailed, "domain-wide delegation is not granted (" + what + "): in the Admin console, authorize the service account's client id for the scopes " + scopes
	case code == "access_denied", code == "invalid_client", code == "invalid_scope":
		return ClassFailed, "Google refused a token for " + who + " (" + what + ")"
	case status == 429 || status >= 500:
		return ClassTransient, "the token service is busy (" + what + "); will retry"
	case status == 403:
		return ClassFailed, "the service account may not sign for itself (" + what + "): grant it roles/iam.serviceAccountTokenCreator on itself and enable the IAM Service Account Credentials API"
	case status >= 400:
		return ClassFailed, "Google refused a token for " + who + " (" + what + ")"
	}
	return ClassTransient, "could not get a token for " + who + " (" + what + "); will retry"
}

// tokenBody reads an OAuth error body ({"error": "...", "error_description":
// "..."}) or a Google API one ({"error": {"status": "...", "message": "..."}}).
func tokenBody(b []byte) (code, desc string) {
	var oauthErr struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(b, &oauthErr) != nil {
		return "", ""
	}
	if json.Unmarshal(oauthErr.Error, &code) == nil {
		return code, oauthErr.Description
	}
	var apiErr struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if json.Unmarshal(oauthErr.Error, &apiErr) == nil && apiErr.Status != "" {
		return "", fmt.Sprintf("%s: %s", apiErr.Status, apiErr.Message)
	}
	return "", ""
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
