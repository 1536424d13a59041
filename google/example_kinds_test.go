package google_test

import (
	"fmt"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

func ExampleValidateWatch() {
	err := google.ValidateWatch(store.Watch{Kind: "drive.files", Params: map[string]string{"driveId": "d1"}})
	fmt.Println(err)
	// Output:
	// google: invalid watch: drive.files needs param fileId
	// google: invalid watch: drive.files has no param driveId (required: fileId)
}

func ExampleRequestedExpiration() {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	fmt.Println(google.RequestedExpiration(store.Watch{Kind: "drive.files"}, now))
	fmt.Println(google.RequestedExpiration(store.Watch{Kind: "drive.files", TTLSeconds: 600}, now))
	// Output:
	// 2026-11-23 08:00:00 +0000 UTC
	// 2026-11-22 08:10:00 +0000 UTC
}

func ExampleClassify() {
	err := &googleapi.Error{Code: 400, Message: "Unauthorized WebHook callback channel: https://hooks.example/recv",
		Errors: []googleapi.ErrorItem{{Reason: "push.webhookUrlUnauthorized"}}}
	fmt.Println(google.Classify(err))
	fmt.Println(google.Reason(err))
	// Output:
	// failed
	// Google refused the webhook address (400 push.webhookUrlUnauthorized: Unauthorized WebHook callback channel: https://hooks.example/recv): verify the domain in Search Console and add it to the project's allowed domains
}
