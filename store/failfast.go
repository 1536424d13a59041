package store

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// A Firestore that refuses connections, or cannot be reached, answers each
// attempt Unavailable within a millisecond (wait-for-ready is off), and
// the client library retries Unavailable with backoff until the caller's
// deadline: measured through a proxy that refused, a read took the whole
// 20 s Receive allowed it, in some 30 attempts. FailFast cuts that short
// for callers, such as Receive, that have someone to retry for them.

// failFastKey keys the *failFast of a context.
type failFastKey struct{}

// failFast is one caller's allowance of Unavailable answers.
type failFast struct {
	after time.Duration

	mu    sync.Mutex
	first time.Time // of the first Unavailable under this context
}

// FailFast returns a context under which Firestore calls stop retrying
// Unavailable once Firestore has answered it for longer than after: they
// fail with ErrUnavailable then, rather than retry until ctx's deadline. A
// passing blip (a connection reset, a server restarting) is still retried
// for that long. Calls under other contexts keep the library's retries.
//
// It acts on the connections OpenFirestore makes itself and on those of
// DialEmulator; a connection passed in with option.WithGRPCConn needs
// DialOptions.
func FailFast(ctx context.Context, after time.Duration) context.Context {
	return context.WithValue(ctx, failFastKey{}, &failFast{after: after})
}

// check returns err, or, once the allowance is spent, an Unavailable turned
// into an error the library does not retry: it carries no gRPC status (%v,
// not %w), so neither the call's retry policy nor the library's own read
// loop takes it for a transient one.
func (f *failFast) check(err error) error {
	if f == nil || status.Code(err) != codes.Unavailable {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.first.IsZero() {
		f.first = now
	}
	if lasted := now.Sub(f.first); lasted >= f.after {
		return fmt.Errorf("%w for %v: %v", ErrUnavailable, lasted.Round(time.Millisecond), err)
	}
	return err
}

func failFastOf(ctx context.Context) *failFast {
	f, _ := ctx.Value(failFastKey{}).(*failFast)
	return f
}

func unaryFailFast(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return failFastOf(ctx).check(invoker(ctx, method, req, reply, cc, opts...))
}

// streamFailFast checks both the stream's opening (a refused connection
// fails there) and its answers (a server's Unavailable comes there).
func streamFailFast(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	f := failFastOf(ctx)
	s, err := streamer(ctx, desc, cc, method, opts...)
	if f == nil || err != nil {
		return s, f.check(err)
	}
	return &failFastStream{ClientStream: s, f: f}, nil
}

type failFastStream struct {
	grpc.ClientStream
	f *failFast
}

func (s *failFastStream) RecvMsg(m any) error { return s.f.check(s.ClientStream.RecvMsg(m)) }

// DialOptions are the interceptors FailFast needs on a connection.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(unaryFailFast),
		grpc.WithChainStreamInterceptor(streamFailFast),
	}
}

// clientOptions give the connections OpenFirestore dials those
// interceptors. A caller's option.WithGRPCConn comes later and wins.
func clientOptions() []option.ClientOption {
	var opts []option.ClientOption
	for _, d := range DialOptions() {
		opts = append(opts, option.WithGRPCDialOption(d))
	}
	return opts
}

// DialEmulator connects to the Firestore emulator at host (host:port) as
// the client library does from FIRESTORE_EMULATOR_HOST: plain gRPC, the
// emulator's owner credential, no message size limit. Unlike the library's
// own connection, it has FailFast's interceptors. Pass it to OpenFirestore
// with option.WithGRPCConn; Close closes it.
func DialEmulator(host string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient("passthrough:///"+host, append(DialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(emulatorOwner{}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("store: dial the firestore emulator at %s: %w", host, err)
	}
	return conn, nil
}

// emulatorOwner is the credential the emulator takes for an admin, past any
// security rules ("Bearer owner"), as the client library sends it.
type emulatorOwner struct{}

func (emulatorOwner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (emulatorOwner) RequireTransportSecurity() bool { return false }
