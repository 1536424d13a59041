package googlesim

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sentinel errors of Push and PushResource.
var (
	// ErrUnknownChannel: no watch ever opened a channel with this id.
	ErrUnknownChannel = errors.New("googlesim: unknown channel")
	// ErrNotLive: the channel was stopped, has expired, or its resource was
	// deleted, so Google would send nothing on it.
	ErrNotLive = errors.New("googlesim: channel not live")
	// ErrClosed: the simulator was closed.
	ErrClosed = errors.New("googlesim: closed")
)

// SyncOrder says when the sync message of a new channel is pushed relative
// to the watch response.
type SyncOrder int

const (
	// SyncRandom picks SyncFirst or SyncAfter per watch, from Options.Seed.
	SyncRandom SyncOrder = iota
	// SyncFirst delivers the sync message (its first attempt has been
	// answered) before the watch response is written.
	SyncFirst
	// SyncAfter pushes the sync message once the watch response is written.
	SyncAfter
)

// Options configure a simulator. The zero value is usable.
type Options struct {
	// Now is the clock channels expire by; default time.Now.
	Now func() time.Time
	// Seed seeds the sync order (SyncRandom) and the gaps between message
	// numbers, so a run can be replayed.
	Seed uint64
	// Sync orders the sync message and the watch response.
	Sync SyncOrder
	// Latency is added to every API call (watch, stop, startPageToken,
	// list, get), for benchmarks.
	Latency time.Duration
	// PageSize is the page size of a list call that asks for none
	// (maxResults, pageSize); default 20, so tests page without filling
	// hundreds of items. Google's defaults are 250 for events, 100
	// otherwise. What a call asks for is honoured up to Google's maximum.
	PageSize int
	// RetryBase is the delay before the first retry of a delivery; it
	// doubles after each. Default 1s; tests set a few milliseconds.
	RetryBase time.Duration
	// MaxAttempts bounds the attempts per message, retries included.
	// Default 5. Google does not publish its own bound.
	MaxAttempts int
	// Client sends the notifications; default an http.Client with a 10 s
	// timeout.
	Client *http.Client
	// Publish publishes a Gmail push to a Pub/Sub topic (the watch's
	// topicName), as Gmail does; nil publishes nothing. It is called
	// outside the simulator's lock, from the edit that made the change.
	Publish func(topic string, data []byte) error
}

// Channel is one channel as the simulator holds it.
type Channel struct {
	ID          string
	Kind        string
	Params      map[string]string // the watched resource's parameters (calendarId, fileId, ...)
	Subject     string            // the delegated user whose token opened it; "" for the service account
	ResourceID  string
	ResourceURI string
	Address     string
	Token       string // as the client set it, echoed in X-Goog-Channel-Token
	Expiration  time.Time
	CreatedAt   time.Time
	StoppedAt   time.Time // zero until channels.stop succeeded
}

// Stats counts the calls the simulator answered and the deliveries it made.
type Stats struct {
	WatchCalls     int // watch calls received, whatever the answer
	WatchOK        int // watch calls that opened a channel
	StopCalls      int // channels.stop calls received
	StopOK         int // channels.stop calls that stopped a channel
	PageTokenCalls int // changes.getStartPageToken calls
	ListCalls      int // list calls (events, calendarList, acl, settings, changes), whatever the answer
	GetCalls       int // files.get calls, whatever the answer
	Dropped        int // calls a Hold kept until their client gave up; counted nowhere else
	Messages       int // notifications queued, sync messages included
	Attempts       int // delivery attempts, retries included
	Delivered      int // messages answered with a success status
	Undelivered    int // messages given up (non-retryable status or attempts exhausted)
}

// Sim is a simulated Google. Create it with New (then serve Handler) or
// Start (a loopback server at URL).
type Sim struct {
	// URL is the base URL of a server created by Start, without a
	// trailing slash; empty for New.
	URL string

	opts Options
	mux  *http.ServeMux
	srv  *http.Server

	ctx    context.Context // canceled by Close: stops retries and sends
	cancel context.CancelFunc
	once   sync.Once

	mu         sync.Mutex
	channels   map[string]*channel            // every channel ever opened, by id
	byResource map[string]map[string]*channel // resource id → channel id → channel
	deleted    map[string]bool                // resource ids
	revoked    map[string]bool                // subjects whose grant was revoked ("" the service account)
	pageTokens map[string]int64               // drive id → number of the drive's last change
	data       model                          // the listed items and change feeds (resources.go)
	gmail      gmailData                      // the Gmail mailboxes (gmail.go)
	next       []*nextFailure
	failures   map[int]*persistentFailure
	failureSeq int
	holds      []*hold
	rng        *rand.Rand
	deliveries []Delivery
	stats      Stats
	inflight   int
	idle       chan struct{} // closed when inflight drops to 0
	closed     bool
}

type channel struct {
	Channel
	lastNumber int64
}

// New returns a simulator; serve it with Handler, and Close it to stop
// pending deliveries.
func New(opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 20
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sim{
		opts:       opts,
		ctx:        ctx,
		cancel:     cancel,
		channels:   make(map[string]*channel),
		byResource: make(map[string]map[string]*channel),
		deleted:    make(map[string]bool),
		revoked:    make(map[string]bool),
		pageTokens: make(map[string]int64),
		data:       newModel(),
		failures:   make(map[int]*persistentFailure),
		rng:        rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
	}
	s.mux = s.routes()
	return s
}

// Start returns a simulator served on a loopback port, like
// httptest.NewServer; its base URL is s.URL.
func Start(opts Options) (*Sim, error) {
	s := New(opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.URL = "http://" + l.Addr().String()
	go s.srv.Serve(l) //nolint:errcheck // ends with ErrServerClosed on Close
	return s, nil
}

// Handler serves the API endpoints under Google's paths.
func (s *Sim) Handler() http.Handler { return s.mux }

// Close stops the server (if Start made one), abandons pending retries and
// waits for deliveries in flight to return.
func (s *Sim) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		if s.srv != nil {
			s.srv.Close()
		}
		s.Flush(context.Background()) //nolint:errcheck // cannot fail without a deadline
	})
}

// Live returns the channels Google would still push to or could still
// stop: not stopped and not expired, sorted by id. Channels on a deleted
// resource stay live until stopped or expired (they get no pushes).
func (s *Sim) Live() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	var out []Channel
	for _, c := range s.channels {
		if c.live(now) {
			out = append(out, c.copy())
		}
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Channel returns a channel by id, live or not.
func (s *Sim) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return c.copy(), true
}

// Stats returns the counters so far.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// DeleteResource makes a resource gone: watch, list and get calls on it
// are answered 404 notFound and its channels get no more pushes.
func (s *Sim) DeleteResource(resourceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted[resourceID] = true
}

// RestoreResource undoes DeleteResource.
func (s *Sim) RestoreResource(resourceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.deleted, resourceID)
}

func (c *channel) live(now time.Time) bool {
	return c.StoppedAt.IsZero() && now.Before(c.Expiration)
}

func (c *channel) copy() Channel {
	out := c.Channel
	out.Params = make(map[string]string, len(c.Params))
	for k, v := range c.Params {
		out.Params[k] = v
	}
	return out
}

// begin counts a delivery in flight; s.mu must be held.
func (s *Sim) begin() {
	if s.inflight == 0 {
		s.idle = make(chan struct{})
	}
	s.inflight++
}

func (s *Sim) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.inflight == 0 {
		close(s.idle)
	}
}

// sleep waits d unless ctx ends first.
