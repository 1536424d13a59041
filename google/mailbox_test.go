package google_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

// TestMailboxParams: users.watch carries the narrowest single filter that
// selects every change any watch of the mailbox selects.
func TestMailboxParams(t *testing.T) {
	t.Parallel()
	inc := func(labels string) map[string]string {
		return map[string]string{"labelIds": labels, "labelFilterBehavior": "include"}
	}
	exc := func(labels string) map[string]string {
		return map[string]string{"labelIds": labels, "labelFilterBehavior": "exclude"}
	}
	none := map[string]string{}
	for _, tc := range []struct {
		name   string
		params []map[string]string
		want   map[string]string
	}{
		// One watch: its own filter, sorted.
		{"one", []map[string]string{inc("INBOX, Label_1")}, inc("INBOX,Label_1")},
		// One watch with no filter: none.
		{"one unfiltered", []map[string]string{none}, none},
		// Include beside include: the union, sorted, without repeats.
		{"includes", []map[string]string{inc("Label_B,INBOX"), inc("Label_A,INBOX")}, inc("INBOX,Label_A,Label_B")},
		// labelIds with no behavior is Gmail's default, include.
		{"default include", []map[string]string{{"labelIds": "Label_A"}, inc("Label_B")}, inc("Label_A,Label_B")},
		// Any watch with no filter wants every change.
		{"one unfiltered of two", []map[string]string{inc("Label_A"), none}, none},
		// Exclude beside exclude: what both exclude.
		{"excludes", []map[string]string{exc("SPAM,TRASH"), exc("TRASH,CATEGORY_PROMOTIONS")}, exc("TRASH")},
		// Excludes with nothing in common: no filter.
		{"disjoint excludes", []map[string]string{exc("SPAM"), exc("TRASH")}, none},
		// Include beside exclude: no single filter serves both.
		{"include and exclude", []map[string]string{inc("INBOX"), exc("SPAM")}, none},
		{"exclude and include", []map[string]string{exc("SPAM"), inc("INBOX"), inc("Label_A")}, none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, google.MailboxParams(tc.params)); diff != "" {
				t.Errorf("MailboxParams (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCanonicalSubject: a gmail.users subject names a mailbox, lowered as
// Gmail's pushes name it; other kinds' subjects are kept.
func TestCanonicalSubject(t *testing.T) {
	t.Parallel()
	if got := google.CanonicalSubject("gmail.users", "Ann@Example.COM"); got != ann {
		t.Errorf("gmail.users: %q, want %q", got, ann)
	}
	if got := google.CanonicalSubject("drive.changes", "Ann@Example.COM"); got != "Ann@Example.COM" {
		t.Errorf("drive.changes: %q, want it kept", got)
	}
}

// TestGmailReadSelects reads one mailbox's history through the real client
// as watches with different label filters: each gets only the changes its
// own filter selects, a message entering or leaving its scope included,
// and every watch gets a deletion, which Gmail names with no labels.
func TestGmailReadSelects(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	m1 := sim.AddMessage(ann, googlesim.GmailMessage{ID: "m1", LabelIDs: []string{"INBOX", "Label_A"}}) // 1001
	sim.AddMessage(ann, googlesim.GmailMessage{ID: "m2", LabelIDs: []string{"INBOX"}})                  // 1002
	sim.LabelMessage(ann, "m2", []string{"Label_A"}, nil)                                               // 1003: m2 enters Label_A
	sim.LabelMessage(ann, m1.ID, nil, []string{"Label_A"})                                              // 1004: m1 leaves it
	sim.LabelMessage(ann, "m2", []string{"SPAM"}, nil)                                                  // 1005: m2, in Label_A, to SPAM
	sim.DeleteMessage(ann, m1.ID)                                                                       // 1006
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   []string // item versions
	}{
		// No filter: everything.
		{"unfiltered", nil, []string{"1001/messageAdded", "1002/messageAdded", "1003/labelsAdded",
			"1004/labelsRemoved", "1005/labelsAdded", "1006/messageDeleted"}},
		// Label_A: its messages, their entering and leaving it, and the
		// deletion; not m2's arrival before it had the label.
		{"include Label_A", map[string]string{"labelIds": "Label_A", "labelFilterBehavior": "include"},
			[]string{"1001/messageAdded", "1003/labelsAdded", "1004/labelsRemoved", "1005/labelsAdded", "1006/messageDeleted"}},
		// Not SPAM: everything but what stays in SPAM; m2 going to SPAM
		// is leaving the watch's scope, so it is the watch's.
		{"exclude SPAM", map[string]string{"labelIds": "SPAM", "labelFilterBehavior": "exclude"}, []string{"1001/messageAdded",
			"1002/messageAdded", "1003/labelsAdded", "1004/labelsRemoved", "1005/labelsAdded", "1006/messageDeleted"}},
		// A label no message has: the deletion alone.
		{"include Label_Z", map[string]string{"labelIds": "Label_Z"}, []string{"1006/messageDeleted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.ReadChanges(ctx, annWatch(tc.params), google.ReadRequest{Cursor: "1000"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range p.Items {
				got = append(got, it.Version)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
			if p.Cursor != "1006" {
				t.Errorf("cursor %q, want 1006 whatever the filter keeps", p.Cursor)
			}
		})
	}
}
