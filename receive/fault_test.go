package receive_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// faultMode is how a fault proxy treats traffic.
type faultMode int

const (
	// pass forwards every byte both ways.
	pass faultMode = iota
	// refuse closes the listening socket and resets every open
	// connection: a dial gets ECONNREFUSED, as from a host whose service is
	// down or a firewall that rejects.
	refuse
	// hang accepts connections and never answers them, and freezes the
	// open ones mid-stream: a black hole, as from a partition or a
	// dependency that has stopped serving but still holds its port.
	hang
)

func (m faultMode) String() string {
	return [...]string{"pass", "refuse", "hang"}[m]
}

// faultProxy is a loopback TCP proxy in front of an emulator that can be
// made to refuse or to hang, and restored, at the same address: the clients
// behind it see their service go away and come back, so recovery is that of
// the very clients Receive holds.
type faultProxy struct {
	t      testing.TB
	addr   string
	target string

	mu    sync.Mutex
	cond  *sync.Cond // broadcast when mode leaves hang
	mode  faultMode
	ln    net.Listener
	conns map[net.Conn]bool
}

func newFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() { p.set(refuse) })
	go p.serve(ln)
	return p
}

// set changes the mode. Leaving refuse listens again on the same address.
func (p *faultProxy) set(m faultMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.mode
	p.mode = m
	switch {
	case m == refuse && old != refuse:
		p.ln.Close()
		for c := range p.conns {
			// A reset, not a polite FIN: the peer's next read fails
			// at once, as when the far host has lost the connection.
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			c.Close()
		}
		clear(p.conns)
	case m != refuse && old == refuse:
		// Linux lets a listener bind the port its predecessor held
		// (Go sets SO_REUSEADDR); retry briefly in case the old one
		// has not let go yet.
		var err error
		for i := 0; i < 50; i++ {
			var ln net.Listener
			if ln, err = net.Listen("tcp", p.addr); err == nil {
				p.ln = ln
				go p.serve(ln)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			p.t.Errorf("fault proxy: listen again on %s: %v", p.addr, err)
		}
	}
	if m != hang {
		p.cond.Broadcast()
	}
}

func (p *faultProxy) serve(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.mode == refuse { // closed a moment ago
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns[in] = true
		p.mu.Unlock()
		go p.forward(in)
	}
}

// forward connects in to the target once the proxy is not hanging, then
// copies both ways through the gate.
func (p *faultProxy) forward(in net.Conn) {
	if !p.gate() {
		in.Close()
		return
	}
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		in.Close()
		return
	}
	p.mu.Lock()
	if p.mode == refuse {
		p.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	p.conns[out] = true
	p.mu.Unlock()
	go p.copy(out, in)
	p.copy(in, out)
}

// gate waits while the proxy hangs; false once it refuses.
func (p *faultProxy) gate() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode == hang {
		p.cond.Wait()
	}
	return p.mode == pass
}

