package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/watchrelay/watchrelay/internal/wait"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A change of a cursor, or of an item's latest record, reads the document
// and writes it back only if nothing wrote it in between (a precondition
// on its update time; a create when there was none), and starts again from
// the read if something did: BatchGetDocuments and Commit, two RPCs. A
// transaction would cost a third (BeginTransaction) and, worse, its read
// lock makes a storm of notifications for one watch queue on lock waits
// and backoffs of a second and more: on the emulator, 20 concurrent
// WantSyncs for one watch took 5 to 70 seconds in transactions, and take
// about one second this way. The rules (cursor.go, latest.go) decide on
// what was read, so two attempts never both hold a cursor's lease, no count
// is lost, and no claim of a body is made over a newer one.

// casAttempts bounds the read-and-write rounds of one call. A round is lost
// only to another call's write that succeeded, so a call gives up only
// under a storm far past what one watch's notifications make; it then
// reports ErrUnavailable, and Pub/Sub redelivers.
const casAttempts = 50

// errDocChanged: the document changed between the read and the write.
var errDocChanged = errors.New("store: document changed")

// wholeDoc is a document changeDoc writes: every field of it, to write it
// whole with a precondition (which Set does not take).
type wholeDoc interface{ fields() []firestore.Update }

// changeDoc applies change to the document at ref and writes the result,
// unless change refuses or leaves it as it was (write false), in one atomic
// read-and-write (see above). change gets ok false, and the zero T, when
// there is no document; it may create one. revs, when not nil, remembers
// the document as read or written, and a round first tries its write
// against the document as remembered, with no read (firestore_revs.go).
func changeDoc[T wholeDoc](ctx context.Context, ref *firestore.DocumentRef, what string, revs *revisions[T], decode func(*firestore.DocumentSnapshot) (T, error), change func(v T, ok bool) (T, bool, error)) (T, error) {
	var zero T
	for attempt := range casAttempts {
		if attempt > 0 {
			// Jittered, so that the losers of a round do not meet
			// again in the next.
			if err := wait.Sleep(ctx, time.Duration(rand.Int64N(int64(attempt)*int64(5*time.Millisecond)))); err != nil {
				return zero, fail(what, err)
			}
		}
		v, err := casDoc(ctx, ref, revs, decode, change)
		if !errors.Is(err, errDocChanged) {
			if err != nil {
				return zero, fail(what, err)
			}
			return v, nil
		}
	}
	return zero, fmt.Errorf("%s: %w: the document changed under each of %d attempts", what, ErrUnavailable, casAttempts)
}

// casDoc is one round of changeDoc; errDocChanged when another write came
// between its read and its write.
func casDoc[T wholeDoc](ctx context.Context, ref *firestore.DocumentRef, revs *revisions[T], decode func(*firestore.DocumentSnapshot) (T, error), change func(T, bool) (T, bool, error)) (T, error) {
	var v, zero T
	if v, ok, err := casKnown(ctx, ref, revs, change); ok || err != nil {
		return v, err
	}
	snap, err := ref.Get(ctx)
	exists := err == nil
	if err != nil && status.Code(err) != codes.NotFound {
		return zero, err
	}
	if exists {
		if v, err = decode(snap); err != nil {
			return zero, err
		}
		revs.put(ref.Path, v, snap.UpdateTime)
	} else {
		revs.drop(ref.Path)
	}
	v, write, err := change(v, exists)
	if err != nil || !write {
		return v, err
	}
	var wr *firestore.WriteResult
	if exists {
		wr, err = ref.Update(ctx, v.fields(), firestore.LastUpdateTime(snap.UpdateTime))
	} else {
		wr, err = ref.Create(ctx, v)
	}
	if changedSince(err) {
		// Written, deleted or created since the read.
		revs.drop(ref.Path)
		return zero, errDocChanged
	}
	if err != nil {
		return zero, err
	}
	revs.put(ref.Path, v, wr.UpdateTime)
	return v, nil
}

// decodeAs decodes a document of one of the store's types, naming it (what)
// in the error.
func decodeAs[T any](snap *firestore.DocumentSnapshot, what string) (T, error) {
	var v T
	if err := snap.DataTo(&v); err != nil {
		return v, fmt.Errorf("%w %s %s: %w", errDecode, what, snap.Ref.ID, err)
	}
	return v, nil
}
