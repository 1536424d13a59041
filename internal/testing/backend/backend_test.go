package backend_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/store"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// watches is the little a test here needs of a store.
type watches interface {
	CreateWatch(ctx context.Context, w store.Watch) error
	Watch(ctx context.Context, id string) (store.Watch, error)
}

// Each hands f each store, empty, in a subtest named for it.
func TestEach(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	t.Run("each", func(t *testing.T) {
		backend.Each(t, func(t *testing.T, s watches) {
			if _, err := s.Watch(t.Context(), "w1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a fresh store has w1: %v", err)
			}
			if err := s.CreateWatch(t.Context(), store.Watch{ID: "w1", State: store.WatchActive}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			got[t.Name()] = fmt.Sprintf("%T", s)
		})
	})
	want := map[string]string{"TestEach/each/memory": "*store.Memory", "TestEach/each/firestore": "*store.Firestore"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Each's subtests and stores (-want +got):\n%s", diff)
	}
}

// Two spaces share nothing: a record one store writes is not in another
// space, and is in a second store opened on the same space, as the
// benchmarks' counted stores need.
func TestSpacesApart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := backend.New(t), backend.New(t)
	if a.Project == b.Project {
		t.Fatalf("two spaces in project %s", a.Project)
	}
	if err := a.Firestore(t).CreateWatch(ctx, store.Watch{ID: "w1", State: store.WatchActive}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Firestore(t).Watch(ctx, "w1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another space sees w1: %v", err)
	}
	if _, err := a.FirestoreOn(t, backend.Dial(t, a.Hosts.Firestore)).Watch(ctx, "w1"); err != nil {
		t.Errorf("a second store on the same space: %v", err)
	}
	topic := "projects/" + a.Project + "/topics/events"
	if _, err := a.PubSub(t).TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	other := "projects/" + b.Project + "/topics/events"
	if _, err := b.PubSub(t).TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: other}); status.Code(err) != codes.NotFound {
		t.Errorf("GetTopic(%s) = %v, want NotFound", other, err)
	}
}
