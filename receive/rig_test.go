package receive_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// Where receive and the stores meet: both stores serve the handler.
var (
	_ receive.Channels  = (*store.Memory)(nil)
	_ receive.Channels  = (*store.Firestore)(nil)
	_ receive.Publisher = (*event.Publisher)(nil)
)

func TestMain(m *testing.M) { emulator.Main(m) }

// policy is Receive's publisher policy at the default deadline, as the
// service builds it.
var policy = receive.PublishPolicy(config.Defaults.ReceiveTimeout)

// t0 is the receiving time of every fast test: a fixed clock makes the
// events' receivedAt and ce-time exact (to the millisecond they keep).
var t0 = time.Date(2026, 11, 22, 8, 0, 0, 123_456_789, time.UTC)

// fixture is one of Google's documented notification requests, read from
// testdata/google (see its README for the provenance and the only changes).
type fixture struct {
	lines []headerLine // as documented: names in their case, values untrimmed
	body  []byte
}

type headerLine struct{ name, value string }

func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "google", name))
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	var f fixture
	for i, line := range strings.Split(strings.TrimSuffix(string(head), "\n"), "\n") {
		// The guides annotate lines with " // comment"; the request
		// line's URL contains "//" but never " // ".
		line, _, _ = strings.Cut(line, " // ")
		if i == 0 {
			if !strings.HasPrefix(line, "POST ") {
				t.Fatalf("%s: first line %q is not a POST", name, line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: header line %q has no colon", name, line)
		}
		if v == " expiration-date-and-time" { // the sync example's placeholder
			v = " Tue, 19 Nov 2013 01:13:52 GMT"
		}
		f.lines = append(f.lines, headerLine{k, v})
	}
	f.body = body
	return f
}

// rawHeader is the fixture as a map built by hand: names as documented (not
// canonical), values with their leading spaces.
func (f fixture) rawHeader() http.Header {
	h := http.Header{}
	for _, l := range f.lines {
		h[l.name] = append(h[l.name], l.value)
	}
	return h
}

// wire is the fixture as the bytes of an HTTP/1.1 request to path, with the
// documented header lines unchanged but for Content-Length, computed.
func (f fixture) wire(path string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", path)
	for _, l := range f.lines {
		if strings.EqualFold(l.name, "Content-Length") {
			continue
		}
		fmt.Fprintf(&b, "%s:%s\r\n", l.name, l.value)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(f.body))
	b.Write(f.body)
	return b.Bytes()
}

// sendRaw writes a raw request to a loopback server and reads the answer.
func sendRaw(t testing.TB, srv *httptest.Server, raw []byte) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// logBuffer collects log lines; the handler may log from several requests.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is a Handler on the memory store and an in-process Pub/Sub.
type rig struct {
	store   *store.Memory
	pubsub  *inproc.Server
	events  *event.Publisher
	handler *receive.Handler
	logs    *logBuffer
}

const testProject = "watchrelay-test"

// newRig builds a rig; channels (tokens in the clear) are stored first.
// with, when set, changes the Deps before New.
func newRig(t testing.TB, channels map[string]testChannel, with func(*receive.Deps), opts ...pstest.ServerReactorOption) *rig {
	t.Helper()
	ctx := context.Background()
	ps, err := inproc.Start(ctx, testProject, "events", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	pub, err := event.NewPublisher(ps.Client, "events", policy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Stop)
	r := &rig{store: store.NewMemory(), pubsub: ps, events: pub, logs: &logBuffer{}}
	for id, c := range channels {
		if err := r.store.CreateChannel(ctx, c.channel(id)); err != nil {
			t.Fatal(err)
		}
	}
	d := receive.Deps{
		Channels:  r.store,
		Publisher: pub,
		Logger:    logging.New(r.logs, slog.LevelDebug),
		Now:       func() time.Time { return t0 },
		Project:   testProject,
		Timeout:   2 * time.Second,
	}
	if with != nil {
		with(&d)
	}
	r.handler, err = receive.New(d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testChannel is a channel as a test states it: with its token.
type testChannel struct {
	watch, kind, token, resourceID, resourceURI string
	state                                       store.ChannelState
	acceptUntil                                 time.Time
	labels                                      map[string]string
}

func (c testChannel) channel(id string) store.Channel {
	state := c.state
	if state == "" {
		state = store.ChannelActive
	}
	return store.Channel{
		ID: id, WatchID: c.watch, Kind: c.kind, ResourceID: c.resourceID, ResourceURI: c.resourceURI,
		TokenHash: store.HashToken(c.token), State: state, AcceptUntil: c.acceptUntil,
		Expiration: t0.Add(time.Hour), Labels: c.labels, CreatedAt: t0.Add(-time.Hour),
	}
}

// serve runs one request through the handler.
func (r *rig) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.handler.ServeHTTP(w, req)
	return w
}

// notification builds a request with Google's headers for the named
// channel; kv pairs then set (or, with an empty value, delete) headers.
func notification(channelID, token, resourceID, state string, number int64, kv ...string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/receive", nil)
	h := req.Header
	h.Set(receive.HeaderChannelID, channelID)
	h.Set(receive.HeaderMessageNumber, strconv.FormatInt(number, 10))
	h.Set(receive.HeaderResourceID, resourceID)
	h.Set(receive.HeaderResourceState, state)
	h.Set(receive.HeaderResourceURI, "https://www.googleapis.com/calendar/v3/calendars/primary/events")
	h.Set(receive.HeaderChannelExpiration, "Tue, 24 Nov 2026 08:00:00 GMT")
	if token != "" {
		h.Set(receive.HeaderChannelToken, token)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			h.Del(kv[i])
		} else {
			h.Set(kv[i], kv[i+1])
		}
	}
	return req
}
