package scripts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pinnedSHA256 is go-install.sh's checksum line.
var pinnedSHA256 = regexp.MustCompile(`(?m)^sha256=([0-9a-f]{64}) `)

// TestGoInstall runs scripts/go-install.sh, as the Cloud Builds do, with a
// curl on PATH that serves a stand-in Go archive: the script unpacks it only
// when its SHA-256 is the one the script pins, and otherwise fails before
// anything is unpacked.
func TestGoInstall(t *testing.T) {
	archive := fakeGoArchive(t)
	sum := sha256.Sum256(archive)
	script, err := os.ReadFile("go-install.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !pinnedSHA256.Match(script) {
		t.Fatal("go-install.sh pins no sha256=<64 hex digits> line")
	}
	// The same script, pinning the stand-in's checksum instead of go.dev's.
	pinsArchive := pinnedSHA256.ReplaceAll(script, []byte("sha256="+hex.EncodeToString(sum[:])+" "))

	for _, tc := range []struct {
		name    string
		script  []byte
		wantErr string // empty: the install succeeds
	}{
		// The script as committed: the stand-in is not go.dev's archive, so
		// its checksum differs and nothing may be unpacked.
		{"go.dev's checksum, other bytes", script, "does not have go.dev's published SHA-256"},
		// The check passes exactly when the bytes match the pin: then the
		// archive is unpacked and its go runs.
		{"the archive's own checksum", pinsArchive, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			served := filepath.Join(dir, "served.tar.gz")
			writeFile(t, served, archive, 0o644)
			// curl -fsSL -o FILE URL: copies the stand-in to FILE, logs URL.
			writeFile(t, filepath.Join(bin, "curl"), []byte(`#!/bin/sh
while [ "$#" -gt 1 ]; do
  [ "$1" = -o ] && out=$2
  shift
done
echo "$1" >"$FAKE_DIR/url"
cp "$FAKE_DIR/served.tar.gz" "$out"
`), 0o755)
			scriptPath := filepath.Join(dir, "go-install.sh")
			writeFile(t, scriptPath, tc.script, 0o755)
			dest := filepath.Join(dir, "tools")

			cmd := exec.Command("bash", scriptPath, dest)
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "FAKE_DIR="+dir)
			out, err := cmd.CombinedOutput()

			url, _ := os.ReadFile(filepath.Join(dir, "url"))
			if got, want := strings.TrimSpace(string(url)), "https://go.dev/dl/go1.26.0.linux-amd64.tar.gz"; got != want {
				t.Errorf("downloaded %q, want %q", got, want)
			}
			_, statErr := os.Stat(filepath.Join(dest, "go", "bin", "go"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tc.wantErr) {
					t.Fatalf("want a failure saying %q, got err %v and:\n%s", tc.wantErr, err, out)
				}
				if statErr == nil {
					t.Fatal("the archive was unpacked although its checksum differs")
				}
				return
			}
			if err != nil {
				t.Fatalf("install failed: %v\n%s", err, out)
			}
			if statErr != nil || !strings.Contains(string(out), "go version go1.26.0") {
				t.Fatalf("want the unpacked go to run, got %v and:\n%s", statErr, out)
			}
		})
	}
}

// fakeGoArchive is a .tar.gz laid out as Go's (go/bin/go), whose go prints
// a version line.
func fakeGoArchive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	goBin := []byte("#!/bin/sh\necho 'go version go1.26.0 linux/amd64'\n")
	for _, h := range []*tar.Header{
		{Name: "go/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "go/bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "go/bin/go", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(goBin))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write(goBin); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}
