package store

import (
	"context"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sync's turn at a watch reads its cursor once and then writes it two or
// three times in a row (the claim, a page kept, the finish), each a
// conditional write (changeDoc). Nothing else writes the cursor in between
// unless a notification is counted meanwhile, so each write may be made
// against the document as this store last read or wrote it, with no read
// of its own: the write's precondition (the update time it was known at)
// proves the document unchanged, and only a write that finds it changed
// costs a read, as every write did before. A decision that writes nothing
// (a covered notification, a refusal) is never taken on a remembered
// document: it is taken again on one read afresh.

// maxRevisions bounds the documents a store remembers: one per watch being
// read, in an instance that serves thousands of watches at once, a few
// hundred bytes each.
const maxRevisions = 4096

// revision is a document as it stood at its update time.
type revision[T any] struct {
	v  T
	at time.Time
}

// revisions remembers the documents of one collection as this store last
// read or wrote them, by path. The zero value is empty and ready; a nil
// one remembers nothing.
type revisions[T any] struct {
	mu sync.Mutex
	m  map[string]revision[T]
}

// get returns the document at path as last known.
func (r *revisions[T]) get(path string) (revision[T], bool) {
	if r == nil {
		return revision[T]{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[path]
	return v, ok
}

// put remembers v as the document at path at its update time at, unless a
// later one is remembered already.
func (r *revisions[T]) put(path string, v T, at time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]revision[T])
	}
	old, ok := r.m[path]
	if ok && old.at.After(at) {
		// A read that began before a write (this request's or another's)
		// and ended after it: the document as written is the newer.
		return
	}
	if !ok && len(r.m) >= maxRevisions {
		for k := range r.m { // any one: the next turn of its watch reads it again
			delete(r.m, k)
			break
		}
	}
	r.m[path] = revision[T]{v: v, at: at}
}

// drop forgets the document at path.
func (r *revisions[T]) drop(path string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, path)
}

// changedSince reports whether a conditional write failed because the
// document was written, deleted or created since it was read.
func changedSince(err error) bool {
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.NotFound, codes.AlreadyExists:
		return true
	}
	return false
}

// casKnown is casDoc's first try: change applied to the document as last
// known, written if it was not written since. ok false: nothing was
// written, and the round goes on with a read.
func casKnown[T wholeDoc](ctx context.Context, ref *firestore.DocumentRef, revs *revisions[T], change func(T, bool) (T, bool, error)) (v T, ok bool, err error) {
	base, known := revs.get(ref.Path)
	if !known {
		return v, false, nil
	}
	v, write, err := change(base.v, true)
	if err != nil || !write {
		return v, false, nil
	}
	wr, err := ref.Update(ctx, v.fields(), firestore.LastUpdateTime(base.at))
	if changedSince(err) {
		revs.drop(ref.Path)
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	revs.put(ref.Path, v, wr.UpdateTime)
	return v, true, nil
}
