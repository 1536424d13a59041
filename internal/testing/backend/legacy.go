package backend

import (
	"context"
	"sync"
	"testing"
	"time"

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
		del := []firestore.Update{{Path: "dueAt", Value: firestore.Delete}}
		rawUpdate(tb, space.(Space), store.WatchesCollection, w.ID, del)
	default:
		tb.Fatalf("no legacy watch can be made in a %T", s)
	}
}

// MarkChannelDelivered writes deliveredAt on channel id of s (a
// *store.Firestore this package opened), as versions of watchrelay before
// store.Cursor.NotifiedAt did: Receive recorded a channel's last delivery
// there, and documents written then still carry it.
func MarkChannelDelivered(tb testing.TB, s *store.Firestore, id string, at time.Time) {
	tb.Helper()
	space, ok := spaces.Load(s)
	if !ok {
		tb.Fatalf("store %p was not opened by backend", s)
	}
	rawUpdate(tb, space.(Space), store.ChannelsCollection, id, []firestore.Update{{Path: "deliveredAt", Value: at}})
}

// rawUpdate updates a document of space behind its store's back, with a
// client of its own.
func rawUpdate(tb testing.TB, space Space, collection, id string, u []firestore.Update) {
	tb.Helper()
	ctx := context.Background()
	// FIRESTORE_EMULATOR_HOST, set by New, points the client at the
	// emulator, as the owner.
	client, err := firestore.NewClient(ctx, space.Project)
	if err != nil {
		tb.Fatal(err)
	}
	defer client.Close()
	if _, err := client.Collection(collection).Doc(id).Update(ctx, u); err != nil {
		tb.Fatal(err)
	}
}
