package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	directory "google.golang.org/api/admin/directory/v1"
	reports "google.golang.org/api/admin/reports/v1"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/impersonate"
	"google.golang.org/api/option"
	workspaceevents "google.golang.org/api/workspaceevents/v1"

	"github.com/watchrelay/watchrelay/store"
)

// ErrNoServiceAccount: a watch has a subject, so domain-wide delegation is
// needed, but the function's own service account email is unknown (not
// set in APIConfig.ServiceAccount and not on Google Cloud to ask the
// metadata server).
var ErrNoServiceAccount = errors.New("google: domain-wide delegation needs the service account email; set APIConfig.ServiceAccount")

// APIConfig configures the Google API clients.
type APIConfig struct {
	// BaseURL, when set (WATCHRELAY_API_BASE_URL), sends every call there
	// with no credentials: calendar at <base>/calendar/v3/, drive at
	// <base>/drive/v3/, admin directory and reports at <base>/ (their
	// request paths begin with admin/...). Each call carries a fixed
	// bearer token that is not a credential and proves nothing: it only
	// names whose delegation the call stands for, "sim-subject:" followed
	// by the watch's subject, or "sim-service-account" for a watch without
	// one, so that a simulated Google can refuse a revoked subject (see
	// internal/fake/googlesim). With HTTPClient set too, no token is added.
	BaseURL string
	// HTTPClient, when set, carries every call as it is: no credentials
	// are added. For tests.
	HTTPClient *http.Client
	// ClientOptions are appended to every client's options.
	ClientOptions []option.ClientOption
	// ServiceAccount is the email of the function's own service account,
	// the target of domain-wide delegation for watches with a subject. A
	// deployment may set it; when empty it is read from the metadata
	// server the first time a subject is used.
	ServiceAccount string
	// Now is the clock a requested expiration is turned into a TTL by,
	// for the kinds that take params.ttl (default time.Now).
	Now func() time.Time
}

// APIs implements Google over the typed google.golang.org/api clients. It
// builds each client the first time it is needed and keeps it, one per
// API, subject and set of scopes (with a base URL, one per API and
// subject), so the goroutines of a pass share them.
// It is safe for concurrent use.
type APIs struct {
	cfg APIConfig

	mu       sync.Mutex
	services map[serviceKey]*serviceEntry
	account  string // discovered service account email
}

// serviceKey names one client: credentials differ by subject and scopes,
// the base URL's stand-in token by subject only.
type serviceKey struct {
	api     string
	subject string
	scopes  string
}

// serviceEntry is one client, built once; a failed build is retried on
// the next call, since it may have been transient (metadata server).
type serviceEntry struct {
	mu  sync.Mutex
	svc clients
	ok  bool
}

// NewAPIs returns the adapters. It checks the configuration and builds no
// client: clients are built on first use.
func NewAPIs(ctx context.Context, cfg APIConfig) (*APIs, error) {
	if cfg.BaseURL != "" {
		if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
			return nil, fmt.Errorf("google: API base URL %q is not an http(s) URL", cfg.BaseURL)
		}
		cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &APIs{cfg: cfg, services: make(map[serviceKey]*serviceEntry)}, nil
}

// Watch opens a channel on w's resource through the kind's own watch call
// and answers what Google granted. The expiration Google omits is taken as
// the requested one. Errors keep Google's *googleapi.Error in their chain
// for Classify and never contain req.Token.
func (a *APIs) Watch(ctx context.Context, w store.Watch, req ChannelRequest) (Granted, error) {
	k, ok := kinds[w.Kind]
	if !ok {
		return Granted{}, &CallError{Op: "watch", Kind: w.Kind, Err: fmt.Errorf("%w %q", ErrUnknownKind, w.Kind)}
	}
	if err := k.validateParams(w.Params); err != nil {
		return Granted{}, &CallError{Op: "watch", Kind: w.Kind, Err: err}
	}
	fail := func(err error) (Granted, error) {
		return Granted{}, &CallError{Op: "watch", Kind: k.Name, Subject: w.Subject, Scopes: k.Scopes,
			Err: scrub(err, req.Token), secret: req.Token}
	}
	c, err := a.clients(ctx, k.API, w.Subject, k.Scopes)
	if err != nil {
		return fail(err)
	}
	ch := channel{ID: req.ID, Type: "web_hook", Address: req.Address, Token: req.Token, ResourceID: req.Current}
	if !req.Expiration.IsZero() {
		ch.Expiration = req.Expiration.UnixMilli()
		// Calendar and Admin Directory document the lifetime as params.ttl
		// (seconds) rather than the expiration field; send both, so each
		// API reads the one it honours. A Workspace subscription takes
		// only a ttl, which its watch reads from here, by this clock.
		if k.API == APICalendar || k.API == APIDirectory || k.API == APIWorkspaceEvents {
			if ttl := req.Expiration.Sub(a.cfg.Now()) / time.Second; ttl >= 1 {
				ch.Params = map[string]string{"ttl": strconv.FormatInt(int64(ttl), 10)}
			}
		}
	}
	r, err := k.watch(ctx, c, w.Params, ch)
	if err != nil {
		return fail(err)
	}
	g := Granted{ResourceID: r.ResourceID, ResourceURI: r.ResourceURI, Expiration: req.Expiration, Reactivated: r.Reactivated}
	if r.Expiration > 0 {
		g.Expiration = time.UnixMilli(r.Expiration)
	}
	return g, nil
}

