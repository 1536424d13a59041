package receive_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/fscount"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// BenchmarkReceiveFirestore counts what each notification costs Receive in
// Firestore, on the emulator, counted at the store's gRPC connection by
// internal/testing/fscount (as Renew's and Sync's benchmarks count): one op
// is one notification of a live channel, the clock moved on by the case's
// spacing before each, as in a day of notifications that far apart: no rate,
// down to one a day, may cost a write (when a watch was last notified is
// Sync's to record, store.Cursor.NotifiedAt). The publish is rendered and
// not sent: Pub/Sub is not what is counted here.
func BenchmarkReceiveFirestore(b *testing.B) {
	space := backend.New(b)
	for _, tc := range []struct {
		name    string
		spacing time.Duration
	}{
		{"every-10s", 10 * time.Second}, // a busy channel
		{"every-1m", time.Minute},
		{"every-5m", 5 * time.Minute}, // a quiet one: each was written before
		{"every-20m", 20 * time.Minute},
		{"every-1h", time.Hour},
		{"every-1d", 24 * time.Hour}, // one change a day per watch
	} {
		b.Run(tc.name, func(b *testing.B) {
			ops := fscount.New()
			s := fscount.Open(b, space, ops)
			id := "cost-" + tc.name
			ctx := context.Background()
			if err := s.CreateChannel(ctx, store.Channel{
				ID: id, WatchID: "w-" + id, Kind: "drive.files", ResourceID: "file-1",
				TokenHash: store.HashToken(emuToken), State: store.ChannelActive,
				Expiration: time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC),
			}); err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			now := emuNow
			h, err := receive.New(receive.Deps{
				Channels: s, Publisher: renderOnly{}, Logger: logging.New(io.Discard, slog.LevelInfo),
				Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
			})
			if err != nil {
				b.Fatal(err)
			}
			ops.Reset()
			n := 0
			for b.Loop() {
				mu.Lock()
				now = now.Add(tc.spacing)
				mu.Unlock()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, emuRequest(id, emuToken, "file-1", "update", n+10))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				n++
			}
			t := ops.Snapshot()
			b.ReportMetric(float64(t.Total())/float64(n), "fs-calls/notification")
			b.ReportMetric(float64(t.Reads)/float64(n), "fs-reads/notification")
			b.ReportMetric(float64(t.Writes)/float64(n), "fs-writes/notification")
			b.Logf("%d notifications %v apart: %v", n, tc.spacing, t)
			// The claim the table makes: at any rate, one read a
			// notification and no write.
			if t.Writes != 0 || t.Reads > n {
				b.Errorf("%d notifications %v apart cost %v: want at most one read each and no write", n, tc.spacing, t)
			}
		})
	}
}
