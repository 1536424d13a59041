// Package service assembles watchrelay's running parts from one Config: the
// store, the event publisher, the Google API clients, Receive, Renew and
// Sync. The
// Cloud Functions entry points (function.go) and the CLI both build through
// it, so a local `watchrelay serve` behaves as the deployment does.
//
// It builds production parts only: Firestore and Pub/Sub, in a project or
// on their emulators (the topic is created on an emulator). The embedded
// defaults, an in-memory store and an in-process Pub/Sub, are not reachable
// from here: the CLI and tests choose them and hand them in through
// Options, so the deployed function (function.go) cannot run on them.
package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/uuid"
	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// Store is what the three functions need of a store.
type Store interface {
	receive.Channels
	receive.Strays
	renew.Store
	changes.Store
	CreateWatch(ctx context.Context, w store.Watch) error
	CreateChannel(ctx context.Context, c store.Channel) error
}

// The two stores meet both functions' needs.
var (
	_ Store = (*store.Memory)(nil)
	_ Store = (*store.Firestore)(nil)
)

// LocalProject names the project of the emulators and of the embedded
// defaults when GOOGLE_CLOUD_PROJECT is unset.
const LocalProject = "watchrelay-local"

// ErrNoProject: nothing names a project or an emulator, and no store or
// Pub/Sub client was handed in. The deployed function fails this way when
// GOOGLE_CLOUD_PROJECT is missing, rather than serve from one instance's
// memory and acknowledge notifications no subscriber would ever get.
var ErrNoProject = errors.New("service: GOOGLE_CLOUD_PROJECT is not set (nor FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST)")

// Service is watchrelay, assembled.
type Service struct {
	Config     config.Config
	Store      Store
	Google     *google.APIs
	Publishers Publishers
	Receive    *receive.Handler
	Renew      *renew.Pass
	Sync       *changes.Syncer
	Logger     *slog.Logger

	pubsub  *pubsub.Client
	project string
	closers []func() error
}

// Publishers are the event publishers of Receive, Renew and Sync, one each,
// on one Pub/Sub client, each under the policy its part's contract needs
// (docs/DESIGN.md, "Publishers by purpose").
type Publishers struct {
	Receive, Renew, Sync *event.Publisher
}

// Options adjust what New builds.
type Options struct {
	Logger *slog.Logger
	// Store replaces the Firestore store the config would select (the
	// CLI's embedded defaults and tests pass a *store.Memory).
	Store Store
	// PubSub replaces the Pub/Sub client the config would select (the
	// CLI's embedded defaults pass one connected to an in-process
	// Pub/Sub, with the topic made).
	PubSub *pubsub.Client
	// Release, when set, is called by Close after the service's own
	// parts: it frees what was handed in (the in-process Pub/Sub).
	Release func() error
	// Renew tunes the pass beyond the config (budget, clock, backoff); its
	// clock is Sync's too.
	Renew renew.Options
}

