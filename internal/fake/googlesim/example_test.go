package googlesim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"google.golang.org/api/drive/v3"
	"google.golang.org/api/option"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// A Drive client opens a channel on the simulator, which caps the lifetime
// at a day and pushes the sync and then an update to the webhook.
func ExampleStart() {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	sim, err := googlesim.Start(googlesim.Options{Now: func() time.Time { return now }, Sync: googlesim.SyncFirst, Seed: 1})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("#%s %s changed=%q\n", r.Header.Get("X-Goog-Message-Number"), r.Header.Get("X-Goog-Resource-State"), r.Header.Get("X-Goog-Changed"))
	}))
	defer hook.Close()

	ctx := context.Background()
	svc, err := drive.NewService(ctx, option.WithEndpoint(sim.URL+"/drive/v3/"), option.WithoutAuthentication())
	if err != nil {
		panic(err)
	}
	ch, err := svc.Files.Watch("file-1", &drive.Channel{
		Id: "4ba78bf0-6a47-11e2-bcfd-0800200c9a66", Type: "web_hook", Address: hook.URL,
		Expiration: now.Add(48 * time.Hour).UnixMilli(),
	}).Do()
	if err != nil {
		panic(err)
	}
	fmt.Println(time.UnixMilli(ch.Expiration).UTC(), ch.ResourceUri)

	sim.Push(ch.Id, "update", googlesim.Changed("content")) //nolint:errcheck // live
	sim.Flush(ctx)                                          //nolint:errcheck // no deadline
	fmt.Println(len(sim.Live()), "live")
	// Output:
	// #1 sync changed=""
	// 2026-11-23 08:00:00 +0000 UTC https://www.googleapis.com/drive/v3/files/file-1
	// #7 update changed="content"
	// 1 live
}
