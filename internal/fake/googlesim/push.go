package googlesim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/internal/wait"
)

// Header names exactly as Google spells them on the wire.
const (
	HeaderChannelID         = "X-Goog-Channel-ID"
	HeaderChannelToken      = "X-Goog-Channel-Token"
	HeaderChannelExpiration = "X-Goog-Channel-Expiration"
	HeaderMessageNumber     = "X-Goog-Message-Number"
	HeaderResourceID        = "X-Goog-Resource-ID"
	HeaderResourceState     = "X-Goog-Resource-State"
	HeaderResourceURI       = "X-Goog-Resource-URI"
	HeaderChanged           = "X-Goog-Changed"
)

// userAgent is what Google's push service sends.
const userAgent = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"

// driveChangesBody is the body of every Drive changes notification.
const driveChangesBody = `{"kind":"drive#changes"}`

// Delivery is one attempt to deliver one message.
type Delivery struct {
	ChannelID     string
	MessageNumber int64
	State         string
	Attempt       int       // 1 for the first try
	Status        int       // the receiver's status; 0 when there was no answer
	Err           string    // the transport error when there was no answer
	OK            bool      // Status is one Google counts as success
	At            time.Time // by Options.Now
}

// PushOption adds to a notification.
type PushOption func(*pushOptions)

type pushOptions struct {
	changed []string
	body    string // JSON the notification carries (the Admin SDK's resource); "" for none
}

// Changed sets X-Goog-Changed (Drive sends it with state update), e.g.
// Changed("content", "properties").
func Changed(what ...string) PushOption {
	return func(o *pushOptions) { o.changed = append(o.changed, what...) }
}

// message is one notification and where it goes.
type message struct {
	channelID  string
	kind       string
	number     int64
	header     http.Header
	body       string
	address    string
	expiration time.Time
}

// message builds c's next message; s.mu must be held. The sync message is
// number 1; later numbers grow by a random step of 2 to 10, so they
// increase without being consecutive.
func (s *Sim) message(c *channel, state string, o pushOptions) message {
	if state == "sync" && c.lastNumber == 0 {
		c.lastNumber = 1
	} else {
		c.lastNumber += 2 + s.rng.Int64N(9)
	}
	h := http.Header{}
	set := func(k, v string) { h[k] = []string{v} } // keep Google's spelling
	set(HeaderChannelID, c.ID)
	set(HeaderChannelExpiration, c.Expiration.UTC().Format(http.TimeFormat))
	set(HeaderMessageNumber, strconv.FormatInt(c.lastNumber, 10))
	set(HeaderResourceID, c.ResourceID)
	set(HeaderResourceState, state)
	set(HeaderResourceURI, c.ResourceURI)
	if c.Token != "" {
		set(HeaderChannelToken, c.Token)
	}
	if len(o.changed) > 0 {
		set(HeaderChanged, strings.Join(o.changed, ","))
	}
	set("User-Agent", userAgent)
	m := message{
		channelID:  c.ID,
		kind:       c.Kind,
		number:     c.lastNumber,
		header:     h,
		address:    c.Address,
		expiration: c.Expiration,
	}
	switch {
	case o.body != "":
		m.body = o.body
		set("Content-Type", "application/json; charset=UTF-8")
	case c.Kind == KindDriveChanges:
		m.body = driveChangesBody
		set("Content-Type", "application/json; charset=UTF-8")
	}
	s.stats.Messages++
	return m
}

// Push sends a notification with state (exists, not_exists, add, update,
// change, ...) on one live channel. It returns once the message is queued;
// Flush waits for its delivery.
func (s *Sim) Push(channelID, state string, opts ...PushOption) error {
	var o pushOptions
	for _, f := range opts {
		f(&o)
	}
	s.mu.Lock()
	c, ok := s.channels[channelID]
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownChannel, channelID)
	case !c.live(s.opts.Now()) || s.deleted[c.ResourceID]:
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotLive, channelID)
	}
	s.changed(c)
	m := s.message(c, state, o)
	s.begin()
	s.mu.Unlock()
	go s.deliver(m, nil)
	return nil
}

