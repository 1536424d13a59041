package backend

import (
	"context"
	"sync"
	"testing"

	"cloud.google.com/go/firestore"

	"github.com/watchrelay/watchrelay/store"
)

// spaces maps each *store.Firestore FirestoreOn opened to its Space, so
// that CreateWatchWithoutDueAt can write to its project behind its back.
var spaces sync.Map

// CreateWatchWithoutDueAt stores w in s (a *store.Memory, or a
// *store.Firestore this package opened) as a version of watchrelay from
// before store.Watch.DueAt wrote it: without the field. On Firestore that
// is the store's own create, then a raw update that deletes the field, with
// a client of its own, as an old version's document would be.
func CreateWatchWithoutDueAt(tb testing.TB, s any, w store.Watch) {
	tb.Helper()
	ctx := context.Background()
	switch s := s.(type) {
	case *store.Memory:
		if err := s.CreateWatchWithoutDueAt(ctx, w); err != nil {
			tb.Fatal(err)
		}
	case *store.Firestore:
		space, ok := spaces.Load(s)
		if !ok {
			tb.Fatalf("store %p was not opened by backend", s)
		}
		if err := s.CreateWatch(ctx, w); err != nil {
			tb.Fatal(err)
		}
		// FIRESTORE_EMULATOR_HOST, set by New, points the client at the
		// emulator, as the owner.
		client, err := firestore.NewClient(ctx, space.(Space).Project)
		if err != nil {
			tb.Fatal(err)
		}
		defer client.Close()
		del := []firestore.Update{{Path: "dueAt", Value: firestore.Delete}}
		if _, err := client.Collection(store.WatchesCollection).Doc(w.ID).Update(ctx, del); err != nil {
			tb.Fatal(err)
		}
	default:
		tb.Fatalf("no legacy watch can be made in a %T", s)
	}
}
