package receive_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// googleExpiration is the X-Goog-Channel-Expiration of every documented
// example: "Tue, 19 Nov 2013 01:13:52 GMT".
var googleExpiration = time.Date(2013, 11, 19, 1, 13, 52, 0, time.UTC)

// mixedCase restates googleapiclient's test_notification_from_headers: its
// header names in their odd case, with the token its channel was made with
// (the current library, like watchrelay, refuses a notification without it).
var mixedCase = fixture{lines: []headerLine{
	{"X-GoOG-CHANNEL-ID", " myid"},
	{"X-Goog-MESSAGE-NUMBER", " 1"},
	{"X-Goog-rESOURCE-STATE", " sync"},
	{"X-Goog-reSOURCE-URI", " http://example.com/"},
	{"X-Goog-resOURCE-ID", " http://example.com/resource_1"},
	{"x-GOOG-channel-TOKEN", " mytoken"},
}}

// ceAttrs is the attribute set docs/DESIGN.md fixes for a notification event.
func ceAttrs(id, source, subject, watch, kind, state string) map[string]string {
	return map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          id,
		"ce-source":      source,
		"ce-type":        "watchrelay.notification.v1",
		"ce-time":        "2026-11-22T08:00:00.123Z",
		"ce-subject":     subject,
		"content-type":   "application/json",
		"watch_id":       watch,
		"kind":           kind,
		"resource_state": state,
	}
}

