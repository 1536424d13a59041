package googlesim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	directory "google.golang.org/api/admin/directory/v1"
	reports "google.golang.org/api/admin/reports/v1"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// watchReq is one watch call, in terms common to every API.
type watchReq struct {
	kind       string
	params     map[string]string // calendarId, fileId, driveId, pageToken, customer, domain, event, userKey, applicationName
	id         string
	address    string
	token      string
	expiration time.Time // zero: none requested
	ttl        string    // params.ttl, seconds
}

// granted is a watch response, in terms common to every API.
type granted struct {
	Kind, ID, ResourceID, ResourceURI, Token string
	Expiration                               int64
}

func opts(base, path string) []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(base + path), option.WithoutAuthentication()}
}

// watch opens a channel through the real typed client of r.kind, as the
// renew adapters do with WATCHRELAY_API_BASE_URL set.
func watch(ctx context.Context, base string, r watchReq) (granted, error) {
	var exp int64
	if !r.expiration.IsZero() {
		exp = r.expiration.UnixMilli()
	}
	var params map[string]string
	if r.ttl != "" {
		params = map[string]string{"ttl": r.ttl}
	}
	p := r.params
	switch r.kind {
	case googlesim.KindCalendarEvents, googlesim.KindCalendarList, googlesim.KindCalendarACL, googlesim.KindCalendarSettings:
		svc, err := calendar.NewService(ctx, opts(base, "/calendar/v3/")...)
		if err != nil {
			return granted{}, err
		}
		ch := &calendar.Channel{Id: r.id, Type: "web_hook", Address: r.address, Token: r.token, Expiration: exp, Params: params}
		var got *calendar.Channel
		switch r.kind {
		case googlesim.KindCalendarEvents:
			got, err = svc.Events.Watch(p["calendarId"], ch).Context(ctx).Do()
		case googlesim.KindCalendarList:
			got, err = svc.CalendarList.Watch(ch).Context(ctx).Do()
		case googlesim.KindCalendarACL:
			got, err = svc.Acl.Watch(p["calendarId"], ch).Context(ctx).Do()
		default:
			got, err = svc.Settings.Watch(ch).Context(ctx).Do()
		}
		if err != nil {
			return granted{}, err
		}
		return granted{got.Kind, got.Id, got.ResourceId, got.ResourceUri, got.Token, got.Expiration}, nil
	case googlesim.KindDriveFiles, googlesim.KindDriveChanges:
		svc, err := drive.NewService(ctx, opts(base, "/drive/v3/")...)
		if err != nil {
			return granted{}, err
		}
		ch := &drive.Channel{Id: r.id, Type: "web_hook", Address: r.address, Token: r.token, Expiration: exp, Params: params}
		var got *drive.Channel
		if r.kind == googlesim.KindDriveFiles {
			got, err = svc.Files.Watch(p["fileId"], ch).Context(ctx).Do()
		} else {
			call := svc.Changes.Watch(p["pageToken"], ch).Context(ctx)
			if d := p["driveId"]; d != "" {
				call = call.DriveId(d).SupportsAllDrives(true)
			}
			got, err = call.Do()
		}
		if err != nil {
			return granted{}, err
		}
		return granted{got.Kind, got.Id, got.ResourceId, got.ResourceUri, got.Token, got.Expiration}, nil
	case googlesim.KindDirectoryUsers, googlesim.KindDirectoryAliases:
		svc, err := directory.NewService(ctx, opts(base, "/")...)
		if err != nil {
			return granted{}, err
		}
		ch := &directory.Channel{Id: r.id, Type: "web_hook", Address: r.address, Token: r.token, Expiration: exp, Params: params}
		var got *directory.Channel
		if r.kind == googlesim.KindDirectoryUsers {
			call := svc.Users.Watch(ch).Context(ctx)
			if v := p["customer"]; v != "" {
				call = call.Customer(v)
			}
			if v := p["domain"]; v != "" {
				call = call.Domain(v)
			}
			if v := p["event"]; v != "" {
				call = call.Event(v)
			}
			got, err = call.Do()
		} else {
			call := svc.Users.Aliases.Watch(p["userKey"], ch).Context(ctx)
			if v := p["event"]; v != "" {
				call = call.Event(v)
			}
			got, err = call.Do()
		}
		if err != nil {
			return granted{}, err
		}
		return granted{got.Kind, got.Id, got.ResourceId, got.ResourceUri, got.Token, got.Expiration}, nil
	case googlesim.KindReportsActivities:
		svc, err := reports.NewService(ctx, opts(base, "/")...)
		if err != nil {
			return granted{}, err
		}
		ch := &reports.Channel{Id: r.id, Type: "web_hook", Address: r.address, Token: r.token, Expiration: exp, Params: params}
		got, err := svc.Activities.Watch(p["userKey"], p["applicationName"], ch).Context(ctx).Do()
		if err != nil {
			return granted{}, err
		}
		return granted{got.Kind, got.Id, got.ResourceId, got.ResourceUri, got.Token, got.Expiration}, nil
	}
	return granted{}, fmt.Errorf("unknown kind %q", r.kind)
}

// stop closes a channel through the channels.stop of api ("calendar",
// "drive", "directory", "reports").
func stop(ctx context.Context, base, api, id, resourceID string) error {
	switch api {
	case "calendar":
		svc, err := calendar.NewService(ctx, opts(base, "/calendar/v3/")...)
		if err != nil {
			return err
		}
		return svc.Channels.Stop(&calendar.Channel{Id: id, ResourceId: resourceID}).Context(ctx).Do()
	case "drive":
		svc, err := drive.NewService(ctx, opts(base, "/drive/v3/")...)
		if err != nil {
			return err
		}
		return svc.Channels.Stop(&drive.Channel{Id: id, ResourceId: resourceID}).Context(ctx).Do()
	case "directory":
		svc, err := directory.NewService(ctx, opts(base, "/")...)
		if err != nil {
			return err
		}
		return svc.Channels.Stop(&directory.Channel{Id: id, ResourceId: resourceID}).Context(ctx).Do()
	case "reports":
		svc, err := reports.NewService(ctx, opts(base, "/")...)
		if err != nil {
			return err
		}
		return svc.Channels.Stop(&reports.Channel{Id: id, ResourceId: resourceID}).Context(ctx).Do()
	}
	return fmt.Errorf("unknown api %q", api)
}

// apiOf names the API whose channels.stop closes kind's channels.
func apiOf(kind string) string {
	switch {
	case strings.HasPrefix(kind, "calendar."):
		return "calendar"
	case strings.HasPrefix(kind, "drive."):
		return "drive"
	case strings.HasPrefix(kind, "admin.directory."):
		return "directory"
	}
	return "reports"
}

// received is one notification as the receiver saw it.
type received struct {
	Header http.Header
	Body   string
	At     time.Time
}

// receiver is a webhook that records what it gets and answers the statuses
// queued with respond, then 200.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	statuses []int
	hold     chan struct{} // when set, requests wait for it to close before answering
	delay    time.Duration // added before every answer
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{Header: req.Header.Clone(), Body: string(b), At: time.Now()})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		hold, delay := r.hold, r.delay
		r.mu.Unlock()
		if hold != nil {
			<-hold
		}
		time.Sleep(delay)
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// respond queues statuses for the next requests.
func (r *receiver) respond(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, statuses...)
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// start runs a simulator for one test.
func start(t *testing.T, o googlesim.Options) *googlesim.Sim {
	t.Helper()
	if o.RetryBase == 0 {
		o.RetryBase = 5 * time.Millisecond
	}
	s, err := googlesim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func flush(t *testing.T, s *googlesim.Sim) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
