package googlesim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Operations, as Call.Op and Match.Op name them.
const (
	OpWatch          = "watch"
	OpStop           = "stop"
	OpStartPageToken = "startPageToken"
	OpList           = "list" // events, calendarList, acl, settings and changes list calls
	OpGet            = "get"  // files.get
)

// Call describes one API call, for matching injected failures.
type Call struct {
	Op         string // OpWatch, OpStop, OpStartPageToken, OpList or OpGet
	Kind       string // the watch kind (of a list: the kind watching what it lists); for a stop, the stopped channel's kind ("" if unknown)
	ResourceID string // the watched resource (of a list or get: the one a watch on it would have); for a stop, the resourceId in the body
	ChannelID  string // the channel id in the body (watch and stop)
	Subject    string // the delegated user the bearer token names; "" for the service account
	Path       string // the request path
}

// Match selects calls; empty fields match anything, and Func, when set,
// must also return true.
type Match struct {
	Op         string
	Kind       string
	ResourceID string
	ChannelID  string
	Subject    string
	Func       func(Call) bool
}

func (m Match) matches(c Call) bool {
	return (m.Op == "" || m.Op == c.Op) &&
		(m.Kind == "" || m.Kind == c.Kind) &&
		(m.ResourceID == "" || m.ResourceID == c.ResourceID) &&
		(m.ChannelID == "" || m.ChannelID == c.ChannelID) &&
		(m.Subject == "" || m.Subject == c.Subject) &&
		(m.Func == nil || m.Func(c))
}

// Failure is an error answer in Google's JSON shape: Code is the HTTP
// status, and Reason, Message and Domain fill error.errors[0].
type Failure struct {
	Code    int
	Reason  string
	Message string
	Domain  string // default "global"
	// Location, when set, names the query parameter at fault
	// (error.errors[0].location, with locationType "parameter").
	Location string
	// RetryAfter, when set, is sent as a Retry-After header in whole
	// seconds, rounded up.
	RetryAfter time.Duration
}

// Failures Google answers, ready to inject.
var (
	// FailAuth: the credentials or the delegated grant were revoked
	// (RevokeSubject answers it for every call of a subject).
	FailAuth = Failure{Code: 401, Reason: "authError", Message: "Invalid Credentials"}
	// FailForbidden: the caller lost access to the resource.
	FailForbidden = Failure{Code: 403, Reason: "forbidden", Message: "Forbidden"}
	// FailRateLimit: the project's rate limit.
	FailRateLimit = Failure{Code: 403, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded", Domain: "usageLimits"}
	// FailUserRateLimit: the per-user rate limit.
	FailUserRateLimit = Failure{Code: 403, Reason: "userRateLimitExceeded", Message: "User Rate Limit Exceeded", Domain: "usageLimits"}
	// FailTooManyRequests: 429.
	FailTooManyRequests = Failure{Code: 429, Reason: "rateLimitExceeded", Message: "Too Many Requests", Domain: "usageLimits"}
	// FailWebhook: the webhook's domain is not allowed. The message is
	// filled in with the watch's address, as Google does.
	FailWebhook = Failure{Code: 400, Reason: "push.webhookUrlUnauthorized", Domain: "global"}
	// FailNotFound: the resource does not exist.
	FailNotFound = Failure{Code: 404, Reason: "notFound", Message: "Not Found"}
	// FailGone: 410, the resource was deleted.
	FailGone = Failure{Code: 410, Reason: "deleted", Message: "Resource has been deleted"}
	// FailSyncTokenExpired: Calendar's answer to a list with a sync token
	// it no longer honours (ExpireSyncTokens makes every old one so).
	FailSyncTokenExpired = Failure{Code: 410, Reason: "fullSyncRequired", Domain: "calendar", Location: "syncToken",
		Message: "Sync token is no longer valid, a full sync is required."}
	// FailInvalidPageToken: Drive's answer to a changes list with a page
	// token it does not know, or no longer honours.
	FailInvalidPageToken = Failure{Code: 400, Reason: "invalid", Message: "Invalid Value", Location: "pageToken"}
	// FailBackend: 500.
	FailBackend = Failure{Code: 500, Reason: "backendError", Message: "Backend Error"}
	// FailUnavailable: 503.
	FailUnavailable = Failure{Code: 503, Reason: "backendError", Message: "The service is currently unavailable."}
)

type nextFailure struct {
	left    int
	match   Match
	failure Failure
}

type persistentFailure struct {
	match   Match
	failure Failure
}

// FailNext makes the next n calls that match fail with f.
func (s *Sim) FailNext(n int, m Match, f Failure) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = append(s.next, &nextFailure{left: n, match: m, failure: f})
}

