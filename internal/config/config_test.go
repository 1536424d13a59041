package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/config"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want func(*config.Config) // applied to Defaults
	}{
		// Nothing set: the defaults, unchanged.
		{"empty", nil, func(*config.Config) {}},
		// Every variable reaches its field.
		{"everything", map[string]string{
			"GOOGLE_CLOUD_PROJECT":             "demo",
			"WATCHRELAY_TOPIC":                 "events",
			"WATCHRELAY_GMAIL_TOPIC":           "mail",
			"WATCHRELAY_DATABASE":              "relay",
			"WATCHRELAY_ADDRESS":               "https://hooks.example/recv",
			"WATCHRELAY_RENEW_BEFORE":          "2h",
			"WATCHRELAY_RENEW_INTERVAL":        "15m",
			"WATCHRELAY_GRACE":                 "30s",
			"WATCHRELAY_RENEW_CONCURRENCY":     "3",
			"WATCHRELAY_RENEW_QPS":             "2.5",
			"WATCHRELAY_RECEIVE_TIMEOUT":       "4s",
			"WATCHRELAY_RECEIVE_MAX_IN_FLIGHT": "12",
			"WATCHRELAY_SYNC_DEBOUNCE":         "0s",
			"WATCHRELAY_SYNC_TIMEOUT":          "90s",
			"WATCHRELAY_API_BASE_URL":          "http://127.0.0.1:9000",
			"WATCHRELAY_SCHEDULER_JOB":         "projects/p/locations/l/jobs/j",
			"FIRESTORE_EMULATOR_HOST":          "127.0.0.1:8081",
			"PUBSUB_EMULATOR_HOST":             "127.0.0.1:8085",
			"PORT":                             "9090",
		}, func(c *config.Config) {
			*c = config.Config{
				Project: "demo", Topic: "events", GmailTopic: "mail", Database: "relay", Address: "https://hooks.example/recv",
				RenewBefore: 2 * time.Hour, RenewInterval: 15 * time.Minute, Grace: 30 * time.Second,
				RenewConcurrency: 3, RenewQPS: 2.5, ReceiveTimeout: 4 * time.Second, ReceiveMaxInFlight: 12,
				SyncDebounce: 0, SyncTimeout: 90 * time.Second,
				APIBaseURL:   "http://127.0.0.1:9000",
				SchedulerJob: "projects/p/locations/l/jobs/j", FirestoreEmulator: "127.0.0.1:8081",
				PubsubEmulator: "127.0.0.1:8085", Port: "9090",
			}
		}},
		// The renewal interval takes any Go duration, like the others.
		{"renew interval", map[string]string{"WATCHRELAY_RENEW_INTERVAL": "1h30m"},
			func(c *config.Config) { c.RenewInterval = 90 * time.Minute }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.FromEnv(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			want := config.Defaults
			tc.want(&want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("FromEnv (-want +got):\n%s", d)
			}
		})
	}
}

func TestFromEnvInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, variable, value string
	}{
		// Durations need a unit, as time.ParseDuration does.
		{"interval without unit", "WATCHRELAY_RENEW_INTERVAL", "600"},
		// A negative interval is no schedule.
		{"negative interval", "WATCHRELAY_RENEW_INTERVAL", "-10m"},
		{"renew before in words", "WATCHRELAY_RENEW_BEFORE", "ninety minutes"},
		{"negative grace", "WATCHRELAY_GRACE", "-1s"},
		{"zero concurrency", "WATCHRELAY_RENEW_CONCURRENCY", "0"},
		{"qps not a number", "WATCHRELAY_RENEW_QPS", "fast"},
		// A zero deadline would answer every notification 503.
		{"zero receive timeout", "WATCHRELAY_RECEIVE_TIMEOUT", "0s"},
		{"receive timeout without unit", "WATCHRELAY_RECEIVE_TIMEOUT", "10"},
		// A fetch with no time at all could never finish; a zero
		// debounce, though, is allowed (a fetch per notification).
		{"zero sync timeout", "WATCHRELAY_SYNC_TIMEOUT", "0s"},
		{"negative debounce", "WATCHRELAY_SYNC_DEBOUNCE", "-2s"},
		// No bound at all is not a bound; nor is a fraction.
		{"zero in flight", "WATCHRELAY_RECEIVE_MAX_IN_FLIGHT", "0"},
		{"fractional in flight", "WATCHRELAY_RECEIVE_MAX_IN_FLIGHT", "7.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.FromEnv(env(map[string]string{tc.variable: tc.value}))
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("FromEnv = %v, want %v", err, config.ErrInvalid)
			}
			// The message names the variable and what was given.
			if want := tc.variable + "=\"" + tc.value + "\""; !strings.Contains(err.Error(), want) {
				t.Errorf("FromEnv = %q, want it to name %s", err, want)
			}
		})
	}

	// Every mistake is reported at once.
	_, err := config.FromEnv(env(map[string]string{"WATCHRELAY_RENEW_INTERVAL": "x", "WATCHRELAY_GRACE": "y"}))
	if err == nil || !strings.Contains(err.Error(), "WATCHRELAY_RENEW_INTERVAL") || !strings.Contains(err.Error(), "WATCHRELAY_GRACE") {
		t.Errorf("FromEnv = %v, want both variables named", err)
	}
}

func TestLocal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    config.Config
		want bool
	}{
		// No project and no emulator: the embedded defaults.
		{"defaults", config.Defaults, true},
		// A project means the real services.
		{"project", config.Config{Project: "demo"}, false},
		// Either emulator means the emulators.
		{"firestore emulator", config.Config{FirestoreEmulator: "127.0.0.1:8081"}, false},
		{"pubsub emulator", config.Config{PubsubEmulator: "127.0.0.1:8085"}, false},
	} {
		if got := tc.c.Local(); got != tc.want {
			t.Errorf("%s: Local = %v, want %v", tc.name, got, tc.want)
		}
	}
}
