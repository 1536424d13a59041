// Package config reads watchrelay's configuration from the environment, once,
// into one struct. Nothing else in watchrelay calls os.Getenv: the functions,
// the CLI and the tests all build a Config here and pass it down.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Config is every setting docs/DESIGN.md's "Configuration" section names.
type Config struct {
	// Project is the Google Cloud project (GOOGLE_CLOUD_PROJECT).
	Project string
	// Topic is the Pub/Sub topic id events go to (WATCHRELAY_TOPIC).
	Topic string
	// GmailTopic is the id of watchrelay's inbound Gmail topic, in the
	// same project (WATCHRELAY_GMAIL_TOPIC): gmail.users watches ask
	// Gmail to publish there, and Sync is pushed what it gets.
	GmailTopic string
	// Database is the Firestore database id (WATCHRELAY_DATABASE).
	Database string
	// Address is the public URL of Receive, the default webhook address of
	// every watch (WATCHRELAY_ADDRESS).
	Address string
	// RenewBefore is how long before its expiration a channel is replaced
	// (WATCHRELAY_RENEW_BEFORE).
	RenewBefore time.Duration
	// RenewInterval is how often Cloud Scheduler runs Renew
	// (WATCHRELAY_RENEW_INTERVAL); it must match the job's schedule.
	// Renewal windows and channel lifetimes are checked against it
	// (google.CheckRenewBefore, google.CheckTTL).
	RenewInterval time.Duration
	// Grace is how long a retired channel's notifications are still
	// accepted, for Google's late retries of real changes (WATCHRELAY_GRACE).
	Grace time.Duration
	// RenewConcurrency bounds the watches one pass works on at once
	// (WATCHRELAY_RENEW_CONCURRENCY).
	RenewConcurrency int
	// RenewQPS bounds the Google API calls one pass makes per second
	// (WATCHRELAY_RENEW_QPS).
	RenewQPS float64
	// ReceiveTimeout bounds one notification (WATCHRELAY_RECEIVE_TIMEOUT):
	// a Firestore or Pub/Sub that hangs is answered 503 within it, so
	// Google retries rather than waits. receive.New splits it between the
	// store and the publish (receive.PublishTimeout).
	ReceiveTimeout time.Duration
	// ReceiveMaxInFlight bounds the notifications one instance works on
	// at once (WATCHRELAY_RECEIVE_MAX_IN_FLIGHT); past it Receive answers
	// 503 at once. It stays under the instance's request concurrency
	// (Terraform's receive_concurrency), so that the platform never has to
	// refuse a request with a 429, which Google does not retry.
	ReceiveMaxInFlight int
	// SyncDebounce is how long Sync waits after the notification that
	// starts a fetch, so that a storm of them becomes one fetch
	// (WATCHRELAY_SYNC_DEBOUNCE).
	SyncDebounce time.Duration
	// SyncTimeout bounds one Sync request's fetches
	// (WATCHRELAY_SYNC_TIMEOUT): a longer read stops within it, keeping
	// where it got to, and goes on at the next delivery. Its lease on a
	// watch's cursor lasts a
	// minute longer, and Terraform keeps that under the push
	// subscription's ack deadline, so a redelivery finds the lease of a
	// dead attempt over.
	SyncTimeout time.Duration
	// APIBaseURL, when set, sends every Google API call there instead of
	// Google's host, without credentials (WATCHRELAY_API_BASE_URL).
	APIBaseURL string
	// FirestoreEmulator and PubsubEmulator mirror FIRESTORE_EMULATOR_HOST
	// and PUBSUB_EMULATOR_HOST; the client libraries read those themselves,
	// watchrelay only needs to know whether an emulator is in use.
	FirestoreEmulator string
	PubsubEmulator    string
	// SchedulerJob is the full name of the Cloud Scheduler job that runs
	// Renew (WATCHRELAY_SCHEDULER_JOB, projects/P/locations/L/jobs/J). The
	// CLI asks it to run now after `watch add`, so that channels are always
	// created by the deployed service account.
	SchedulerJob string
	// Port is where `watchrelay serve` listens on loopback (PORT, as the
	// Functions Framework names it).
	Port string
}

