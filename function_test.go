package watchrelay

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/renew"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// fresh makes the next request assemble the service anew, from the
// environment the test set, and returns what it logs.
func fresh(t *testing.T) *bytes.Buffer {
	var logs bytes.Buffer
	reset := func() {
		if svc != nil {
			svc.Close()
		}
		once, svc, svcErr = sync.Once{}, nil, nil
	}
	reset()
	saved := logger
	logger = logging.New(&logs, slog.LevelInfo)
	t.Cleanup(func() {
		reset()
		logger = saved
	})
	return &logs
}

// The registered functions are wired to Receive, Renew and Sync: on the emulators,
// as deployed on a project, they answer their contracts.
func TestFunctionsWired(t *testing.T) {
	// New sets the emulator hosts in the environment.
	t.Setenv("GOOGLE_CLOUD_PROJECT", backend.New(t).Project)
	fresh(t)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		method  string
		status  int
		summary bool // the body is Renew's JSON summary
	}{
		{"Receive refuses GET", Receive, http.MethodGet, http.StatusMethodNotAllowed, false},
		{"Receive wants Google's headers", Receive, http.MethodPost, http.StatusBadRequest, false},
		{"Renew refuses GET", Renew, http.MethodGet, http.StatusMethodNotAllowed, false},
		{"Renew runs a pass over nothing", Renew, http.MethodPost, http.StatusOK, true},
		{"Sync refuses GET", Sync, http.MethodGet, http.StatusMethodNotAllowed, false},
		// Not a Pub/Sub push envelope: 400, so Pub/Sub dead-letters it.
		{"Sync wants a push envelope", Sync, http.MethodPost, http.StatusBadRequest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.handler(rec, httptest.NewRequest(tc.method, "/", nil))
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if !tc.summary {
				return
			}
			var sum renew.Summary
			dec := json.NewDecoder(rec.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&sum); err != nil || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("body is not a JSON summary (Content-Type %q): %v", rec.Header().Get("Content-Type"), err)
			}
			if !sum.Idle() {
				t.Errorf("summary of a pass over nothing: %+v", sum)
			}
		})
	}
}

// Deployed with no project and no emulator, the functions refuse the
// embedded defaults, which would acknowledge notifications and drop them:
// 503, so Google and Scheduler retry, with the reason in the log.
func TestFunctionsRefuseEmbeddedDefaults(t *testing.T) {
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"} {
		t.Setenv(k, "") // empty is unset to internal/config
	}
	logs := fresh(t)
	for name, handler := range map[string]http.HandlerFunc{"Receive": Receive, "Renew": Renew, "Sync": Sync} {
		rec := httptest.NewRecorder()
		handler(rec, httptest.NewRequest(http.MethodPost, "/", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503: %s", name, rec.Code, rec.Body)
		}
	}
	if !strings.Contains(logs.String(), "GOOGLE_CLOUD_PROJECT is not set") {
		t.Errorf("log does not say why:\n%s", logs)
	}
}
