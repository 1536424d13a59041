package renew_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// This file holds BenchmarkPass's instruments: they count what reached
// Firestore (RPCs and documents, at the gRPC connection), what reached the
// simulated Google (calls, at its HTTP handler, with their arrival times)
// and which store methods the pass called. None of them predicts a figure:
// each counts what happened.

// rpcCounter counts the Firestore RPCs made through one gRPC connection, and
// the documents they read and wrote as Firestore bills them: a write per
// Write of a successful Commit, a read per document a get or a query
// returns, and one read for a query that returns none.
type rpcCounter struct {
	mu sync.Mutex
	t  fsTally
}

// fsTally is what an rpcCounter counted.
type fsTally struct {
	RPCs    map[string]int // by method: Commit, BatchGetDocuments, RunQuery, ...
	Reads   int            // billed document reads
	Writes  int            // billed document writes
	Missing int            // gets answered "missing" (not counted in Reads)
}

func newRPCCounter() *rpcCounter { return &rpcCounter{t: fsTally{RPCs: map[string]int{}}} }

// snapshot returns the counts so far, and reset clears them.
func (c *rpcCounter) snapshot() fsTally {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	t.RPCs = maps.Clone(c.t.RPCs)
	return t
}

func (c *rpcCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = fsTally{RPCs: map[string]int{}}
}

func (c *rpcCounter) add(f func(*fsTally)) {
	c.mu.Lock()
	f(&c.t)
	c.mu.Unlock()
}

// rpcName turns "/google.firestore.v1.Firestore/Commit" into "Commit".
func rpcName(method string) string { return method[strings.LastIndexByte(method, '/')+1:] }

// unary counts Commit and BatchWrite (and any other unary RPC); every
// attempt is an RPC, retries included, but only a Commit that succeeded, or
// the writes of a BatchWrite whose status is OK, wrote anything.
func (c *rpcCounter) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	c.add(func(t *fsTally) {
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
func (c *rpcCounter) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	name := rpcName(method)
	c.add(func(t *fsTally) { t.RPCs[name]++ })
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &countedStream{ClientStream: s, c: c, query: name == "RunQuery"}, nil
}

type countedStream struct {
	grpc.ClientStream
	c     *rpcCounter
	query bool
	docs  int
	ended bool
}

func (s *countedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		// End of stream: a query that returned nothing is billed one read.
		if s.query && !s.ended && s.docs == 0 {
			s.c.add(func(t *fsTally) { t.Reads++ })
		}
		s.ended = true
		return err
	}
	switch r := m.(type) {
	case *firestorepb.BatchGetDocumentsResponse:
		if r.GetFound() != nil {
			s.docs++
			s.c.add(func(t *fsTally) { t.Reads++ })
		} else if r.GetMissing() != "" {
			s.c.add(func(t *fsTally) { t.Missing++ })
		}
	case *firestorepb.RunQueryResponse:
		if r.GetDocument() != nil {
			s.docs++
			s.c.add(func(t *fsTally) { t.Reads++ })
		}
	}
	return nil
}

// String lists the RPCs by method, for the benchmark's log.
func (t fsTally) String() string {
	var b strings.Builder
	for _, m := range slices.Sorted(maps.Keys(t.RPCs)) {
		fmt.Fprintf(&b, "%s=%d ", m, t.RPCs[m])
	}
	fmt.Fprintf(&b, "reads=%d writes=%d missing=%d", t.Reads, t.Writes, t.Missing)
	return b.String()
}

func (t fsTally) rpcs() int {
	n := 0
	for _, k := range t.RPCs {
		n += k
	}
	return n
}

// openCountedFirestore opens the Firestore store on the emulator at host
// through a connection whose every RPC c counts. With
// FIRESTORE_EMULATOR_HOST set the client dials the emulator itself and
// ignores dial options, so a WithGRPCDialOption interceptor would count
// nothing; a WithGRPCConn given later replaces that connection. (Against
// real Firestore, option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor
// (...)) would do.)
func openCountedFirestore(tb testing.TB, host, prefix string, c *rpcCounter) *store.Firestore {
	tb.Helper()
	conn, err := grpc.NewClient("passthrough:///"+host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(emulator.Owner{}),
		grpc.WithChainUnaryInterceptor(c.unary),
		grpc.WithChainStreamInterceptor(c.stream),
	)
	if err != nil {
		tb.Fatal(err)
	}
	fs, err := store.OpenFirestore(context.Background(), "renew-bench", "", prefix, option.WithGRPCConn(conn))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		fs.Close()
		conn.Close()
	})
	return fs
}