// Stop closes a channel through its API's own channels.stop. Google answers
// 404 for a channel it no longer knows; IsNotFound tells.
func (a *APIs) Stop(ctx context.Context, w store.Watch, channelID, resourceID string) error {
	k, ok := kinds[w.Kind]
	if !ok {
		return &CallError{Op: "stop", Kind: w.Kind, Err: fmt.Errorf("%w %q", ErrUnknownKind, w.Kind)}
	}
	c, err := a.clients(ctx, k.API, w.Subject, k.Scopes)
	switch {
	case err != nil:
	case k.stop != nil:
		err = k.stop(ctx, c, channel{ID: channelID, ResourceID: resourceID})
	default:
		err = stop(ctx, k.API, c, channel{ID: channelID, ResourceID: resourceID})
	}
	if err != nil {
		return &CallError{Op: "stop", Kind: k.Name, Subject: w.Subject, Scopes: k.Scopes, Err: err}
	}
	return nil
}

// stop calls api's channels.stop.
func stop(ctx context.Context, api string, c clients, ch channel) error {
	switch api {
	case APICalendar:
		return c.calendar.Channels.Stop(toCalendar(ch)).Context(ctx).Do()
	case APIDrive:
		return c.drive.Channels.Stop(toDrive(ch)).Context(ctx).Do()
	case APIDirectory:
		return c.directory.Channels.Stop(toDirectory(ch)).Context(ctx).Do()
	case APIReports:
		return c.reports.Channels.Stop(toReports(ch)).Context(ctx).Do()
	}
	return fmt.Errorf("google: no channels.stop for API %q", api)
}

// clients returns the client of api for subject and scopes, building it
// the first time.
func (a *APIs) clients(ctx context.Context, api, subject string, scopes []string) (clients, error) {
	key := serviceKey{api: api}
	switch {
	case a.cfg.HTTPClient != nil:
		// The caller's client is the same for every call.
	case a.cfg.BaseURL != "":
		// The stand-in token names the subject, not the scopes.
		key.subject = subject
	default:
		key.subject, key.scopes = subject, strings.Join(scopes, " ")
	}
	a.mu.Lock()
	e := a.services[key]
	if e == nil {
		e = &serviceEntry{}
		a.services[key] = e
	}
	a.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok {
		return e.svc, nil
	}
	svc, err := a.build(ctx, api, subject, scopes)
	if err != nil {
		return clients{}, err
	}
	e.svc, e.ok = svc, true
	return svc, nil
}

// build creates one typed client. The client outlives the call that made
// it, so it is built on a context that is never canceled: the credentials
// keep it to refresh tokens.
func (a *APIs) build(ctx context.Context, api, subject string, scopes []string) (clients, error) {
	opts, err := a.options(ctx, api, subject, scopes)
	if err != nil {
		return clients{}, err
	}
	bctx := context.WithoutCancel(ctx)
	var c clients
	switch api {
	case APICalendar:
		c.calendar, err = calendar.NewService(bctx, opts...)
	case APIDrive:
		c.drive, err = drive.NewService(bctx, opts...)
	case APIDirectory:
		c.directory, err = directory.NewService(bctx, opts...)
	case APIReports:
		c.reports, err = reports.NewService(bctx, opts...)
	case APIGmail:
		c.gmail, err = gmail.NewService(bctx, opts...)
	case APIWorkspaceEvents:
		c.events, err = workspaceevents.NewService(bctx, opts...)
	default:
		err = fmt.Errorf("google: unknown API %q", api)
	}
	if err != nil {
		return clients{}, fmt.Errorf("google: %s client: %w", api, err)
	}
	return c, nil
}

