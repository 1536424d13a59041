package emulator

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// SDKRoot takes the override, then the installation of the gcloud on PATH,
// then the Debian path. Not parallel: rows set the environment.
func TestSDKRoot(t *testing.T) {
	// An SDK whose gcloud is on PATH through a link, as the Debian package
	// lays it out (/usr/bin/gcloud -> /usr/lib/google-cloud-sdk/bin/gcloud).
	tmp := t.TempDir()
	sdk := filepath.Join(tmp, "google-cloud-sdk")
	fake := filepath.Join(tmp, "usr-bin")
	for _, dir := range []string{filepath.Join(sdk, "bin"), filepath.Join(sdk, "platform"), fake} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sdk, "bin", "gcloud"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(sdk, "bin", "gcloud"), filepath.Join(fake, "gcloud")); err != nil {
		t.Fatal(err)
	}
	// A gcloud whose installation has no platform/ (a snap, a shim).
	shim := filepath.Join(tmp, "shim")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shim, "gcloud"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noGcloud := t.TempDir()
	for _, row := range []struct {
		name     string
		override string
		path     string
		want     string
	}{
		// The variable wins over any gcloud on PATH.
		{"override", "/opt/sdk", fake, "/opt/sdk"},
		// Without it, the SDK the gcloud on PATH belongs to.
		{"gcloud", "", fake, sdk},
		// A gcloud that is no SDK's own is passed over.
		{"shim", "", shim, DebianSDK},
		// Without either, the Debian package's path.
		{"debian", "", noGcloud, DebianSDK},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Setenv(SDKEnv, row.override)
			t.Setenv("PATH", row.path)
			if got, from := SDKRoot(); got != row.want {
				t.Errorf("SDKRoot() = %s (from %s), want %s", got, from, row.want)
			}
		})
	}
}

// The CI=true rule: emulators that cannot start (here, a Cloud SDK
// directory that does not exist) fail the test under CI=true and skip it
// elsewhere. The rule lives in a sync.Once of the test binary, so each row
// runs TestRequireStartsBoth in a fresh copy of this binary.
func TestRequireUnderCI(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-sdk")
	for _, row := range []struct {
		name    string
		ci      string // "" leaves CI unset
		verdict string
		fails   bool
	}{
		// CI=true: a missing emulator is an error, never a silent skip.
		{"ci", "true", "--- FAIL: TestRequireStartsBoth", true},
		// A laptop without the SDK still runs the rest.
		{"laptop", "", "--- SKIP: TestRequireStartsBoth", false},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRequireStartsBoth$", "-test.v", "-test.count=1", "-test.timeout=2m")
			for _, kv := range os.Environ() {
				switch strings.SplitN(kv, "=", 2)[0] {
				case "CI", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", SDKEnv:
					continue
				}
				cmd.Env = append(cmd.Env, kv)
			}
			cmd.Env = append(cmd.Env, SDKEnv+"="+missing)
			if row.ci != "" {
				cmd.Env = append(cmd.Env, "CI="+row.ci)
			}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			if failed := err != nil; failed != row.fails {
				t.Errorf("child failed = %v (%v), want %v", failed, err, row.fails)
			}
			if !strings.Contains(string(out), row.verdict) {
				t.Errorf("child output lacks %q", row.verdict)
			}
			if !strings.Contains(string(out), missing) {
				t.Errorf("child output does not name the missing SDK %s", missing)
			}
			if t.Failed() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}
