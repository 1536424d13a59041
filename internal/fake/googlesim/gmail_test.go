package googlesim_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
)

const topic = "projects/p1/topics/gmail-in"

// gmailAs is the real Gmail client acting as subject ("" the service
// account).
func gmailAs(t *testing.T, sim *googlesim.Sim, subject string) *gmail.Service {
	t.Helper()
	svc, err := gmail.NewService(context.Background(), as(sim.URL, "/", subject)...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// published records what Options.Publish was given.
type published struct {
	mu  sync.Mutex
	got []string // topic + " " + data
}

func (p *published) publish(topic string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, topic+" "+string(data))
	return nil
}

func (p *published) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

func code(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// TestGmailPushes proves a change is published only to a live watch whose
// label filter selects the message, with Gmail's payload, and never after
// a stop or once the watch expired.
func TestGmailPushes(t *testing.T) {
	t.Parallel()
	const ann = "ann@example.com"
	for _, tc := range []struct {
		name  string
		watch *gmail.WatchRequest // nil: no watch
		after func(*googlesim.Sim, *gmail.Service, *clock)
		want  []string // the message ids whose change is pushed, in order
	}{
		// No filter: every change is pushed.
		{name: "all", watch: &gmail.WatchRequest{TopicName: topic}, want: []string{"m-inbox", "m-spam", "m-inbox", "m-spam"}},
		// include INBOX: only changes of INBOX messages, and the removal
		// of INBOX itself.
		{name: "include", watch: &gmail.WatchRequest{TopicName: topic, LabelIds: []string{"INBOX"}, LabelFilterBehavior: "include"},
			want: []string{"m-inbox", "m-inbox"}},
		// exclude SPAM: the opposite.
		{name: "exclude", watch: &gmail.WatchRequest{TopicName: topic, LabelIds: []string{"SPAM"}, LabelFilterBehavior: "exclude"},
			want: []string{"m-inbox", "m-inbox"}},
		// Without a watch nothing is published.
		{name: "unwatched"},
		// After users.stop nothing is published.
		{name: "stopped", watch: &gmail.WatchRequest{TopicName: topic}, after: func(_ *googlesim.Sim, svc *gmail.Service, _ *clock) {
			if err := svc.Users.Stop("me").Do(); err != nil {
				t.Fatalf("stop: %v", err)
			}
		}},
		// Seven days on the watch has expired.
		{name: "expired", watch: &gmail.WatchRequest{TopicName: topic}, after: func(_ *googlesim.Sim, _ *gmail.Service, c *clock) {
			c.Advance(7 * 24 * time.Hour)
		}},
		// Watching again renews: a day before expiry, then past the first
		// grant's end, changes are still pushed.
		{name: "renewed", watch: &gmail.WatchRequest{TopicName: topic}, after: func(_ *googlesim.Sim, svc *gmail.Service, c *clock) {
			c.Advance(6 * 24 * time.Hour)
			if _, err := svc.Users.Watch("me", &gmail.WatchRequest{TopicName: topic}).Do(); err != nil {
				t.Fatalf("watch again: %v", err)
			}
			c.Advance(2 * 24 * time.Hour)
		}, want: []string{"m-inbox", "m-spam", "m-inbox", "m-spam"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, pub := newClock(), &published{}
			sim := start(t, googlesim.Options{Now: c.Now, Publish: pub.publish})
			svc := gmailAs(t, sim, ann)
			if tc.watch != nil {
				if _, err := svc.Users.Watch("me", tc.watch).Do(); err != nil {
					t.Fatalf("watch: %v", err)
				}
			}
			if tc.after != nil {
				tc.after(sim, svc, c)
			}
			sim.AddMessage(ann, googlesim.GmailMessage{ID: "m-inbox"})
			sim.AddMessage(ann, googlesim.GmailMessage{ID: "m-spam", LabelIDs: []string{"SPAM"}})
			sim.LabelMessage(ann, "m-inbox", nil, []string{"INBOX"})
			sim.DeleteMessage(ann, "m-spam")
			// Another mailbox's change is never ann's push.
			sim.AddMessage("bob@example.com", googlesim.GmailMessage{})

			var got, data []string
			for _, p := range sim.GmailPushes() {
				if p.Topic != topic || p.Mailbox != ann || p.Err != nil {
					t.Errorf("push %+v", p)
				}
				var payload struct {
					EmailAddress string `json:"emailAddress"`
					HistoryID    uint64 `json:"historyId"` // a JSON number, as Gmail sends it
				}
				if err := json.Unmarshal(p.Data, &payload); err != nil || payload.EmailAddress != ann || payload.HistoryID != p.HistoryID {
					t.Errorf("payload %s (%v), want ann's and history id %d", p.Data, err, p.HistoryID)
				}
				got = append(got, messageOf(t, svc, p.HistoryID))
				data = append(data, topic+" "+string(p.Data))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pushed changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(data, pub.list()); diff != "" {
				t.Errorf("Publish was given (-pushes +published):\n%s", diff)
			}
		})
	}
}

// messageOf is the message of the history record id, read back through
// history.list.
func messageOf(t *testing.T, svc *gmail.Service, id uint64) string {
	t.Helper()
	r, err := svc.Users.History.List("me").StartHistoryId(id - 1).MaxResults(1).Do()
	if err != nil || len(r.History) != 1 || r.History[0].Id != id {
		t.Fatalf("history of %d: %+v, %v", id, r, err)
	}
	return r.History[0].Messages[0].Id
}

// TestGmailCalls checks the answers of watch, stop, getProfile and
// history.list through the real client.
func TestGmailCalls(t *testing.T) {
	t.Parallel()
	const ann = "ann@example.com"
	c := newClock()
	sim := start(t, googlesim.Options{Now: c.Now, PageSize: 2})
	svc := gmailAs(t, sim, ann)

	w, err := svc.Users.Watch("me", &gmail.WatchRequest{TopicName: topic}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if want := c.Now().Add(7 * 24 * time.Hour).UnixMilli(); w.Expiration != want || w.HistoryId != 1000 {
		t.Errorf("watch = expiration %d history %d, want %d and 1000", w.Expiration, w.HistoryId, want)
	}
	m := sim.AddMessage(ann, googlesim.GmailMessage{})
	if m.ID == "" || m.ThreadID != m.ID || !cmp.Equal(m.LabelIDs, []string{"INBOX"}) {
		t.Errorf("AddMessage defaults: %+v", m)
	}
	sim.LabelMessage(ann, m.ID, []string{"STARRED", "INBOX"}, []string{"UNREAD"}) // only STARRED changes
	sim.LabelMessage(ann, m.ID, []string{"STARRED"}, nil)                         // changes nothing: no record
	sim.DeleteMessage(ann, m.ID)
	if sim.DeleteMessage(ann, m.ID) || sim.LabelMessage(ann, m.ID, []string{"X"}, nil) {
		t.Error("an edit of a deleted message reported a change")
	}

	p, err := svc.Users.GetProfile("me").Do()
	if err != nil || p.HistoryId != 1003 || p.EmailAddress != ann || p.MessagesTotal != 0 {
		t.Errorf("profile = %+v, %v; want history 1003, no messages", p, err)
	}
	// Pages of two (Options.PageSize): three records in two pages.
	var kinds []string
	token := ""
	for pages := 1; ; pages++ {
		call := svc.Users.History.List("me").StartHistoryId(1000)
		if token != "" {
			call.PageToken(token)
		}
		r, err := call.Do()
		if err != nil {
			t.Fatal(err)
		}
		if r.HistoryId != 1003 {
			t.Errorf("page %d: historyId %d, want 1003", pages, r.HistoryId)
		}
		for _, h := range r.History {
			b, _ := h.MarshalJSON()
			var names map[string]json.RawMessage
			json.Unmarshal(b, &names) //nolint:errcheck // the client's own JSON
			for _, k := range []string{"messagesAdded", "messagesDeleted", "labelsAdded", "labelsRemoved"} {
				if names[k] != nil {
					kinds = append(kinds, k)
				}
			}
		}
		if token = r.NextPageToken; token == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 2", pages)
			}
			break
		}
	}
	if diff := cmp.Diff([]string{"messagesAdded", "labelsAdded", "messagesDeleted"}, kinds); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	sim.ExpireHistory(ann)
	if _, err := svc.Users.History.List("me").StartHistoryId(1002).Do(); code(err) != 404 {
		t.Errorf("history from an expired id: %v, want 404", err)
	}
	if r, err := svc.Users.History.List("me").StartHistoryId(1003).Do(); err != nil || len(r.History) != 0 {
		t.Errorf("history from the current id: %+v, %v; want none", r, err)
	}
	if err := svc.Users.Stop("me").Do(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := svc.Users.Stop("me").Do(); err != nil {
		t.Errorf("a second stop: %v, want 204 too", err)
	}
	if s := sim.Stats(); s.WatchCalls != 1 || s.WatchOK != 1 || s.StopCalls != 2 || s.StopOK != 1 || s.GetCalls != 1 || s.ListCalls != 4 {
		t.Errorf("Stats = %+v", s)
	}
}

// TestGmailRefusals: Gmail's refusals, and the failures tests inject.
func TestGmailRefusals(t *testing.T) {
	t.Parallel()
	sim := start(t, googlesim.Options{})
	sim.RevokeSubject("eve@example.com")
	sim.FailNext(1, googlesim.Match{Op: googlesim.OpList, Kind: googlesim.KindGmailUsers, ResourceID: "bob@example.com"}, googlesim.FailUnavailable)
	for _, tc := range []struct {
		name    string
		subject string
		call    func(*gmail.Service) error
		want    int
	}{
		// The service account has no mailbox.
		{"service account", "", func(s *gmail.Service) error {
			_, err := s.Users.Watch("me", &gmail.WatchRequest{TopicName: topic}).Do()
			return err
		}, 400},
		// A revoked grant is 401 on every call.
		{"revoked", "eve@example.com", func(s *gmail.Service) error { return s.Users.Stop("me").Do() }, 401},
		// Delegation reaches only the subject's own mailbox.
		{"other mailbox", "ann@example.com", func(s *gmail.Service) error {
			_, err := s.Users.GetProfile("bob@example.com").Do()
			return err
		}, 403},
		// A topic that is not a full topic name.
		{"bad topic", "ann@example.com", func(s *gmail.Service) error {
			_, err := s.Users.Watch("me", &gmail.WatchRequest{TopicName: "gmail-in"}).Do()
			return err
		}, 400},
		// An unknown label filter behavior.
		{"bad behavior", "ann@example.com", func(s *gmail.Service) error {
			_, err := s.Users.Watch("me", &gmail.WatchRequest{TopicName: topic, LabelIds: []string{"A"}, LabelFilterBehavior: "only"}).Do()
			return err
		}, 400},
		// An injected failure, matched by mailbox, fails once.
		{"injected", "bob@example.com", func(s *gmail.Service) error {
			_, err := s.Users.History.List("me").StartHistoryId(1000).Do()
			return err
		}, 503},
		// ...and the next call goes through.
		{"after injected", "bob@example.com", func(s *gmail.Service) error {
			_, err := s.Users.History.List("me").StartHistoryId(1000).Do()
			return err
		}, 0},
	} {
		if got := code(tc.call(gmailAs(t, sim, tc.subject))); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestGmailMailboxCase: Gmail names a mailbox by its lower-case address. A
// subject written in another case reaches the same mailbox, as does an
// edit, and the push and the profile name it in lower case. A deleted
// message's history entry names it by id and thread only.
func TestGmailMailboxCase(t *testing.T) {
	t.Parallel()
	const ann = "ann@example.com"
	pub := &published{}
	sim := start(t, googlesim.Options{Publish: pub.publish})
	svc := gmailAs(t, sim, "Ann@Example.com")
	if _, err := svc.Users.Watch("me", &gmail.WatchRequest{TopicName: topic}).Do(); err != nil {
		t.Fatalf("watch as Ann@Example.com: %v", err)
	}
	// Delegation reaches the subject's own mailbox in any case.
	if _, err := svc.Users.GetProfile("ANN@example.com").Do(); err != nil {
		t.Errorf("profile of ANN@example.com as Ann@Example.com: %v", err)
	}
	m := sim.AddMessage("ANN@EXAMPLE.COM", googlesim.GmailMessage{LabelIDs: []string{"INBOX", "STARRED"}})
	sim.DeleteMessage(ann, m.ID)
	want := []string{
		topic + ` {"emailAddress":"ann@example.com","historyId":1001}`,
		topic + ` {"emailAddress":"ann@example.com","historyId":1002}`,
	}
	if diff := cmp.Diff(want, pub.list()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	if ps := sim.GmailPushes(); len(ps) != 2 || ps[0].Mailbox != ann {
		t.Errorf("pushes %+v, want two of %s", ps, ann)
	}
	p, err := svc.Users.GetProfile("me").Do()
	if err != nil || p.EmailAddress != ann || p.HistoryId != 1002 {
		t.Errorf("profile = %+v, %v; want %s at 1002", p, err, ann)
	}
	r, err := svc.Users.History.List("me").StartHistoryId(1001).Do()
	if err != nil || len(r.History) != 1 || len(r.History[0].MessagesDeleted) != 1 {
		t.Fatalf("history after 1001 = %+v, %v; want the deletion", r, err)
	}
	if got := r.History[0].MessagesDeleted[0].Message; got.Id != m.ID || got.ThreadId != m.ThreadID || got.LabelIds != nil {
		t.Errorf("deleted message %+v; want its id and thread, no labels", got)
	}
}

// TestGmailHistoryKeepsLabels: a history record holds its message as its
// edit left it; a later edit of the message does not rewrite it.
func TestGmailHistoryKeepsLabels(t *testing.T) {
	t.Parallel()
	const ann = "ann@example.com"
	sim := start(t, googlesim.Options{})
	m := sim.AddMessage(ann, googlesim.GmailMessage{LabelIDs: []string{"INBOX", "Label_A"}})
	sim.LabelMessage(ann, m.ID, nil, []string{"INBOX"})
	r, err := gmailAs(t, sim, ann).Users.History.List("me").StartHistoryId(1000).Do()
	if err != nil || len(r.History) != 2 || len(r.History[0].MessagesAdded) != 1 {
		t.Fatalf("history = %+v, %v; want the addition and the label change", r, err)
	}
	if got := r.History[0].MessagesAdded[0].Message.LabelIds; !cmp.Equal(got, []string{"INBOX", "Label_A"}) {
		t.Errorf("the addition's labels %q, want [INBOX Label_A] as added", got)
	}
	if !cmp.Equal(m.LabelIDs, []string{"INBOX", "Label_A"}) {
		t.Errorf("AddMessage's answer became %q", m.LabelIDs)
	}
}