// Fail makes every call that matches fail with f until clear is called.
func (s *Sim) Fail(m Match, f Failure) (clear func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failureSeq++
	id := s.failureSeq
	s.failures[id] = &persistentFailure{match: m, failure: f}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.failures, id)
	}
}

// ClearFailures removes every injected failure, pending or persistent.
func (s *Sim) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = nil
	clear(s.failures)
}

// hold is one Hold: the calls it matches wait until released is closed.
type hold struct {
	match    Match
	released chan struct{}
}

// Hold makes every call that matches (watch, stop, startPageToken, list,
// get) wait,
// before the simulator does anything with it, until release is called or
// the request's context ends. Released, a held call goes on as if it had
// just arrived: it is counted in Stats, meets injected failures and opens
// or stops its channel. A call whose client gave up first (its own
// timeout) is dropped, with no answer and no effect, and counted in
// Stats.Dropped only. The server learns that a client gave up a moment
// after the client does, and a release in that moment lets the call go
// on, as it might at Google: a test that wants the drop waits for
// Stats.Dropped before it releases. A call still held when the simulator
// is closed is answered 503. Calls that arrive after release are not
// held. For a stop, Match.Kind is the stopped channel's kind, as for
// failures. release may be called more than once.
func (s *Sim) Hold(m Match) (release func()) {
	h := &hold{match: m, released: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.holds = slices.DeleteFunc(s.holds, func(x *hold) bool { return x == h })
			s.mu.Unlock()
			close(h.released)
		})
	}
}

// await blocks c while a Hold matches it. It reports false when the call
// must be dropped: the client gave up, or the simulator closed (then the
// client, if still there, gets 503).
func (s *Sim) await(w http.ResponseWriter, r *http.Request, c Call) bool {
	for {
		s.mu.Lock()
		if c.Op == OpStop && c.Kind == "" {
			if ch := s.channels[c.ChannelID]; ch != nil {
				c.Kind = ch.Kind
			}
		}
		i := slices.IndexFunc(s.holds, func(h *hold) bool { return h.match.matches(c) })
		var h *hold
		if i >= 0 {
			h = s.holds[i]
		}
		s.mu.Unlock()
		if h == nil {
			return true
		}
		select {
		case <-h.released:
			// Another hold may match too: look again.
		case <-r.Context().Done():
			s.mu.Lock()
			s.stats.Dropped++
			s.mu.Unlock()
			return false
		case <-s.ctx.Done():
			writeFailure(w, FailUnavailable)
			return false
		}
	}
}

// injected returns the failure for c: FailAuth for a revoked subject,
// else an injected one, consuming a FailNext budget first; s.mu must be
// held.
func (s *Sim) injected(c Call) (Failure, bool) {
	if s.revoked[c.Subject] {
		return FailAuth, true
	}
	for i, n := range s.next {
		if n.match.matches(c) {
			n.left--
			if n.left == 0 {
				s.next = append(s.next[:i], s.next[i+1:]...)
			}
			return n.failure, true
		}
	}
	for id := 1; id <= s.failureSeq; id++ {
		if p, ok := s.failures[id]; ok && p.match.matches(c) {
			return p.failure, true
		}
	}
	return Failure{}, false
}

// errorBody is Google's error JSON, as googleapi.CheckResponse parses it.
type errorBody struct {
	Error struct {
		Code    int         `json:"code"`
		Message string      `json:"message"`
		Errors  []errorItem `json:"errors"`
		Status  string      `json:"status,omitempty"`
	} `json:"error"`
}

type errorItem struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

var statuses = map[int]string{
	400: "INVALID_ARGUMENT",
	401: "UNAUTHENTICATED",
	403: "PERMISSION_DENIED",
	404: "NOT_FOUND",
	409: "ALREADY_EXISTS",
	410: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED",
	500: "INTERNAL",
	503: "UNAVAILABLE",
}

func writeFailure(w http.ResponseWriter, f Failure) {
	var b errorBody
	domain := f.Domain
	if domain == "" {
		domain = "global"
	}
	item := errorItem{Message: f.Message, Domain: domain, Reason: f.Reason}
	if f.Location != "" {
		item.Location, item.LocationType = f.Location, "parameter"
	}
	if f.Code == http.StatusUnauthorized {
		item.Location, item.LocationType = "Authorization", "header"
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
	}
	b.Error.Code = f.Code
	b.Error.Message = f.Message
	b.Error.Errors = []errorItem{item}
	b.Error.Status = statuses[f.Code]
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(f.Code)
	json.NewEncoder(w).Encode(b) //nolint:errcheck // the client went away
}