// options are the client options of api: the base URL without
// credentials (but with the stand-in token naming the subject, see
// SubjectToken), or Application Default Credentials with the kind's scopes,
// or, with a subject, domain-wide delegation through impersonation of the
// function's own service account (no key files: the IAM Credentials API
// signs the delegation JWT, which needs roles/iam.serviceAccountTokenCreator
// for the service account on itself).
func (a *APIs) options(ctx context.Context, api, subject string, scopes []string) ([]option.ClientOption, error) {
	var opts []option.ClientOption
	switch {
	case a.cfg.BaseURL != "" && a.cfg.HTTPClient == nil:
		ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: SubjectToken(subject), TokenType: "Bearer"})
		opts = append(opts, option.WithEndpoint(a.endpoint(api)), option.WithTokenSource(ts))
	case a.cfg.BaseURL != "":
		// The caller's client carries the calls as they are.
		opts = append(opts, option.WithEndpoint(a.endpoint(api)), option.WithoutAuthentication())
	case a.cfg.HTTPClient != nil:
		// The caller's client carries its own credentials, if any.
	case subject != "":
		sa, err := a.serviceAccount(ctx)
		if err != nil {
			return nil, err
		}
		ts, err := impersonate.CredentialsTokenSource(context.WithoutCancel(ctx), impersonate.CredentialsConfig{
			TargetPrincipal: sa,
			Scopes:          scopes,
			Subject:         subject,
		})
		if err != nil {
			return nil, fmt.Errorf("google: delegation to %s: %w", subject, err)
		}
		opts = append(opts, option.WithTokenSource(ts))
	default:
		opts = append(opts, option.WithScopes(scopes...))
	}
	if a.cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(a.cfg.HTTPClient))
	}
	return append(opts, a.cfg.ClientOptions...), nil
}

// endpoint is api's base path under the configured base URL, where the
// client appends Google's own request paths.
func (a *APIs) endpoint(api string) string {
	switch api {
	case APICalendar:
		return a.cfg.BaseURL + "/calendar/v3/"
	case APIDrive:
		return a.cfg.BaseURL + "/drive/v3/"
	}
	// Admin's request paths carry their own prefix
	// (admin/directory/v1/..., admin/reports_v1/channels/stop), as do
	// Gmail's (gmail/v1/...) and Workspace Events' (v1/subscriptions).
	return a.cfg.BaseURL + "/"
}

// serviceAccount returns the configured service account email, or asks
// the metadata server once it is first needed.
func (a *APIs) serviceAccount(ctx context.Context) (string, error) {
	if a.cfg.ServiceAccount != "" {
		return a.cfg.ServiceAccount, nil
	}
	a.mu.Lock()
	sa := a.account
	a.mu.Unlock()
	if sa != "" {
		return sa, nil
	}
	if !metadata.OnGCEWithContext(ctx) {
		return "", ErrNoServiceAccount
	}
	sa, err := metadata.EmailWithContext(ctx, "default")
	if err != nil {
		return "", fmt.Errorf("google: read the service account from the metadata server: %w", err)
	}
	a.mu.Lock()
	a.account = sa
	a.mu.Unlock()
	return sa, nil
}

// CallError is an error of one Watch or Stop call: what was asked, for
// Reason, and Google's error underneath, for Classify.
type CallError struct {
	Op      string   // "watch" or "stop"
	Kind    string   // the watch's kind
	Subject string   // the delegated user, if any
	Scopes  []string // the scopes the call asked for
	Err     error

	secret string // the channel token, never printed
}

func (e *CallError) Error() string {
	msg := fmt.Sprintf("google: %s %s: %v", e.Kind, e.Op, e.Err)
	if e.secret != "" {
		msg = strings.ReplaceAll(msg, e.secret, "[token]")
	}
	return msg
}

func (e *CallError) Unwrap() error { return e.Err }

// scrub removes token from a Google error's texts, in case a server echoes
// the request: a token must never reach a log or a watch's lastError.
func scrub(err error, token string) error {
	var ge *googleapi.Error
	if token == "" || !errors.As(err, &ge) {
		return err
	}
	hide := func(s string) string { return strings.ReplaceAll(s, token, "[token]") }
	ge.Message, ge.Body = hide(ge.Message), hide(ge.Body)
	for i := range ge.Errors {
		ge.Errors[i].Message = hide(ge.Errors[i].Message)
	}
	return err
}

// The stand-in access tokens of base-URL mode. They are not credentials and
// prove nothing: they only name whose delegation a call stands for, so that a
// simulated Google can refuse a revoked subject. The format is defined here,
// on the production side; internal/fake/googlesim parses it.
const (
	// SubjectTokenPrefix starts the token of a call made for a subject
	// through domain-wide delegation: "sim-subject:" + the user's email.
	SubjectTokenPrefix = "sim-subject:"
	// ServiceAccountToken is the token of a call made as the service
	// account itself, with no subject.
	ServiceAccountToken = "sim-service-account"
)

// SubjectToken is the stand-in access token of a call for subject; the
// empty subject is the service account itself.
func SubjectToken(subject string) string {
	if subject == "" {
		return ServiceAccountToken
	}
	return SubjectTokenPrefix + subject
}