// TestGoogleFixtures sends each of Google's documented notifications, as
// bytes on a loopback connection, to a handler whose store holds the
// matching channel, and checks the exact Pub/Sub message: attributes,
// ordering key and data. The same bytes, as a hand-built header map with
// names in their documented case and values untrimmed, must parse to the
// same notification.
func TestGoogleFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fixture  fixture
		channels map[string]testChannel
		want     receive.Notification
		attrs    map[string]string
		data     string
	}{
		{
			// Calendar's "exists" example: leading spaces before the
			// resource id and state; labels of the watch reach the data.
			name:    "calendar exists",
			fixture: loadFixture(t, "calendar-exists.http"),
			channels: map[string]testChannel{"4ba78bf0-6a47-11e2-bcfd-0800200c9a66": {
				watch: "w-42", kind: "calendar.events", token: "398348u3tu83ut8uu38",
				resourceID: "ret08u3rv24htgh289g", labels: map[string]string{"tenant": "acme"},
			}},
			want: receive.Notification{
				ChannelID: "4ba78bf0-6a47-11e2-bcfd-0800200c9a66", MessageNumber: 10,
				ResourceID: "ret08u3rv24htgh289g", ResourceState: "exists",
				ResourceURI: "https://www.googleapis.com/calendar/v3/calendars/my_calendar@gmail.com/events",
				Expiration:  googleExpiration, Token: "398348u3tu83ut8uu38",
			},
			attrs: ceAttrs("4ba78bf0-6a47-11e2-bcfd-0800200c9a66/10",
				"https://www.googleapis.com/calendar/v3/calendars/my_calendar@gmail.com/events",
				"ret08u3rv24htgh289g", "w-42", "calendar.events", "exists"),
			data: `{"watchId":"w-42","channelId":"4ba78bf0-6a47-11e2-bcfd-0800200c9a66","kind":"calendar.events","messageNumber":10,"resourceState":"exists","resourceId":"ret08u3rv24htgh289g","resourceUri":"https://www.googleapis.com/calendar/v3/calendars/my_calendar@gmail.com/events","channelExpiration":"2013-11-19T01:13:52Z","receivedAt":"2026-11-22T08:00:00.123Z","labels":{"tenant":"acme"}}`,
		},
		{
			// The sync message, to a pending channel whose resource id is
			// not known yet (the sync beat the watch response).
			name:    "sync",
			fixture: loadFixture(t, "sync.http"),
			channels: map[string]testChannel{"channel-ID-value": {
				watch: "w-1", kind: "drive.files", token: "channel-token-value", state: store.ChannelPending,
			}},
			want: receive.Notification{
				ChannelID: "channel-ID-value", MessageNumber: 1,
				ResourceID: "identifier-for-the-watched-resource", ResourceState: "sync",
				ResourceURI: "version-specific-URI-of-the-watched-resource",
				Expiration:  googleExpiration, Token: "channel-token-value",
			},
			attrs: ceAttrs("channel-ID-value/1", "version-specific-URI-of-the-watched-resource",
				"identifier-for-the-watched-resource", "w-1", "drive.files", "sync"),
			data: `{"watchId":"w-1","channelId":"channel-ID-value","kind":"drive.files","messageNumber":1,"resourceState":"sync","resourceId":"identifier-for-the-watched-resource","resourceUri":"version-specific-URI-of-the-watched-resource","channelExpiration":"2013-11-19T01:13:52Z","receivedAt":"2026-11-22T08:00:00.123Z"}`,
		},
		{
			// Drive files "update" with X-Goog-Changed: docs/DESIGN.md's own
			// example event.
			name:    "drive files update",
			fixture: loadFixture(t, "drive-files-update.http"),
			channels: map[string]testChannel{"4ba78bf0-6a47-11e2-bcfd-0800200c9a66": {
				watch: "w-42", kind: "drive.files", token: "398348u3tu83ut8uu38",
				resourceID: "ret08u3rv24htgh289g", labels: map[string]string{"tenant": "acme"},
			}},
			want: receive.Notification{
				ChannelID: "4ba78bf0-6a47-11e2-bcfd-0800200c9a66", MessageNumber: 10,
				ResourceID: "ret08u3rv24htgh289g", ResourceState: "update",
				ResourceURI: "https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g",
				Expiration:  googleExpiration, Token: "398348u3tu83ut8uu38",
				Changed: []string{"content", "properties"},
			},
			attrs: ceAttrs("4ba78bf0-6a47-11e2-bcfd-0800200c9a66/10",
				"https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g",
				"ret08u3rv24htgh289g", "w-42", "drive.files", "update"),
			data: `{"watchId":"w-42","channelId":"4ba78bf0-6a47-11e2-bcfd-0800200c9a66","kind":"drive.files","messageNumber":10,"resourceState":"update","resourceId":"ret08u3rv24htgh289g","resourceUri":"https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g","changed":["content","properties"],"channelExpiration":"2013-11-19T01:13:52Z","receivedAt":"2026-11-22T08:00:00.123Z","labels":{"tenant":"acme"}}`,
		},
		{
			// Drive changes with its JSON body, carried (compacted) as
			// "body"; "changed" is not a state Drive lists, and is kept.
			name:    "drive changes with body",
			fixture: loadFixture(t, "drive-changes.http"),
			channels: map[string]testChannel{"8bd90be9-3a58-3122-ab43-9823188a5b43": {
				watch: "w-7", kind: "drive.changes", token: "245t1234tt83trrt333", resourceID: "ret987df98743md8g",
			}},
			want: receive.Notification{
				ChannelID: "8bd90be9-3a58-3122-ab43-9823188a5b43", MessageNumber: 23,
				ResourceID: "ret987df98743md8g", ResourceState: "changed",
				ResourceURI: "https://www.googleapis.com/drive/v3/changes",
				Expiration:  googleExpiration, Token: "245t1234tt83trrt333",
			},
			attrs: ceAttrs("8bd90be9-3a58-3122-ab43-9823188a5b43/23", "https://www.googleapis.com/drive/v3/changes",
				"ret987df98743md8g", "w-7", "drive.changes", "changed"),
			data: `{"watchId":"w-7","channelId":"8bd90be9-3a58-3122-ab43-9823188a5b43","kind":"drive.changes","messageNumber":23,"resourceState":"changed","resourceId":"ret987df98743md8g","resourceUri":"https://www.googleapis.com/drive/v3/changes","channelExpiration":"2013-11-19T01:13:52Z","receivedAt":"2026-11-22T08:00:00.123Z","body":{"kind":"drive#changes"}}`,
		},
		{
			// googleapiclient's mixed-case names parse; the message
			// number is the integer 1; no expiration, so none in the data.
			name:    "mixed-case names",
			fixture: mixedCase,
			channels: map[string]testChannel{"myid": {
				watch: "w-py", kind: "calendar.events", token: "mytoken", resourceID: "http://example.com/resource_1",
			}},
			want: receive.Notification{
				ChannelID: "myid", MessageNumber: 1, ResourceID: "http://example.com/resource_1",
				ResourceState: "sync", ResourceURI: "http://example.com/", Token: "mytoken",
			},
			attrs: ceAttrs("myid/1", "http://example.com/", "http://example.com/resource_1", "w-py", "calendar.events", "sync"),
			data:  `{"watchId":"w-py","channelId":"myid","kind":"calendar.events","messageNumber":1,"resourceState":"sync","resourceId":"http://example.com/resource_1","resourceUri":"http://example.com/","receivedAt":"2026-11-22T08:00:00.123Z"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := receive.ParseHeaders(tt.fixture.rawHeader())
			if err != nil {
				t.Fatalf("ParseHeaders(raw): %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHeaders(raw) (-want +got):\n%s", diff)
			}

			r := newRig(t, tt.channels, nil)
			srv := httptest.NewServer(r.handler)
			defer srv.Close()
			resp, body := sendRaw(t, srv, tt.fixture.wire("/receive"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %q, want 200", resp.StatusCode, body)
			}
			msgs := r.pubsub.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages published, want 1", len(msgs))
			}
			m := msgs[0]
			if diff := cmp.Diff(tt.attrs, m.Attributes); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			if m.OrderingKey != tt.attrs["watch_id"] {
				t.Errorf("ordering key %q, want the watch id %q", m.OrderingKey, tt.attrs["watch_id"])
			}
			if string(m.Data) != tt.data {
				t.Errorf("data\n got %s\nwant %s", m.Data, tt.data)
			}
		})
	}
}
