package google_test

import (
	"testing"

	"github.com/watchrelay/watchrelay/google"
)

// TestMutable: of the kinds whose change is the notification body, only
// those whose items change need the latest body to win.
func TestMutable(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]bool{
		"admin.directory.users":   true, // a user is updated, deleted, undeleted
		"admin.directory.aliases": true, // an alias is added and deleted
		// An activity happens once: each notification is its own item.
		"admin.reports.activities": false,
		// Kinds that read their changes carry no item in the body.
		"calendar.events": false,
		"drive.nope":      false,
	} {
		if got := google.Mutable(kind); got != want {
			t.Errorf("Mutable(%q) = %v, want %v", kind, got, want)
		}
	}
}
