// Package config reads watchrelay's configuration from the environment, once,
// into one struct. Nothing else in watchrelay calls os.Getenv: the functions,
// the CLI and the tests all build a Config here and pass it down.
package config

import (
	"errors"
	"os"
	"reflect"
	"time"
)

// Config is every setting of watchrelay, each written once, on its field:
// the env tag names the environment variable and its default, the type says
// how a value is parsed (see setting), and the comment, after the field's
// name, is the meaning docs/DESIGN.md's "Configuration" table gives it. The
// table is generated from here (go test ./internal/config -update-docs);
// TestDesignTable fails when it is out of date, and the TestTerraform tests
// when a Terraform variable that sets a setting disagrees with its default.
type Config struct {
	// Project is the Google Cloud project. Without it and without an
	// emulator, the CLI runs on embedded defaults (`Local`) and the deployed
	// functions refuse to serve (503, logged).
	Project string `env:"GOOGLE_CLOUD_PROJECT"`
	// Topic is the Pub/Sub topic id every event goes to.
	Topic string `env:"WATCHRELAY_TOPIC, default=watchrelay-events"`
	// GmailTopic is the id of watchrelay's inbound Gmail topic, in the
	// same project: `gmail.users` watches ask Gmail to publish there (Renew
	// gives its full name to `users.watch`), and Sync is pushed what it gets.
	GmailTopic string `env:"WATCHRELAY_GMAIL_TOPIC, default=watchrelay-gmail"`
	// Database is the Firestore database id.
	Database string `env:"WATCHRELAY_DATABASE, default=(default)"`
	// Address is Receive's public URL: the webhook of every watch that
	// names none. Terraform gives it to Renew.
	Address string `env:"WATCHRELAY_ADDRESS"`
	// RenewBefore is how long before its expiration a channel is replaced,
	// or half its requested lifetime when that is shorter (the due rule,
	// `google.RenewThreshold`).
	RenewBefore time.Duration `env:"WATCHRELAY_RENEW_BEFORE, default=90m"`
	// RenewInterval is how often Cloud Scheduler runs Renew; it must match
	// the job's schedule (Terraform's `renew_interval` and `renew_schedule`).
	// `google.CheckRenewBefore` requires `WATCHRELAY_RENEW_BEFORE` to cover
	// two intervals and to be shorter than the shortest kind's lifetime
	// (docs/DESIGN.md, Kinds), and `google.CheckTTL` a watch's `ttlSeconds`
	// to be at least two intervals.
	RenewInterval time.Duration `env:"WATCHRELAY_RENEW_INTERVAL, default=10m"`
	// Grace is how long a retired channel's notifications are still
	// accepted, for Google's late retries of real changes.
	Grace time.Duration `env:"WATCHRELAY_GRACE, default=10m"`
	// RenewConcurrency bounds the watches one pass works on at once.
	RenewConcurrency int `env:"WATCHRELAY_RENEW_CONCURRENCY, default=8"`
	// RenewQPS bounds the Google API calls one pass makes per second.
	RenewQPS float64 `env:"WATCHRELAY_RENEW_QPS, default=10"`
	// ReceiveTimeout bounds one notification: a Firestore or Pub/Sub that
	// hangs is answered 503 within it, so Google retries rather than waits.
	// The store's calls before the publish get its first half, and the
	// publisher's timeout is two fifths of it (`receive.PublishTimeout`), so
	// the client has given the publish up before the 503 (Terraform's
	// `receive_deadline`). Google waits longer; the default leaves a healthy
	// read and publish (tens of milliseconds each) a hundredfold margin,
	// and frees a slot held by a hanging dependency in at most that.
	ReceiveTimeout time.Duration `env:"WATCHRELAY_RECEIVE_TIMEOUT, positive, default=10s"`
	// ReceiveMaxInFlight bounds the notifications one instance works on at
	// once; past it Receive answers 503 at once. It stays under the
	// instance's request concurrency, so that the platform never has to
	// refuse a request with a 429, which Google does not retry: Terraform
	// always sets it, to `receive_concurrency` less a quarter (at least
	// one), and the default is what Terraform's default concurrency gives.
	ReceiveMaxInFlight int `env:"WATCHRELAY_RECEIVE_MAX_IN_FLIGHT, default=60"`
	// SyncDebounce is how long Sync waits after the notification that
	// starts a read, so that a storm of them becomes one read; `0s` reads
	// at once. A storm (a calendar import, a Drive folder move) sends its
	// notifications within a second or two: the default gathers most of it
	// into one read and delays a lone change by no more.
	SyncDebounce time.Duration `env:"WATCHRELAY_SYNC_DEBOUNCE, default=2s"`
	// SyncTimeout bounds one Sync request's reads: a longer read stops
	// within it, keeping where it got to (the cursor's `token` and `page`),
	// and goes on at the next delivery. Its lease on the watch's cursor lasts a
	// minute longer, which Terraform keeps under the push subscription's
	// ack deadline, so that a redelivery never finds the lease of a dead
	// attempt still running.
	SyncTimeout time.Duration `env:"WATCHRELAY_SYNC_TIMEOUT, positive, default=4m"`
	// APIBaseURL, when set, sends every Google API call there instead of
	// Google's host, without credentials (base-URL mode, for tests and the
	// demo): each call carries a stand-in bearer token naming the watch's
	// subject, so the simulator can refuse a revoked one.
	APIBaseURL string `env:"WATCHRELAY_API_BASE_URL"`
	// FirestoreEmulator is the Firestore emulator's address. The client
	// library reads it itself; watchrelay only needs to know whether an
	// emulator is in use.
	FirestoreEmulator string `env:"FIRESTORE_EMULATOR_HOST"`
	// PubsubEmulator is the Pub/Sub emulator's address, read as
	// `FIRESTORE_EMULATOR_HOST` is.
	PubsubEmulator string `env:"PUBSUB_EMULATOR_HOST"`
	// SchedulerJob is the full name of the Cloud Scheduler job that runs
	// Renew, `projects/P/locations/L/jobs/J`. The CLI asks it to run now
	// after `watch add`, `rm` and `retry`, so that channels are always
	// opened by the deployed service account, the only identity that can
	// stop them later.
	SchedulerJob string `env:"WATCHRELAY_SCHEDULER_JOB"`
	// Port is where `watchrelay serve` listens on loopback, named as the
	// Functions Framework names it.
	Port string `env:"PORT, default=8080"`
}

// Defaults are the values used when a variable is unset: the env tags'
// defaults.
var Defaults = defaults()

// ErrInvalid is wrapped by every error FromEnv returns.
var ErrInvalid = errors.New("config: invalid")

// FromEnv reads the configuration through getenv (os.Getenv in production,
// a map in tests) on top of Defaults. An empty variable is unset. Every
// invalid value is reported, at once.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults
	fields := reflect.ValueOf(&c).Elem()
	var errs []error
	for _, s := range settings {
		v := getenv(s.Name)
		if v == "" {
			continue
		}
		x, err := s.parse(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fields.FieldByIndex(s.field.Index).Set(x)
	}
	return c, errors.Join(errs...)
}

// Load is FromEnv over the process environment.
func Load() (Config, error) { return FromEnv(os.Getenv) }

// Local reports whether watchrelay runs on embedded defaults: no project and
// no emulator, so the in-memory store and an in-process Pub/Sub serve.
func (c Config) Local() bool {
	return c.Project == "" && c.FirestoreEmulator == "" && c.PubsubEmulator == ""
}
