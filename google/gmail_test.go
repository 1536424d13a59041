package google_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

const (
	gmailTopic = "projects/p1/topics/gmail-in"
	ann        = "ann@example.com"
)

// annWatch is a gmail.users watch of ann's mailbox.
func annWatch(params map[string]string) store.Watch {
	return store.Watch{ID: "ann-mail", Kind: "gmail.users", Subject: ann, Params: params}
}

// TestGmailWatch opens Gmail watches through the real client: the granted
// expiration is the requested one when Google grants more, Google's
// otherwise; the resource id is the history id the watch began at; the
// label filter reaches Gmail; Stop ends the watch, and again is no error.
func TestGmailWatch(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		name string
		ask  time.Duration // 0: no expiration requested
		want time.Duration // from now
	}{
		// A day asked, a week granted: the day, so Renew renews daily.
		{"a day", 24 * time.Hour, 24 * time.Hour},
		// Nothing asked: Google's week.
		{"none", 0, week},
		// More than Google grants: Google's week.
		{"ten days", 10 * 24 * time.Hour, week},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			req := google.ChannelRequest{ID: "unused", Token: "unused", Address: gmailTopic}
			if tc.ask > 0 {
				req.Expiration = now.Add(tc.ask)
			}
			g, err := a.Watch(ctx, annWatch(nil), req)
			if err != nil {
				t.Fatal(err)
			}
			if d := g.Expiration.Sub(now.Add(tc.want)); d < -time.Second || d > time.Second {
				t.Errorf("expiration %v, want now + %v", g.Expiration, tc.want)
			}
			if g.ResourceID != "1000" || g.ResourceURI != "https://gmail.googleapis.com/gmail/v1/users/me" {
				t.Errorf("granted %+v, want the history id 1000 and ann's mailbox", g)
			}
		})
	}

	// Only INBOX: a SPAM message is not pushed, an INBOX one is.
	w := annWatch(map[string]string{"labelIds": "INBOX, IMPORTANT", "labelFilterBehavior": "include"})
	if _, err := a.Watch(ctx, w, google.ChannelRequest{Address: gmailTopic}); err != nil {
		t.Fatal(err)
	}
	sim.AddMessage(ann, googlesim.GmailMessage{LabelIDs: []string{"SPAM"}})
	in := sim.AddMessage(ann, googlesim.GmailMessage{})
	if err := a.Stop(ctx, w, "", ""); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	sim.AddMessage(ann, googlesim.GmailMessage{}) // after the stop: not pushed
	if err := a.Stop(ctx, w, "", ""); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
	pushes := sim.GmailPushes()
	if len(pushes) != 1 || pushes[0].Topic != gmailTopic {
		t.Fatalf("pushes %+v, want one to %s", pushes, gmailTopic)
	}
	email, id, err := google.GmailPush(pushes[0].Data)
	if err != nil || email != ann || id != "1002" {
		t.Errorf("GmailPush(%s) = %q, %q, %v; want ann's history id 1002 (message %s)", pushes[0].Data, email, id, err, in.ID)
	}
}

