// Package emulator starts the official Firestore and Pub/Sub emulators that
// ship with the Google Cloud SDK, for watchrelay's integration tests.
//
// When FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST are already set, the
// emulators they name are used as they are. Otherwise the emulator jars are
// started directly (about a second each, far faster than `gcloud beta
// emulators`), on free loopback ports, each in its own process group, and
// killed with it. Under CI=true an emulator that cannot start fails the test;
// elsewhere the test is skipped with the reason, so a laptop without Java
// still runs the rest. This package is test infrastructure, so it reads the
// environment itself rather than through internal/config.
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

// SDK is where the Cloud SDK keeps the emulator jars.
var SDK = "/usr/lib/google-cloud-sdk/platform"

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
	var err error
	if h.Firestore == "" {
		h.Firestore, err = launch("firestore",
			"-cp", filepath.Join(SDK, "cloud-firestore-emulator", "cloud-firestore-emulator.jar"),
			"com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start")
		if err != nil {
			return h, err
		}
	}
	if h.Pubsub == "" {
		jars, _ := filepath.Glob(filepath.Join(SDK, "pubsub-emulator", "lib", "cloud-pubsub-emulator-*-all.jar"))
		if len(jars) == 0 {
			Stop()
			return h, fmt.Errorf("emulator: no Pub/Sub emulator jar under %s", SDK)
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
