// Package emulator starts the official Firestore and Pub/Sub emulators that
// ship with the Google Cloud SDK, for watchrelay's integration tests.
//
// When FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST are already set, the
// emulators they name are used as they are. Otherwise the emulator jars are
// started directly (about a second each, far faster than `gcloud beta
// emulators`), on free loopback ports, each in its own process group, and
// killed with it. Under CI=true an emulator that cannot start fails the test;
// elsewhere the test is skipped with the reason, so a laptop without Java
// still runs the rest. The jars come from the Cloud SDK that SDKRoot finds:
// $WATCHRELAY_CLOUD_SDK, else the installation of the gcloud on PATH, else the Debian
// package's /usr/lib/google-cloud-sdk. This package is test infrastructure,
// so it reads the environment itself rather than through internal/config.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SDKEnv names the variable that, when set, is the Cloud SDK installation
// to take the emulators from: the directory holding bin/ and platform/.
const SDKEnv = "WATCHRELAY_CLOUD_SDK"

// DebianSDK is where the Debian and Ubuntu google-cloud-cli packages install
// the Cloud SDK.
const DebianSDK = "/usr/lib/google-cloud-sdk"

// SDKRoot returns the Cloud SDK installation whose emulator jars Require
// starts, and where that answer came from. In order: $WATCHRELAY_CLOUD_SDK;
// the installation of the gcloud on PATH, whose real path is <sdk>/bin/gcloud
// in every layout, when that SDK has a platform/ directory (the Debian package links /usr/bin/gcloud there; the Cloud
// SDK images put /google-cloud-sdk/bin on PATH), read off the file system
// rather than by running gcloud, which takes a second; else DebianSDK.
func SDKRoot() (root, from string) {
	if dir := os.Getenv(SDKEnv); dir != "" {
		return dir, "$" + SDKEnv
	}
	if gcloud, err := exec.LookPath("gcloud"); err == nil {
		// A snap or a version-manager shim resolves elsewhere: only an
		// installation with a platform/ directory is the SDK.
		if real, err := filepath.EvalSymlinks(gcloud); err == nil {
			if root := filepath.Dir(filepath.Dir(real)); isDir(filepath.Join(root, "platform")) {
				return root, gcloud
			}
		}
	}
	return DebianSDK, "the Debian package's default"
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// Owner is the per-RPC credential ("Bearer owner": an admin, past any
// security rules) that the Firestore client sends the emulator by itself
// only on the connection it dials from FIRESTORE_EMULATOR_HOST. A test that
// brings its own connection (through a proxy, or with interceptors) passes
// it with grpc.WithPerRPCCredentials.
type Owner struct{}

// GetRequestMetadata sends the owner's token.
func (Owner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

// RequireTransportSecurity is false: the emulator speaks plain gRPC.
func (Owner) RequireTransportSecurity() bool { return false }

// Hosts are the host:port addresses of a running pair of emulators.
type Hosts struct {
	Firestore string
	Pubsub    string
}

var (
	once    sync.Once
	shared  Hosts
	procs   []*exec.Cmd
	startEr error
)

// Require returns the emulators shared by every test of this test binary,
// starting them on first use, and sets FIRESTORE_EMULATOR_HOST and
// PUBSUB_EMULATOR_HOST for the client libraries. Call Main from TestMain so
// they are stopped at the end.
func Require(t testing.TB) Hosts {
	t.Helper()
	once.Do(func() { shared, startEr = start() })
	if startEr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("emulators did not start (CI=true, so this fails rather than skips): %v", startEr)
		}
		t.Skipf("emulators did not start: %v", startEr)
	}
	return shared
}

// Main runs the tests and then stops any emulator Require started.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop kills the emulators this process started.
func Stop() {
	for _, cmd := range procs {
		// A negative pid signals the whole process group: the JVM and
		// anything it forked.
		// launch's goroutine reaps it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	procs = nil
}

func start() (Hosts, error) {
	h := Hosts{Firestore: os.Getenv("FIRESTORE_EMULATOR_HOST"), Pubsub: os.Getenv("PUBSUB_EMULATOR_HOST")}
	if h.Firestore != "" && h.Pubsub != "" {
		return h, nil
	}
	root, from := SDKRoot()
	platform := filepath.Join(root, "platform")
	missing := func(what, where string) error {
		return fmt.Errorf("emulator: no %s emulator jar at %s (Cloud SDK %s, from %s; install the component or set %s)",
			what, where, root, from, SDKEnv)
	}
	var err error
	if h.Firestore == "" {
		jar := filepath.Join(platform, "cloud-firestore-emulator", "cloud-firestore-emulator.jar")
		if _, err := os.Stat(jar); err != nil {
			return h, missing("Firestore", jar)
		}
		h.Firestore, err = launch("firestore", "-cp", jar,
			"com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start")
		if err != nil {
			return h, err
		}
	}
	if h.Pubsub == "" {
		pattern := filepath.Join(platform, "pubsub-emulator", "lib", "cloud-pubsub-emulator-*-all.jar")
		jars, _ := filepath.Glob(pattern)
		if len(jars) == 0 {
			Stop()
			return h, missing("Pub/Sub", pattern)
		}
		h.Pubsub, err = launch("pubsub", "-jar", jars[0])
		if err != nil {
			Stop()
			return h, err
		}
	}
	os.Setenv("FIRESTORE_EMULATOR_HOST", h.Firestore)
	os.Setenv("PUBSUB_EMULATOR_HOST", h.Pubsub)
	return h, nil
}

// launch starts one emulator jar on a free port and waits until it answers.
func launch(name string, args ...string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args = append(args, "--host=127.0.0.1", fmt.Sprintf("--port=%d", port))
	cmd := exec.Command("java", args...)
	// Its own group so Stop kills it whole; Pdeathsig so a test binary that
	// dies without Stop does not leave it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logf, err := os.CreateTemp("", "watchrelay-"+name+"-emulator-*.log")
	if err != nil {
		return "", err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("emulator: start %s: %w", name, err)
	}
	procs = append(procs, cmd)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, nil
			}
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("emulator: %s exited (%v); see %s", name, err, logf.Name())
		case <-ctx.Done():
			return "", fmt.Errorf("emulator: %s did not answer on %s within 60s; see %s", name, addr, logf.Name())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("emulator: no TCP port")
	}
	return addr.Port, nil
}
