package event

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A lifecycle event renders in binary content mode: every ce- attribute,
// the filter attributes, the watch id as ordering key, the data as JSON.
func TestMessage(t *testing.T) {
	at := time.Date(2026, 11, 22, 8, 0, 0, 123e6, time.UTC)
	exp := at.Add(time.Hour)
	m, err := Event{
		ID: "w-42/" + TypeRenewed + "/ch-2", Source: "//watchrelay/watches/w-42", Type: TypeRenewed,
		Subject: "w-42", Time: at, WatchID: "w-42", Kind: "drive.files",
		Data: LifecycleData{WatchID: "w-42", Kind: "drive.files", OldChannelID: "ch-1", NewChannelID: "ch-2", NewExpiration: &exp},
	}.Message()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion": "1.0", "ce-id": "w-42/" + TypeRenewed + "/ch-2", "ce-source": "//watchrelay/watches/w-42",
		"ce-type": TypeRenewed, "ce-time": "2026-11-22T08:00:00.123Z", "ce-subject": "w-42",
		"content-type": "application/json", "watch_id": "w-42", "kind": "drive.files",
	}
	if diff := cmp.Diff(want, m.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if m.OrderingKey != "w-42" {
		t.Errorf("ordering key %q, want the watch id", m.OrderingKey)
	}
	var data map[string]any
	if err := json.Unmarshal(m.Data, &data); err != nil {
		t.Fatal(err)
	}
	wantData := map[string]any{"watchId": "w-42", "kind": "drive.files", "oldChannelId": "ch-1", "newChannelId": "ch-2", "newExpiration": "2026-11-22T09:00:00.123Z"}
	if diff := cmp.Diff(wantData, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

// Data that cannot be JSON is an error, not an empty message.
func TestMessageBadData(t *testing.T) {
	if _, err := (Event{ID: "x", Data: make(chan int)}).Message(); err == nil {
		t.Error("a channel marshalled")
	}
}
