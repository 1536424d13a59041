// Package backend opens what watchrelay's integration tests run on, the
// memory store and the emulators, under one isolation convention: each test
// takes a Space of its own, a project id no other test uses. The Firestore
// emulator keeps each project's documents apart and Pub/Sub names topics
// and subscriptions within their project, so tests share one pair of
// emulators, run in parallel and see only what they wrote. The same holds
// for code under test that opens its own clients (the CLI, the service, the
// registered functions): it is given the project, and needs nothing more.
// Tests only.
package backend

import (
	"context"
	"reflect"
	"testing"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/uuid"
	"google.golang.org/api/option"
	"google.golang.org/grpc"

	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/store"
)

// Space is one test's own part of the emulators.
type Space struct {
	// Hosts are the emulators' host:port addresses.
	Hosts emulator.Hosts
	// Project is the test's own project id.
	Project string
}

// New starts the emulators if they are not running yet (emulator.Require:
// the test is skipped when they cannot start, or fails under CI=true) and
// returns a Space of a fresh project.
func New(tb testing.TB) Space {
	tb.Helper()
	return Space{Hosts: emulator.Require(tb), Project: "test-" + uuid.NewString()[:13]}
}

// Firestore opens the space's store on the Firestore emulator, connected as
// the service connects to it (Dial). It is closed when tb ends.
func (s Space) Firestore(tb testing.TB) *store.Firestore {
	tb.Helper()
	return s.FirestoreOn(tb, Dial(tb, s.Hosts.Firestore))
}

// FirestoreOn opens the space's store through conn, a connection of the
// caller's: to a fault proxy in front of the emulator (Dial), or one whose
// RPCs a benchmark counts (fscount). The store and conn are closed when tb
// ends.
func (s Space) FirestoreOn(tb testing.TB, conn *grpc.ClientConn) *store.Firestore {
	tb.Helper()
	fs, err := store.OpenFirestore(context.Background(), s.Project, "", option.WithGRPCConn(conn))
	if err != nil {
		conn.Close()
		tb.Fatal(err)
	}
	spaces.Store(fs, s)
	tb.Cleanup(func() {
		spaces.Delete(fs)
		fs.Close()
		conn.Close()
	})
	return fs
}

// Dial connects to the Firestore emulator at host, or to a proxy in front
// of it, as the service does (store.DialEmulator, with FailFast's
// interceptors). The caller hands it to FirestoreOn, which closes it.
func Dial(tb testing.TB, host string) *grpc.ClientConn {
	tb.Helper()
	conn, err := store.DialEmulator(host)
	if err != nil {
		tb.Fatal(err)
	}
	return conn
}

// PubSub is a client of the Pub/Sub emulator in the space's project, closed
// when tb ends. PUBSUB_EMULATOR_HOST, which New sets, points it at the
// emulator, as it would any Google client library; opts may point it
// elsewhere (option.WithEndpoint: a proxy in front of it).
func (s Space) PubSub(tb testing.TB, opts ...option.ClientOption) *pubsub.Client {
	tb.Helper()
	client, err := pubsub.NewClient(context.Background(), s.Project, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return client
}

// Each runs f once on each store, as a parallel subtest named for it:
// "memory", a fresh *store.Memory, and "firestore", Firestore in a Space
// of its own. S is the test's interface of what it calls of a store, which
// both must have.
func Each[S any](t *testing.T, f func(t *testing.T, s S)) {
	t.Helper()
	for _, b := range []struct {
		name string
		open func(t *testing.T) any
	}{
		{"memory", func(*testing.T) any { return store.NewMemory() }},
		{"firestore", func(t *testing.T) any { return New(t).Firestore(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			opened := b.open(t)
			s, ok := opened.(S)
			if !ok {
				t.Fatalf("%T has not every method of %v", opened, reflect.TypeFor[S]())
			}
			f(t, s)
		})
	}
}