// PushResource sends a notification on every live channel of a resource
// and returns how many were queued: none when the resource was deleted.
func (s *Sim) PushResource(resourceID, state string, opts ...PushOption) (int, error) {
	var o pushOptions
	for _, f := range opts {
		f(&o)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	msgs := s.queue(resourceID, state, o, true)
	s.mu.Unlock()
	s.dispatch(msgs)
	return len(msgs), nil
}

// queue builds a message for every live channel of a resource, unless it
// was deleted or the simulator closed, and counts them in flight; s.mu
// must be held. advance says whether a drive changes notification moves
// the start page token (a bare push does; an edit has already moved it).
func (s *Sim) queue(resourceID, state string, o pushOptions, advance bool) []message {
	if s.closed || s.deleted[resourceID] {
		return nil
	}
	var msgs []message
	now := s.opts.Now()
	for _, c := range s.byResource[resourceID] {
		if c.live(now) {
			if advance {
				s.changed(c)
			}
			msgs = append(msgs, s.message(c, state, o))
			s.begin()
		}
	}
	return msgs
}

// dispatch delivers queued messages, each on its own.
func (s *Sim) dispatch(msgs []message) {
	for _, m := range msgs {
		go s.deliver(m, nil)
	}
}

// changed advances a drive's start page token when its change feed gets a
// notification; s.mu must be held.
func (s *Sim) changed(c *channel) {
	if c.Kind == KindDriveChanges {
		s.pageTokens[c.Params["driveId"]]++
	}
}

// Deliveries returns every delivery attempt so far, in the order made.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	copy(out, s.deliveries)
	return out
}

// Flush waits until no delivery is in flight (retries included) or ctx
// ends.
func (s *Sim) Flush(ctx context.Context) error {
	s.mu.Lock()
	if s.inflight == 0 {
		s.mu.Unlock()
		return nil
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		// A delivery queued after idle closed is waited for too.
		return s.Flush(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// success reports whether Google counts status as delivered.
func success(status int) bool {
	switch status {
	case 200, 201, 202, 204, 102:
		return true
	}
	return false
}

// retryable reports whether Google retries after status; 0 means no answer.
func retryable(status int) bool {
	switch status {
	case 0, 500, 502, 503, 504:
		return true
	}
	return false
}

// deliver sends m until it succeeds, fails for good, or runs out of
// attempts, backing off exponentially between attempts. first, when set, is
// closed once the first attempt is answered. The caller has counted m in
// flight.
func (s *Sim) deliver(m message, first chan struct{}) {
	defer s.end()
	delay := s.opts.RetryBase
	for attempt := 1; ; attempt++ {
		status, err := s.send(m)
		d := Delivery{
			ChannelID:     m.channelID,
			MessageNumber: m.number,
			State:         m.header.Get(HeaderResourceState),
			Attempt:       attempt,
			Status:        status,
			OK:            success(status),
		}
		if err != nil {
			d.Err = err.Error()
		}
		giveUp := !d.OK && (!retryable(status) || attempt >= s.opts.MaxAttempts || s.ctx.Err() != nil)
		s.mu.Lock()
		d.At = s.opts.Now()
		s.deliveries = append(s.deliveries, d)
		s.stats.Attempts++
		if d.OK {
			s.stats.Delivered++
		} else if giveUp {
			s.stats.Undelivered++
		}
		s.mu.Unlock()
		if first != nil {
			close(first)
			first = nil
		}
		if d.OK || giveUp {
			return
		}
		if wait.Sleep(s.ctx, delay) != nil {
			s.mu.Lock()
			s.stats.Undelivered++
			s.mu.Unlock()
			return
		}
		delay *= 2
	}
}

// send makes one attempt; status is 0 when the receiver did not answer.
func (s *Sim) send(m message) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, m.address, strings.NewReader(m.body))
	if err != nil {
		return 0, err
	}
	for k, v := range m.header {
		req.Header[k] = v
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
