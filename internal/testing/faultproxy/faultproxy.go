// Package faultproxy puts a loopback TCP proxy between a client and an
// emulator that a test makes refuse or hang, and restores: the real faults
// of a dependency that is down or partitioned, met by the real clients and
// their own retry policies, rather than a mock's answers.
package faultproxy

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Mode is how a Proxy treats traffic.
type Mode int

const (
	// Pass forwards every byte both ways.
	Pass Mode = iota
	// Refuse closes the listening socket and resets every open
	// connection: a dial gets ECONNREFUSED, as from a host whose service is
	// down or a firewall that rejects.
	Refuse
	// Hang accepts connections and never answers them, and freezes the
	// open ones mid-stream: a black hole, as from a partition or a
	// dependency that has stopped serving but still holds its port.
	Hang
)

// String names the mode, as test logs show it.
func (m Mode) String() string {
	return [...]string{"pass", "refuse", "hang"}[m]
}

// Proxy is a loopback TCP proxy in front of an emulator that can be made
// to refuse or to hang, and restored, at the same address: the clients
// behind it see their service go away and come back, so recovery is that
// of the very clients the code under test holds.
type Proxy struct {
	// Addr is where clients connect (host:port).
	Addr   string
	t      testing.TB
	target string

	mu    sync.Mutex
	cond  *sync.Cond // broadcast when mode leaves hang
	mode  Mode
	ln    net.Listener
	conns map[net.Conn]bool
}

// New starts a Proxy to target (host:port), passing traffic; it refuses
// from the end of the test on.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), t: t, target: target, ln: ln, conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() { p.Set(Refuse) })
	go p.serve(ln)
	return p
}

// Set changes the mode. Leaving Refuse listens again on the same address.
func (p *Proxy) Set(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.mode
	p.mode = m
	switch {
	case m == Refuse && old != Refuse:
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
	case m != Refuse && old == Refuse:
		// Linux lets a listener bind the port its predecessor held
		// (Go sets SO_REUSEADDR); retry briefly in case the old one
		// has not let go yet.
		var err error
		for i := 0; i < 50; i++ {
			var ln net.Listener
			if ln, err = net.Listen("tcp", p.Addr); err == nil {
				p.ln = ln
				go p.serve(ln)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			p.t.Errorf("faultproxy: listen again on %s: %v", p.Addr, err)
		}
	}
	if m != Hang {
		p.cond.Broadcast()
	}
}

func (p *Proxy) serve(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.mode == Refuse { // closed a moment ago
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
func (p *Proxy) forward(in net.Conn) {
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
	if p.mode == Refuse {
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
func (p *Proxy) gate() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode == Hang {
		p.cond.Wait()
	}
	return p.mode == Pass
}

// copy moves bytes from src to dst, holding each chunk while the proxy
// hangs, so that an open connection freezes rather than fails.
func (p *Proxy) copy(dst, src net.Conn) {
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
