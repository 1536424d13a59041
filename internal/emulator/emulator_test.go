package emulator

import (
	"net/http"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// Both emulators answer on the hosts Require returns.
func TestRequireStartsBoth(t *testing.T) {
	h := Require(t)
	for _, host := range []string{h.Firestore, h.Pubsub} {
		resp, err := http.Get("http://" + host + "/")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", host, resp.StatusCode)
		}
	}
}