// TestGmailWatchErrors: Gmail's refusals classify as every kind's do, and
// a deployment without a topic is retried, not failed.
func TestGmailWatchErrors(t *testing.T) {
	t.Parallel()
	sim, a, hook := startSim(t)
	ctx := context.Background()
	sim.RevokeSubject("eve@example.com")
	sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch, Kind: "gmail.users", Subject: "gone@example.com"}, googlesim.FailNotFound)
	sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch, Kind: "gmail.users", Subject: "busy@example.com"}, googlesim.FailTooManyRequests)
	for _, tc := range []struct {
		name    string
		subject string
		address string
		want    google.Class
		reason  string
	}{
		// A revoked grant fails the watch, naming the user.
		{"revoked", "eve@example.com", gmailTopic, google.ClassFailed, "acts as eve@example.com"},
		// A mailbox Gmail does not know: gone.
		{"404", "gone@example.com", gmailTopic, google.ClassGone, "no longer exists"},
		// 429: retried.
		{"429", "busy@example.com", gmailTopic, google.ClassTransient, "429"},
		// Without a subject Gmail refuses the service account: failed.
		{"no subject", "", gmailTopic, google.ClassFailed, "Precondition"},
		// A webhook URL where the topic belongs: the deployment's fault,
		// retried until it is fixed, and said plainly.
		{"not a topic", ann, hook, google.ClassTransient, "projects/P/topics/T"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := store.Watch{ID: "w", Kind: "gmail.users", Subject: tc.subject}
			_, err := a.Watch(ctx, w, google.ChannelRequest{Address: tc.address})
			var ce *google.CallError
			if !errors.As(err, &ce) || ce.Op != "watch" {
				t.Fatalf("err = %v, want a watch CallError", err)
			}
			if c, r := google.Classify(err), google.Reason(err); c != tc.want || !strings.Contains(r, tc.reason) {
				t.Errorf("Classify %v, Reason %q; want %v and %q", c, r, tc.want, tc.reason)
			}
		})
	}
	// A revoked subject's reads fail the same way.
	_, err := a.ReadChanges(ctx, store.Watch{Kind: "gmail.users", Subject: "eve@example.com"}, google.ReadRequest{Cursor: "1000"})
	if google.Classify(err) != google.ClassFailed || errors.Is(err, google.ErrCursorExpired) {
		t.Errorf("revoked read: %v, want failed", err)
	}
}

// gmailItem is the JSON of a Gmail item.
type gmailItem struct {
	HistoryID string   `json:"historyId"`
	Change    string   `json:"change"`
	LabelIDs  []string `json:"labelIds"`
	Message   struct {
		ID       string   `json:"id"`
		ThreadID string   `json:"threadId"`
		LabelIDs []string `json:"labelIds"`
	} `json:"message"`
}