// Defaults are the values used when a variable is unset.
var Defaults = Config{
	Topic:            "watchrelay-events",
	GmailTopic:       "watchrelay-gmail",
	Database:         "(default)",
	RenewBefore:      90 * time.Minute,
	RenewInterval:    10 * time.Minute,
	Grace:            10 * time.Minute,
	RenewConcurrency: 8,
	RenewQPS:         10,
	// Google waits longer; 10 s leaves a healthy read and publish (tens
	// of milliseconds each) a hundredfold margin, and frees a slot held
	// by a hanging dependency in at most that.
	ReceiveTimeout: 10 * time.Second,
	// Three quarters of Terraform's default receive_concurrency (80): the
	// other 20 answer the excess 503 in microseconds (README,
	// Configuration).
	ReceiveMaxInFlight: 60,
	// A storm (a calendar import, a Drive folder move) sends its
	// notifications within a second or two; 2 s gathers most of it into
	// one fetch and delays a lone change by no more.
	SyncDebounce: 2 * time.Second,
	SyncTimeout:  4 * time.Minute,
	Port:         "8080",
}

// ErrInvalid is wrapped by every error FromEnv returns.
var ErrInvalid = errors.New("config: invalid")

// FromEnv reads the configuration through getenv (os.Getenv in production,
// a map in tests) on top of Defaults.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("GOOGLE_CLOUD_PROJECT", &c.Project)
	str("WATCHRELAY_TOPIC", &c.Topic)
	str("WATCHRELAY_GMAIL_TOPIC", &c.GmailTopic)
	str("WATCHRELAY_DATABASE", &c.Database)
	str("WATCHRELAY_ADDRESS", &c.Address)
	str("WATCHRELAY_API_BASE_URL", &c.APIBaseURL)
	str("WATCHRELAY_SCHEDULER_JOB", &c.SchedulerJob)
	str("FIRESTORE_EMULATOR_HOST", &c.FirestoreEmulator)
	str("PUBSUB_EMULATOR_HOST", &c.PubsubEmulator)
	str("PORT", &c.Port)

	var errs []error
	dur := func(name string, dst *time.Duration) {
		v := getenv(name)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%w: %s=%q is not a duration like 90m", ErrInvalid, name, v))
			return
		}
		*dst = d
	}
	dur("WATCHRELAY_RENEW_BEFORE", &c.RenewBefore)
	dur("WATCHRELAY_RENEW_INTERVAL", &c.RenewInterval)
	dur("WATCHRELAY_GRACE", &c.Grace)
	dur("WATCHRELAY_RECEIVE_TIMEOUT", &c.ReceiveTimeout)
	dur("WATCHRELAY_SYNC_DEBOUNCE", &c.SyncDebounce)
	dur("WATCHRELAY_SYNC_TIMEOUT", &c.SyncTimeout)
	if c.SyncTimeout == 0 {
		errs = append(errs, fmt.Errorf("%w: WATCHRELAY_SYNC_TIMEOUT=%q must be positive", ErrInvalid, getenv("WATCHRELAY_SYNC_TIMEOUT")))
	}
	if c.ReceiveTimeout == 0 {
		errs = append(errs, fmt.Errorf("%w: WATCHRELAY_RECEIVE_TIMEOUT=%q must be positive", ErrInvalid, getenv("WATCHRELAY_RECEIVE_TIMEOUT")))
	}
	count := func(name string, dst *int) {
		v := getenv(name)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%w: %s=%q is not a positive integer", ErrInvalid, name, v))
			return
		}
		*dst = n
	}
	count("WATCHRELAY_RENEW_CONCURRENCY", &c.RenewConcurrency)
	count("WATCHRELAY_RECEIVE_MAX_IN_FLIGHT", &c.ReceiveMaxInFlight)
	if v := getenv("WATCHRELAY_RENEW_QPS"); v != "" {
		q, err := strconv.ParseFloat(v, 64)
		if err != nil || q <= 0 {
			errs = append(errs, fmt.Errorf("%w: WATCHRELAY_RENEW_QPS=%q is not a positive number", ErrInvalid, v))
		} else {
			c.RenewQPS = q
		}
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