// copy moves bytes from src to dst, holding each chunk while the proxy
// hangs, so that an open connection freezes rather than fails.
func (p *faultProxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// faultRig is a Handler whose Firestore and Pub/Sub clients reach the
// emulators through fault proxies, built as internal/service builds them
// (store.DialEmulator, event.NewPublisher, the publisher's timeout from the
// deadline); the test reads the topic straight from the emulator.
type faultRig struct {
	emuRig
	handler           *receive.Handler
	logs              *logBuffer
	firestore, pubsub *faultProxy
}

// faultChannel is the rig's channel; its notifications are emuRequest's.
const faultChannel = "emu-live"

func newFaultRig(t testing.TB, deadline time.Duration, maxInFlight int) *faultRig {
	t.Helper()
	space := backend.New(t)
	ctx := context.Background()
	r := &faultRig{
		logs:      &logBuffer{},
		firestore: newFaultProxy(t, space.Hosts.Firestore),
		pubsub:    newFaultProxy(t, space.Hosts.Pubsub),
	}

	fs := space.FirestoreOn(t, backend.Dial(t, r.firestore.addr))
	if err := fs.CreateChannel(ctx, store.Channel{
		ID: faultChannel, WatchID: "w-emu", Kind: "drive.files", ResourceID: "file-1",
		TokenHash: store.HashToken(emuToken), State: store.ChannelActive, Expiration: emuNow.Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}

	direct := space.PubSub(t)
	proxied := space.PubSub(t, option.WithEndpoint(r.pubsub.addr))
	topic, sub := emuTopic(t, direct, space.Project)
	r.emuRig = emuRig{store: fs, client: direct, sub: sub}
	pub, err := event.NewPublisher(proxied, topic)
	if err != nil {
		t.Fatal(err)
	}
	pub.SetTimeout(receive.PublishTimeout(deadline))
	t.Cleanup(pub.Stop)
	r.handler, err = receive.New(receive.Deps{
		Channels: fs, Publisher: pub, Logger: logging.New(r.logs, slog.LevelDebug),
		Now: func() time.Time { return emuNow }, Timeout: deadline, MaxInFlight: maxInFlight,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// serve sends Google's notification number to the rig's channel, and
// says how it was answered and how long that took.
func (r *faultRig) serve(number int) (int, time.Duration) {
	start := time.Now()
	w := httptest.NewRecorder()
	r.handler.ServeHTTP(w, emuRequest(faultChannel, emuToken, "file-1", "update", number))
	return w.Code, time.Since(start)
}

// retry serves number as Google does after a 503, with backoff, until it
// is acknowledged; false if it never is within wait.
func (r *faultRig) retry(number int, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if code, _ := r.serve(number); code == http.StatusOK {
			return true
		}
	}
	return false
}

// TestReceiveOutagesOnEmulators puts a proxy that refuses, then one that
// hangs, between a running Handler and each emulator in turn: refused, a
// notification is answered 503 within 2 s; hanging, within the deadline;
// past MaxInFlight notifications held by the hang, at once. Every outage is
// logged at ERROR. Once the service is back, Google's retries, on the same
// Handler and clients, are acknowledged, and every notification ever
// acknowledged has its event on the topic.
func TestReceiveOutagesOnEmulators(t *testing.T) {
	t.Parallel()
	const (
		// Long enough that a refusal retried until the store's half of
		// it, or the publisher's, would miss refusedWithin by far.
		deadline    = 6 * time.Second
		maxInFlight = 3
		// Generous on a loaded 2-core machine: the figures are logged
		// here and measured by BenchmarkReceiveOutage (bench/README.md).
		refusedWithin = 2 * time.Second
		atOnce        = time.Second
		slack         = time.Second
	)
	r := newFaultRig(t, deadline, maxInFlight)

	number := 10
	acked := map[int]bool{}
	if code, _ := r.serve(number); code != http.StatusOK {
		t.Fatalf("before any outage: status %d, want 200", code)
	}
	acked[number] = true

	for _, dep := range []struct {
		name  string
		proxy *faultProxy
	}{{"firestore", r.firestore}, {"pubsub", r.pubsub}} {
		for _, mode := range []faultMode{refuse, hang} {
			name := dep.name + " " + mode.String()
			dep.proxy.set(mode)
			number++
			sent := []int{number}
			code, took := r.serve(number)
			t.Logf("%s: %d after %v", name, code, took.Round(time.Millisecond))
			if code != http.StatusServiceUnavailable {
				t.Fatalf("%s: status %d, want 503", name, code)
			}
			switch within := deadline + slack; {
			case mode == refuse && took > refusedWithin:
				t.Errorf("%s: answered after %v, want within %v", name, took, refusedWithin)
			case mode == hang && took > within:
				t.Errorf("%s: answered after %v, want within the %v deadline", name, took, deadline)
			}

			if mode == hang {
				// maxInFlight notifications held by the hang; the next
				// is answered at once.
				var held sync.WaitGroup
				codes := make(chan int, maxInFlight)
				for range maxInFlight {
					number++
					sent = append(sent, number)
					n := number
					held.Go(func() {
						code, _ := r.serve(n)
						codes <- code
					})
				}
				for wait := time.Now().Add(deadline / 4); r.handler.InFlight() < maxInFlight && time.Now().Before(wait); {
					time.Sleep(5 * time.Millisecond)
				}
				if n := r.handler.InFlight(); n != maxInFlight {
					t.Fatalf("%s: %d notifications in flight, want %d held", name, n, maxInFlight)
				}
				number++
				sent = append(sent, number)
				code, took := r.serve(number)
				t.Logf("%s, %d in flight: %d after %v", name, maxInFlight, code, took.Round(time.Microsecond))
				if code != http.StatusServiceUnavailable || took > atOnce {
					t.Errorf("%s, %d in flight: status %d after %v, want 503 at once", name, maxInFlight, code, took)
				}
				held.Wait()
				close(codes)
				for code := range codes {
					if code != http.StatusServiceUnavailable {
						t.Errorf("%s: a held notification was answered %d, want 503", name, code)
					}
				}
			}

			dep.proxy.set(pass)
			start := time.Now()
			for _, n := range sent {
				if !r.retry(n, 45*time.Second) {
					t.Fatalf("%s, back: notification %d is still refused", name, n)
				}
				acked[n] = true
			}
			t.Logf("%s, back: every retry acknowledged within %v", name, time.Since(start).Round(time.Millisecond))
		}
	}

	// No notification acknowledged without its event. A publish that hung
	// may land once the connection thaws, beside its retry's: the same
	// ce-id, which subscribers dedupe on.
	published := map[string]bool{}
	for _, m := range r.receive(t, len(acked)*3, 10*time.Second) {
		published[m.Attributes["ce-id"]] = true
	}
	for n := range acked {
		if id := fmt.Sprintf("%s/%d", faultChannel, n); !published[id] {
			t.Errorf("notification %d was acknowledged, but its event %s never arrived", n, id)
		}
	}
	for id := range published {
		if n, ok := strings.CutPrefix(id, faultChannel+"/"); !ok || !acked[atoi(t, n)] {
			t.Errorf("event %s stands for no notification that was sent", id)
		}
	}
	if n := strings.Count(r.logs.String(), `"severity":"ERROR"`); n < 4 {
		t.Errorf("%d notifications logged at ERROR, want one per outage at least:\n%s", n, r.logs)
	}
	if strings.Contains(r.logs.String(), emuToken) {
		t.Errorf("the token reached the log")
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
