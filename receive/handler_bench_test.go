package receive_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

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
