package watchrelay

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The registered functions are wired to Receive and Renew: with no
// environment they run on the embedded defaults and answer their contracts.
func TestFunctionsWired(t *testing.T) {
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"} {
		t.Setenv(k, "") // empty is unset to internal/config
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		method  string
		status  int
	}{
		{"Receive refuses GET", Receive, http.MethodGet, http.StatusMethodNotAllowed},
		{"Receive wants Google's headers", Receive, http.MethodPost, http.StatusBadRequest},
		{"Renew refuses GET", Renew, http.MethodGet, http.StatusMethodNotAllowed},
		{"Renew runs a pass over nothing", Renew, http.MethodPost, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.handler(rec, httptest.NewRequest(tc.method, "/", nil))
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}
