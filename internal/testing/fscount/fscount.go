// Package fscount counts what reaches Firestore through one gRPC connection
// (RPCs, and the documents they read and write, as Firestore bills them),
// so that benchmarks report the store's cost of an operation by counting
// it, not by predicting it. Renew's and Sync's benchmarks use it.
package fscount

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/store"
)

// Counter counts the Firestore RPCs made through one gRPC connection, and
// the documents they read and wrote as Firestore bills them: a write per
// Write of a successful Commit, a read per document a get or a query
// returns, and one read for a query that returns none.
type Counter struct {
	mu sync.Mutex
	t  Tally
}

// Tally is what an Counter counted.
type Tally struct {
	RPCs    map[string]int // by method: Commit, BatchGetDocuments, RunQuery, ...
	Reads   int            // billed document reads
	Writes  int            // billed document writes
	Missing int            // gets answered "missing" (not counted in Reads)
}

func New() *Counter { return &Counter{t: Tally{RPCs: map[string]int{}}} }

// Snapshot returns the counts so far, and Reset clears them.
func (c *Counter) Snapshot() Tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	t.RPCs = maps.Clone(c.t.RPCs)
	return t
}

func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = Tally{RPCs: map[string]int{}}
}

func (c *Counter) add(f func(*Tally)) {
	c.mu.Lock()
	f(&c.t)
	c.mu.Unlock()
}

// rpcName turns "/google.firestore.v1.Firestore/Commit" into "Commit".
func rpcName(method string) string { return method[strings.LastIndexByte(method, '/')+1:] }

// unary counts Commit and BatchWrite (and any other unary RPC); every
// attempt is an RPC, retries included, but only a Commit that succeeded, or
// the writes of a BatchWrite whose status is OK, wrote anything.
func (c *Counter) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	c.add(func(t *Tally) {
		t.RPCs[rpcName(method)]++
		if r, ok := req.(*firestorepb.CommitRequest); ok && err == nil {
			t.Writes += len(r.GetWrites())
		}
		if r, ok := reply.(*firestorepb.BatchWriteResponse); ok && err == nil {
			for _, st := range r.GetStatus() {
				if st.GetCode() == 0 {
					t.Writes++
				}
			}
		}
	})
	return err
}

// stream counts BatchGetDocuments and RunQuery, the streaming reads, by the
// documents they return.
func (c *Counter) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	name := rpcName(method)
	c.add(func(t *Tally) { t.RPCs[name]++ })
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &countedStream{ClientStream: s, c: c, query: name == "RunQuery"}, nil
}

type countedStream struct {
	grpc.ClientStream
	c     *Counter
	query bool
	docs  int
	ended bool
}

func (s *countedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		// End of stream: a query that returned nothing is billed one read.
		if s.query && !s.ended && s.docs == 0 {
			s.c.add(func(t *Tally) { t.Reads++ })
		}
		s.ended = true
		return err
	}
	switch r := m.(type) {
	case *firestorepb.BatchGetDocumentsResponse:
		if r.GetFound() != nil {
			s.docs++
			s.c.add(func(t *Tally) { t.Reads++ })
		} else if r.GetMissing() != "" {
			s.c.add(func(t *Tally) { t.Missing++ })
		}
	case *firestorepb.RunQueryResponse:
		if r.GetDocument() != nil {
			s.docs++
			s.c.add(func(t *Tally) { t.Reads++ })
		}
	}
	return nil
}

// String lists the RPCs by method, for the benchmark's log.
func (t Tally) String() string {
	var b strings.Builder
	for _, m := range slices.Sorted(maps.Keys(t.RPCs)) {
		fmt.Fprintf(&b, "%s=%d ", m, t.RPCs[m])
	}
	fmt.Fprintf(&b, "reads=%d writes=%d missing=%d", t.Reads, t.Writes, t.Missing)
	return b.String()
}

// Total is the number of RPCs of every method.
func (t Tally) Total() int {
	n := 0
	for _, k := range t.RPCs {
		n += k
	}
	return n
}

// Open opens the space's store on the emulator through a connection whose
// every RPC c counts. With FIRESTORE_EMULATOR_HOST set the client dials the
// emulator itself and ignores dial options, so a WithGRPCDialOption
// interceptor would count nothing; the connection is handed over whole
// (backend.Space.FirestoreOn) instead. (Against real Firestore,
// option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(...)) would
// do.)
func Open(tb testing.TB, space backend.Space, c *Counter) *store.Firestore {
	tb.Helper()
	conn, err := grpc.NewClient("passthrough:///"+space.Hosts.Firestore,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(emulator.Owner{}),
		grpc.WithChainUnaryInterceptor(c.unary),
		grpc.WithChainStreamInterceptor(c.stream),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return space.FirestoreOn(tb, conn)
}

// Plus is the sum of two tallies.
func (t Tally) Plus(u Tally) Tally {
	out := Tally{RPCs: map[string]int{}, Reads: t.Reads + u.Reads, Writes: t.Writes + u.Writes, Missing: t.Missing + u.Missing}
	for _, m := range []map[string]int{t.RPCs, u.RPCs} {
		for k, v := range m {
			out.RPCs[k] += v
		}
	}
	return out
}