// TestGmailRead reads a mailbox's changes: the baseline is the profile's
// history id with no items; then one item per change, a deleted message
// Removed, versions unique per record and change; the last page's cursor
// is the mailbox's history id.
func TestGmailRead(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	w := annWatch(nil)
	base, err := a.ReadChanges(ctx, w, google.ReadRequest{})
	if err != nil || base.Cursor != "1000" || len(base.Items) != 0 || base.Next != "" {
		t.Fatalf("baseline = %+v, %v; want cursor 1000 and nothing else", base, err)
	}
	m := sim.AddMessage(ann, googlesim.GmailMessage{ID: "m1", ThreadID: "t1"})
	sim.LabelMessage(ann, m.ID, []string{"STARRED"}, []string{"INBOX"})
	sim.DeleteMessage(ann, m.ID)

	p, err := a.ReadChanges(ctx, w, google.ReadRequest{Cursor: base.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if p.Cursor != "1003" || p.Next != "" || p.Snapshot {
		t.Errorf("page = cursor %q next %q snapshot %v; want 1003, last page, changes", p.Cursor, p.Next, p.Snapshot)
	}
	type row struct {
		ID, Version, Change, Labels, MessageLabels string
		Removed                                    bool
	}
	var got []row
	for _, it := range p.Items {
		var v gmailItem
		if err := json.Unmarshal(it.JSON, &v); err != nil {
			t.Fatalf("item %s: %v", it.JSON, err)
		}
		if v.Message.ID != it.ID || v.Message.ThreadID != "t1" || v.HistoryID+"/"+v.Change != it.Version {
			t.Errorf("item %+v does not match its JSON %s", it, it.JSON)
		}
		got = append(got, row{it.ID, it.Version, v.Change, strings.Join(v.LabelIDs, ","), strings.Join(v.Message.LabelIDs, ","), it.Removed})
	}
	want := []row{
		{"m1", "1001/messageAdded", "messageAdded", "", "INBOX", false},
		{"m1", "1002/labelsAdded", "labelsAdded", "STARRED", "STARRED", false},
		{"m1", "1002/labelsRemoved", "labelsRemoved", "INBOX", "STARRED", false},
		// Gmail names a deleted message by id and thread only.
		{"m1", "1003/messageDeleted", "messageDeleted", "", "", true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}

	// Nothing new: no items, the same cursor.
	if p, err := a.ReadChanges(ctx, w, google.ReadRequest{Cursor: "1003"}); err != nil || len(p.Items) != 0 || p.Cursor != "1003" {
		t.Errorf("read at the current id = %+v, %v", p, err)
	}
}

// TestGmailReadPages pages through more history than one page holds
// (Gmail's 500): the cursor comes on the last page only, and every change
// is read once.
func TestGmailReadPages(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	w := annWatch(nil)
	const n = 501
	for range n {
		sim.AddMessage(ann, googlesim.GmailMessage{})
	}
	req := google.ReadRequest{Cursor: "1000"}
	seen := map[string]bool{}
	var pages []int
	for {
		p, err := a.ReadChanges(ctx, w, req)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(p.Items))
		for _, it := range p.Items {
			seen[it.Version] = true
		}
		if (p.Next == "") == (p.Cursor == "") || (p.Next == "") != (p.Resume == "") {
			t.Fatalf("page %d: next %q cursor %q resume %q: want a cursor on the last page only, a resume point on the others", len(pages), p.Next, p.Cursor, p.Resume)
		}
		// A page's resume point is its last record, a cursor from which
		// a read cut off after it goes on.
		if last := p.Items[len(p.Items)-1]; p.Next != "" && !strings.HasPrefix(last.Version, p.Resume+"/") {
			t.Errorf("page %d: resume %q, want the last record's id (item %s)", len(pages), p.Resume, last.Version)
		}
		if p.Next == "" {
			if want := strconv.Itoa(1000 + n); p.Cursor != want {
				t.Errorf("cursor %q, want %s", p.Cursor, want)
			}
			break
		}
		req.Page = p.Next
	}
	if !cmp.Equal(pages, []int{500, 1}) || len(seen) != n {
		t.Errorf("pages of %v items, %d distinct; want [500 1] and %d", pages, len(seen), n)
	}
}

// TestGmailReadExpired: a history id Gmail no longer keeps (404) is an
// expired cursor, so Sync takes a fresh baseline, which reads again.
func TestGmailReadExpired(t *testing.T) {
	t.Parallel()
	sim, a, _ := startSim(t)
	ctx := context.Background()
	w := annWatch(nil)
	sim.AddMessage(ann, googlesim.GmailMessage{})
	sim.ExpireHistory(ann)
	for _, tc := range []struct {
		name string
		req  google.ReadRequest
	}{
		// Gmail's 404 on history.list.
		{"dropped history", google.ReadRequest{Cursor: "1000"}},
		// Not a history id at all: no cursor this kind made.
		{"not a number", google.ReadRequest{Cursor: "abc"}},
	} {
		_, err := a.ReadChanges(ctx, w, tc.req)
		if !errors.Is(err, google.ErrCursorExpired) {
			t.Errorf("%s: %v, want ErrCursorExpired", tc.name, err)
		}
	}
	if p, err := a.ReadChanges(ctx, w, google.ReadRequest{}); err != nil || p.Cursor != "1001" {
		t.Errorf("fresh baseline = %+v, %v; want cursor 1001", p, err)
	}
}

// TestGmailPush parses Gmail's push payload.
func TestGmailPush(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data  string
		email, id   string
		errContains string // "" = no error
	}{
		// Gmail's own payload: historyId a number.
		{"number", `{"emailAddress":"ann@example.com","historyId":1234}`, ann, "1234", ""},
		// A string history id is accepted too.
		{"string", `{"emailAddress":"ann@example.com","historyId":"1234"}`, ann, "1234", ""},
		// The address in another case than Gmail's: lowered, as a
		// gmail.users subject is stored (CanonicalSubject).
		{"mixed case", `{"emailAddress":"Ann@Example.COM","historyId":1234}`, ann, "1234", ""},
		// A history id beyond 2^53 keeps every digit.
		{"large", `{"emailAddress":"ann@example.com","historyId":18446744073709551615}`, ann, "18446744073709551615", ""},
		// No email address.
		{"no email", `{"historyId":1234}`, "", "", "no emailAddress"},
		// No history id, or a null one.
		{"no history id", `{"emailAddress":"ann@example.com"}`, "", "", "no historyId"},
		{"null history id", `{"emailAddress":"ann@example.com","historyId":null}`, "", "", "no historyId"},
		// Neither.
		{"empty object", `{}`, "", "", "no emailAddress and no historyId"},
		// A history id that is not a number.
		{"bad history id", `{"emailAddress":"ann@example.com","historyId":"x1"}`, "", "", "not a history id"},
		{"negative", `{"emailAddress":"ann@example.com","historyId":-1}`, "", "", "not a history id"},
		// Not JSON, or not an object.
		{"not JSON", `historyId=1234`, "", "", "not a Gmail push"},
		{"array", `[1234]`, "", "", "not a Gmail push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			email, id, err := google.GmailPush([]byte(tc.data))
			if tc.errContains == "" {
				if err != nil || email != tc.email || id != tc.id {
					t.Errorf("= %q, %q, %v; want %q, %q", email, id, err, tc.email, tc.id)
				}
				return
			}
			if !errors.Is(err, google.ErrBadPush) || !strings.Contains(err.Error(), tc.errContains) {
				t.Errorf("err = %v, want ErrBadPush saying %q", err, tc.errContains)
			}
		})
	}
}

