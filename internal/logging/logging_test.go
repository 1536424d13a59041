package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

// A warning comes out with Cloud Logging's field names and the trace.
func TestCloudLoggingFields(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo).Warn("stray", Trace("p", "abc/123;o=1"))
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"severity": "WARNING", "message": "stray", TraceKey: "projects/p/traces/abc"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %q (line %s)", k, got[k], want, buf.String())
		}
	}
}
