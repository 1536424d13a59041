package receive_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// ParseHeaders reads Google's headers in any case, with the leading spaces
// of Google's own examples; Validate checks them against the stored channel.
func ExampleParseHeaders() {
	h := http.Header{}
	h.Set("X-Goog-Channel-ID", "4ba78bf0-6a47-11e2-bcfd-0800200c9a66")
	h.Set("X-Goog-Channel-Token", "s3cret")
	h.Set("x-goog-message-number", "10")
	h.Set("X-Goog-Resource-ID", "  ret08u3rv24htgh289g")
	h.Set("X-Goog-Resource-State", "  update")
	h.Set("X-Goog-Changed", "content, properties")
	h.Set("X-Goog-Resource-URI", "https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g")
	n, err := receive.ParseHeaders(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.MessageNumber, n.ResourceState, n.Changed)

	c := store.Channel{TokenHash: store.HashToken("s3cret"), ResourceID: "ret08u3rv24htgh289g", State: store.ChannelActive}
	fmt.Println(receive.Validate(n, c, time.Now()))
	c.TokenHash = store.HashToken("another channel's token")
	fmt.Println(receive.Validate(n, c, time.Now()))
	// Output:
	// 10 update [content properties]
	// <nil>
	// receive: token does not match the channel
}
