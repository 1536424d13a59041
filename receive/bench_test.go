package receive_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// benchRequest is the request both benchmarks replay: Google's Drive update
// example, to a channel the store knows. Its body is http.NoBody, so one
// request serves every iteration.
func benchRequest() *http.Request {
	return emuRequest("bench-ch", "bench-token", "file-1", "update", 10)
}

// BenchmarkReceive is the hot path: parse, one read of the memory store,
// validate, build the event and publish it to an in-process Pub/Sub (pstest
// over loopback gRPC), waiting for its ack. Compare BenchmarkBare204, which
// answers the same request without doing anything.
func BenchmarkReceive(b *testing.B) {
	ctx := context.Background()
	s := store.NewMemory()
	if err := s.CreateChannel(ctx, store.Channel{
		ID: "bench-ch", WatchID: "w-bench", Kind: "drive.files", ResourceID: "file-1",
		TokenHash: store.HashToken("bench-token"), State: store.ChannelActive,
		Expiration: time.Now().Add(time.Hour), Labels: map[string]string{"tenant": "acme"},
	}); err != nil {
		b.Fatal(err)
	}
	ps, err := inproc.Start(ctx, "watchrelay-bench", "events")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ps.Close() })
	pub, err := event.NewPublisher(ps.Client, "events", policy)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pub.Stop)
	h, err := receive.New(receive.Deps{
		Channels: s, Publisher: pub, Logger: logging.New(io.Discard, slog.LevelInfo),
	})
	if err != nil {
		b.Fatal(err)
	}
	req := benchRequest()

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if i++; i%1000 == 0 {
			// pstest keeps every message; drop them so the heap stays flat.
			b.StopTimer()
			ps.ClearMessages()
			b.StartTimer()
		}
	}
}

// BenchmarkBare204 is the floor: an http.HandlerFunc that only answers 204,
// given the same request through the same recorder.
func BenchmarkBare204(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	req := benchRequest()

	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// renderOnly is a Publisher that renders the Pub/Sub message (attributes
// and JSON data, as event.Publisher does) and sends nothing.
type renderOnly struct{}

func (renderOnly) Publish(_ context.Context, e event.Event) error {
	_, err := e.Message()
	return err
}

// BenchmarkReceiveWithoutPubsub is BenchmarkReceive with the publish taken
// out: parse, the memory store's read, validation, the event and its
// message. The difference between the two is the Pub/Sub round trip (the
// client library and pstest over loopback gRPC), the part watchrelay does
// not own. Same request construction as BenchmarkReceive and
// BenchmarkBare204: httptest.NewRecorder and one prebuilt request, serial.
func BenchmarkReceiveWithoutPubsub(b *testing.B) {
	s := store.NewMemory()
	if err := s.CreateChannel(context.Background(), contractChannels["ch-1"].channel("ch-1")); err != nil {
		b.Fatal(err)
	}
	h, err := receive.New(receive.Deps{
		Channels: s, Publisher: renderOnly{}, Logger: logging.New(io.Discard, slog.LevelInfo),
	})
	if err != nil {
		b.Fatal(err)
	}
	req := valid()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkParseHeaders is the pure parse of a canonical http.Header.
func BenchmarkParseHeaders(b *testing.B) {
	h := valid().Header
	b.ReportAllocs()
	for b.Loop() {
		if _, err := receive.ParseHeaders(h); err != nil {
			b.Fatal(err)
		}
	}
}