// callLog records when each Google call reached the simulator, by wrapping
// its HTTP handler: the rate the simulated Google saw, not the rate the
// pass meant to send.
type callLog struct {
	mu    sync.Mutex
	watch []time.Time
	stop  []time.Time
}

func (l *callLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		l.mu.Lock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/channels/stop"):
			l.stop = append(l.stop, now)
		case strings.HasSuffix(r.URL.Path, "/watch"):
			l.watch = append(l.watch, now)
		}
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// calls returns the arrival times of every watch and stop call, sorted.
func (l *callLog) calls() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	all := append(slices.Clone(l.watch), l.stop...)
	slices.SortFunc(all, time.Time.Compare)
	return all
}

// peak is the most calls that arrived within any window of the given length.
func peak(ts []time.Time, window time.Duration) int {
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= window {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// storeCalls counts the store methods a pass calls, so the benchmark can
// check that each renewal made exactly the steps docs/DESIGN.md lists.
type storeCalls struct {
	renew.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *storeCalls) count(name string) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
}

func (c *storeCalls) Watch(ctx context.Context, id string) (store.Watch, error) {
	c.count("Watch")
	return c.Store.Watch(ctx, id)
}

func (c *storeCalls) DueWatches(ctx context.Context, before time.Time, limit int) ([]store.Watch, error) {
	c.count("DueWatches")
	return c.Store.DueWatches(ctx, before, limit)
}

func (c *storeCalls) Watches(ctx context.Context, state store.WatchState) ([]store.Watch, error) {
	c.count("Watches")
	return c.Store.Watches(ctx, state)
}

func (c *storeCalls) LeaseWatch(ctx context.Context, id string, l store.Lease, now time.Time, open func(store.Watch) (store.Channel, bool)) (store.Watch, error) {
	name := "LeaseWatch"
	if open != nil {
		name += " with a pending channel"
	}
	c.count(name)
	return c.Store.LeaseWatch(ctx, id, l, now, open)
}

func (c *storeCalls) ReleaseWatch(ctx context.Context, id, holder string, u store.WatchUpdate, now time.Time, events ...store.OutboxEvent) error {
	c.count("ReleaseWatch")
	return c.Store.ReleaseWatch(ctx, id, holder, u, now, events...)
}

func (c *storeCalls) UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error {
	c.count("UpdateWatch")
	return c.Store.UpdateWatch(ctx, id, u, now)
}

func (c *storeCalls) DeleteWatch(ctx context.Context, id string, events ...store.OutboxEvent) error {
	c.count("DeleteWatch")
	return c.Store.DeleteWatch(ctx, id, events...)
}

func (c *storeCalls) Channel(ctx context.Context, id string) (store.Channel, error) {
	c.count("Channel")
	return c.Store.Channel(ctx, id)
}

func (c *storeCalls) UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error {
	name := "UpdateChannel"
	if u.State != nil {
		name += " " + string(*u.State)
	}
	c.count(name)
	return c.Store.UpdateChannel(ctx, id, u)
}

func (c *storeCalls) ActivateChannel(ctx context.Context, a store.Activation) error {
	c.count("ActivateChannel")
	return c.Store.ActivateChannel(ctx, a)
}

func (c *storeCalls) Strays(ctx context.Context, state store.StrayState, limit int) ([]store.Stray, error) {
	c.count("Strays")
	return c.Store.Strays(ctx, state, limit)
}

func (c *storeCalls) Outbox(ctx context.Context, limit int) ([]store.OutboxEvent, error) {
	c.count("Outbox")
	return c.Store.Outbox(ctx, limit)
}

// Forget is named for what it does: "Forget 2 events, channel stopped".
func (c *storeCalls) Forget(ctx context.Context, published []string, channelID string, u store.ChannelUpdate) error {
	name := fmt.Sprintf("Forget %d events", len(published))
	if channelID != "" && u.State != nil {
		name += ", channel " + string(*u.State)
	}
	c.count(name)
	return c.Store.Forget(ctx, published, channelID, u)
}

func (c *storeCalls) RecordPass(ctx context.Context, p store.PassRecord) error {
	c.count("RecordPass")
	return c.Store.RecordPass(ctx, p)
}

func (c *storeCalls) ChannelsByState(ctx context.Context, state store.ChannelState, before time.Time, limit int) ([]store.Channel, error) {
	c.count("ChannelsByState")
	return c.Store.ChannelsByState(ctx, state, before, limit)
}