// New builds every part. Close releases them.
func New(ctx context.Context, cfg config.Config, opts Options) (*Service, error) {
	s := &Service{Config: cfg, Logger: opts.Logger, project: cfg.Project}
	if opts.Release != nil {
		s.closers = append(s.closers, opts.Release)
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.project == "" {
		s.project = LocalProject
	}
	if err := s.build(ctx, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) build(ctx context.Context, opts Options) error {
	cfg := s.Config
	// A renewal window that cannot hold two passes, or that every channel
	// of some kind falls in as it opens, is refused before anything runs.
	if err := google.CheckRenewBefore(cfg.RenewBefore, cfg.RenewInterval); err != nil {
		return err
	}
	if err := s.openStore(ctx, opts.Store); err != nil {
		return err
	}
	if err := s.openPubSub(ctx, opts.PubSub); err != nil {
		return err
	}
	deadline := cmp.Or(cfg.ReceiveTimeout, config.Defaults.ReceiveTimeout)
	if err := s.openPublishers(deadline); err != nil {
		return err
	}

	var err error
	s.Receive, err = receive.New(receive.Deps{
		Channels:    s.Store,
		Strays:      s.Store,
		Publisher:   s.Publishers.Receive,
		Logger:      s.Logger,
		Project:     cfg.Project,
		Timeout:     deadline,
		MaxInFlight: cfg.ReceiveMaxInFlight,
	})
	if err != nil {
		return err
	}

	s.Google, err = google.NewAPIs(ctx, google.APIConfig{BaseURL: cfg.APIBaseURL})
	if err != nil {
		return err
	}
	ro := opts.Renew
	ro.Address = cfg.Address
	ro.GmailTopic = s.topicName(cfg.GmailTopic)
	ro.EventsTopic = s.topicName(cfg.Topic)
	ro.RenewBefore = cfg.RenewBefore
	ro.Grace = cfg.Grace
	ro.Concurrency = cfg.RenewConcurrency
	ro.QPS = cfg.RenewQPS
	if ro.Logger == nil {
		ro.Logger = s.Logger
	}
	if s.Sync, err = changes.New(s.Store, s.Google, s.Publishers.Sync, changes.Options{
		Debounce: cfg.SyncDebounce, Timeout: cfg.SyncTimeout, Logger: s.Logger, Now: opts.Renew.Now,
	}); err != nil {
		return err
	}
	ro.Changes = s.Sync
	s.Renew, err = renew.New(s.Store, s.Google, s.Publishers.Renew, ro)
	return err
}

// openPublishers makes each part's publisher under its own policy:
// Receive's fails fast within its deadline, Sync's carries a page, Renew's
// keeps a pass moving.
func (s *Service) openPublishers(receiveDeadline time.Duration) error {
	for _, p := range []struct {
		pub    **event.Publisher
		policy event.Policy
	}{
		{&s.Publishers.Receive, receive.PublishPolicy(receiveDeadline)},
		{&s.Publishers.Renew, renew.PublishPolicy()},
		{&s.Publishers.Sync, changes.PublishPolicy()},
	} {
		pub, err := event.NewPublisher(s.pubsub, s.Config.Topic, p.policy)
		if err != nil {
			return err
		}
		*p.pub = pub
		s.closers = append(s.closers, func() error { pub.Stop(); return nil })
	}
	return nil
}

// openStore takes the store handed in, or opens Firestore in the project or
// on its emulator.
func (s *Service) openStore(ctx context.Context, given Store) error {
	cfg := s.Config
	switch {
	case given != nil:
		s.Store = given
		return nil
	case cfg.Project == "" && cfg.FirestoreEmulator == "":
		return ErrNoProject
	}
	var fopts []option.ClientOption
	if cfg.FirestoreEmulator != "" {
		// The library's own emulator connection would lack the
		// interceptors that let Receive fail fast (store.FailFast).
		conn, err := store.DialEmulator(cfg.FirestoreEmulator)
		if err != nil {
			return err
		}
		fopts = append(fopts, option.WithGRPCConn(conn))
	}
	fs, err := store.OpenFirestore(ctx, s.project, cfg.Database, fopts...)
	if err != nil {
		return err
	}
	s.Store = fs
	s.closers = append(s.closers, fs.Close)
	return nil
}

// openPubSub takes the client handed in, or connects to Pub/Sub in the
// project or on its emulator, where it makes the topic as Terraform would.
func (s *Service) openPubSub(ctx context.Context, given *pubsub.Client) error {
	cfg := s.Config
	switch {
	case given != nil:
		s.pubsub = given
		return nil
	case cfg.Project == "" && cfg.PubsubEmulator == "":
		return ErrNoProject
	}
	c, err := pubsub.NewClient(ctx, s.project)
	if err != nil {
		return fmt.Errorf("service: pubsub: %w", err)
	}
	s.pubsub = c
	s.closers = append(s.closers, c.Close)
	if cfg.PubsubEmulator != "" {
		return event.EnsureTopic(ctx, c, s.project, cfg.Topic)
	}
	return nil
}

// Mux serves Receive at /receive, Renew at /renew and Sync at /sync (a
// Pub/Sub push endpoint), as `serve` does.
func (s *Service) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/receive", s.Receive)
	mux.Handle("/renew", s.Renew)
	mux.Handle("/sync", s.Sync)
	return mux
}

// topicName is the full name of a topic of the service's project.
func (s *Service) topicName(id string) string { return "projects/" + s.project + "/topics/" + id }

// The subscriptions PullSync feeds Sync from: the events topic's
// notifications, and Gmail's pushes to the inbound topic.
const (
	SyncSubscription  = "watchrelay-sync"
	GmailSubscription = "watchrelay-gmail"
)

// PullSync wires Sync's trigger where no push subscription can reach it (the
// emulators, the embedded defaults): an unordered subscription of the topic,
// pulled until ctx ends, so that a notification posted to Receive yields its
// change events with no other step. It returns once the subscription exists;
// the channel reports how pulling ended. Deployed, Terraform's push
// subscription does this instead.
func (s *Service) PullSync(ctx context.Context) (<-chan error, error) {
	// Terraform makes the inbound Gmail topic in a deployment; here no
	// one else does.
	if err := event.EnsureTopic(ctx, s.pubsub, s.project, s.Config.GmailTopic); err != nil {
		return nil, err
	}
	subs := map[string]string{SyncSubscription: s.Config.Topic, GmailSubscription: s.Config.GmailTopic}
	done := make(chan error, len(subs))
	for name, topic := range subs {
		sub, err := event.SubscribeUnordered(ctx, s.pubsub, s.project, topic, name)
		if err != nil {
			return nil, fmt.Errorf("service: sync trigger: %w", err)
		}
		go func() { done <- s.Sync.Pull(ctx, s.pubsub.Subscriber(sub)) }()
	}
	return done, nil
}

// Close releases every client, the newest first.
func (s *Service) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			s.Logger.Warn("close", "error", err)
		}
	}
	s.closers = nil
}

// Printed is one event as Tail hands it over; `serve` prints it as a JSON
// line a person or jq reads.
type Printed struct {
	Attributes map[string]string `json:"attributes"`
	Data       json.RawMessage   `json:"data"`
}

// Tail hands every event published to the topic from now on to f, one at a
// time, until ctx ends. It reads through a temporary subscription of its own,
// deleted at the end, as a downstream subscriber would. It returns once the
// subscription exists (so no event published after it is missed); the
// channel reports how receiving ended.
func (s *Service) Tail(ctx context.Context, f func(Printed)) (<-chan error, error) {
	sub, err := event.Subscribe(ctx, s.pubsub, s.project, s.Config.Topic, "watchrelay-tail-"+uuid.NewString()[:8])
	if err != nil {
		return nil, fmt.Errorf("service: tail: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.tail(ctx, sub, f)
		// ctx is done by now; the subscription is removed under a fresh one.
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.pubsub.SubscriptionAdminClient.DeleteSubscription(dctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: sub})
	}()
	return done, nil
}

func (s *Service) tail(ctx context.Context, sub string, f func(Printed)) error {
	var mu sync.Mutex // Receive calls back concurrently; f need not be safe for that
	err := s.pubsub.Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		mu.Lock()
		defer mu.Unlock()
		data := json.RawMessage(m.Data)
		if !json.Valid(data) {
			data, _ = json.Marshal(string(m.Data))
		}
		f(Printed{Attributes: m.Attributes, Data: data})
		m.Ack()
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