// TestGmailValidate: a gmail.users watch needs a subject and a label
// filter Gmail knows.
func TestGmailValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		w           store.Watch
		errContains string // "" = valid
	}{
		// The mailbox's user, with a label filter.
		{"valid", annWatch(map[string]string{"labelIds": "INBOX", "labelFilterBehavior": "exclude"}), ""},
		// No subject: the service account has no mailbox.
		{"no subject", store.Watch{Kind: "gmail.users"}, "needs a subject"},
		// A blank subject is none.
		{"blank subject", store.Watch{Kind: "gmail.users", Subject: " "}, "needs a subject"},
		// A behavior Gmail does not know.
		{"bad behavior", annWatch(map[string]string{"labelIds": "INBOX", "labelFilterBehavior": "only"}), "not one of include, exclude"},
		// A behavior with nothing to filter on.
		{"behavior alone", annWatch(map[string]string{"labelFilterBehavior": "include"}), "needs labelIds"},
		// A param Gmail's watch does not take, listing those it does.
		{"unknown param", annWatch(map[string]string{"q": "from:bob"}), "optional: labelIds, labelFilterBehavior"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := google.ValidateWatch(tc.w)
			if tc.errContains == "" {
				if err != nil {
					t.Errorf("ValidateWatch = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, google.ErrInvalidWatch) || !strings.Contains(err.Error(), tc.errContains) {
				t.Errorf("ValidateWatch = %v, want ErrInvalidWatch saying %q", err, tc.errContains)
			}
		})
	}
}

// TestGmailKind: the kind as the CLI and the other functions see it.
func TestGmailKind(t *testing.T) {
	t.Parallel()
	k, ok := google.LookupKind("gmail.users")
	if !ok {
		t.Fatal("gmail.users is not a kind")
	}
	got := fmt.Sprintf("%s %s %v %v %v %v %v %v", k.API, k.Delivery, k.NeedsSubject, k.Required, k.Optional, k.Scopes, k.MaxTTL, k.DefaultTTL)
	want := fmt.Sprintf("gmail gmail true [] [labelIds labelFilterBehavior] [%s] 24h0m0s 168h0m0s", gmail.GmailReadonlyScope)
	if got != want {
		t.Errorf("kind = %s, want %s", got, want)
	}
	if google.FromBody("gmail.users") {
		t.Error("gmail.users changes are read, not carried in the push")
	}
	if !strings.Contains(google.ValidateWatch(store.Watch{Kind: "nope"}).Error(), "gmail.users") {
		t.Error("the known kinds do not list gmail.users")
	}
}
