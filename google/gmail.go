package google

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"google.golang.org/api/gmail/v1"
)

// The gmail.users kind: a mailbox watched through users.watch, which
// publishes {emailAddress, historyId} to watchrelay's inbound Gmail topic
// rather than calling a webhook (docs/DESIGN.md, "Kinds delivered through
// Pub/Sub"). Its changes are read from users.history.list, its cursor a
// history id.

// ErrBadPush: a message on the inbound Gmail topic is not Gmail's push
// payload, {"emailAddress": ..., "historyId": ...}.
var ErrBadPush = errors.New("google: not a Gmail push")

const (
	// gmailMaxTTL is what watchrelay asks a Gmail watch to live: Google's
	// users.watch grant lasts 7 days (gmailDefaultTTL), but the push guide
	// (developers.google.com/workspace/gmail/api/guides/push) recommends
	// calling watch once a day. Capping the granted expiration at the day
	// asked for makes Renew do exactly that, with no Gmail rule of its own.
	gmailMaxTTL     = day
	gmailDefaultTTL = 7 * day
	// maxGmailPage is history.list's largest maxResults.
	maxGmailPage = 500
	// gmailResourceURI names the mailbox a watch acts on: users.watch
	// answers no resource URI, and the subject's mailbox is always "me".
	gmailResourceURI = "https://gmail.googleapis.com/gmail/v1/users/me"
	// gmailMe is the userId of the delegated subject's own mailbox.
	gmailMe = "me"
)

// The change an Item of a Gmail read stands for: which list of a history
// record it comes from.
const (
	gmailMessageAdded   = "messageAdded"
	gmailMessageDeleted = "messageDeleted"
	gmailLabelsAdded    = "labelsAdded"
	gmailLabelsRemoved  = "labelsRemoved"
)

// topicName is the full name of a Pub/Sub topic, which users.watch needs.
var topicName = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)

func init() {
	// gmail.users acts as its subject: a mailbox belongs to a user, and
	// Gmail refuses a service account acting as itself. Google's grant
	// lasts 7 days; watchrelay asks for a day (gmailMaxTTL), so Renew
	// calls users.watch daily, as Google recommends, and each call
	// supersedes the previous grant. The watch's ResourceID is the history
	// id at which the watch began.
	register(Kind{
		Name: "gmail.users", API: APIGmail, Delivery: DeliverGmail, NeedsSubject: true,
		Optional: []string{"labelIds", "labelFilterBehavior"},
		Scopes:   []string{gmail.GmailReadonlyScope},
		MaxTTL:   gmailMaxTTL, DefaultTTL: gmailDefaultTTL,
		check: checkGmail,
		watch: watchGmail,
		stop: func(ctx context.Context, c clients, _ channel) error {
			// users.stop ends the mailbox's one watch, whatever channel
			// record asks: Renew stops only at the end of the last
			// active watch of the mailbox.
			return c.gmail.Users.Stop(gmailMe).Context(ctx).Do()
		},
	})
	readers["gmail.users"] = readGmail
}

// checkGmail checks the label filter: labelFilterBehavior means nothing
// without labels to filter on.
func checkGmail(p map[string]string) error {
	var orphan error
	if p["labelFilterBehavior"] != "" && len(splitList(p["labelIds"])) == 0 {
		orphan = fmt.Errorf("%w: gmail.users labelFilterBehavior needs labelIds", ErrInvalidWatch)
	}
	return errors.Join(oneOf(p, "labelFilterBehavior", "include", "exclude"), orphan)
}

// watchGmail calls users.watch on the subject's mailbox, publishing to the
// topic ch.Address names, with the label filter of p: Renew gives the
// mailbox's (MailboxParams), which replaces the one Gmail held. Gmail has
// no channel id or token: ch.ID and ch.Token are not sent, and pushes are
// authenticated by the Pub/Sub subscription instead.
func watchGmail(ctx context.Context, c clients, p map[string]string, ch channel) (channel, error) {
	if !topicName.MatchString(ch.Address) {
		// A deployment fault, not the watch's: not ErrInvalidWatch, so
		// the watch is retried, and recovers once the topic is set.
		return channel{}, fmt.Errorf("google: gmail.users publishes to a Pub/Sub topic, projects/P/topics/T; the inbound Gmail topic is %q", ch.Address)
	}
	req := &gmail.WatchRequest{
		TopicName:           ch.Address,
		LabelIds:            splitList(p["labelIds"]),
		LabelFilterBehavior: p["labelFilterBehavior"],
	}
	r, err := c.gmail.Users.Watch(gmailMe, req).Context(ctx).Do()
	if err != nil {
		return channel{}, err
	}
	exp := r.Expiration
	if ch.Expiration > 0 && (exp <= 0 || ch.Expiration < exp) {
		exp = ch.Expiration
	}
	return channel{ResourceID: strconv.FormatUint(r.HistoryId, 10), ResourceURI: gmailResourceURI, Expiration: exp}, nil
}

// readGmail reads the mailbox's history since the cursor, a history id. A
// read with no cursor takes the mailbox's current history id from its
// profile: Gmail has no list of changes to page through for a baseline.
// Gmail answers a history id it no longer keeps 404, which here is an
// expired cursor, not a gone mailbox. The history is the whole mailbox's;
// the page holds only the changes the watch's own label filter selects
// (selectGmail).
func readGmail(ctx context.Context, c clients, p map[string]string, req ReadRequest) (Page, error) {
	if req.Cursor == "" {
		prof, err := c.gmail.Users.GetProfile(gmailMe).Context(ctx).Do()
		if err != nil {
			return Page{}, fmt.Errorf("getProfile: %w", err)
		}
		return Page{Cursor: strconv.FormatUint(prof.HistoryId, 10)}, nil
	}
	start, err := strconv.ParseUint(req.Cursor, 10, 64)
	if err != nil || start == 0 {
		// Not a cursor this kind made: a fresh baseline replaces it.
		return Page{}, fmt.Errorf("%w: gmail.users cursor %q is not a history id", ErrCursorExpired, req.Cursor)
	}
	// startHistoryId goes on every page: Gmail pages within one read.
	call := c.gmail.Users.History.List(gmailMe).StartHistoryId(start).MaxResults(maxGmailPage).Context(ctx)
	if req.Page != "" {
		call.PageToken(req.Page)
	}
	r, err := call.Do()
	switch {
	case IsNotFound(err):
		return Page{}, fmt.Errorf("%w: %w", ErrCursorExpired, err)
	case err != nil:
		return Page{}, err
	}
	items, err := gmailItems(r.History)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: selectGmail(p, items), Next: r.NextPageToken}
	if r.NextPageToken != "" {
		// history.list returns the records after startHistoryId, oldest
		// first, so the last record of a page is a cursor from which a
		// read cut off after this page goes on, whichever of its items
		// this watch selects.
		page.Resume = lastHistoryID(r.History)
	}
	if r.NextPageToken == "" {
		// The mailbox's current history id; should Gmail omit it, the
		// cursor stays rather than becoming a guess.
		page.Cursor = req.Cursor
		if r.HistoryId != 0 {
			page.Cursor = strconv.FormatUint(r.HistoryId, 10)
		}
	}
	return page, nil
}

// lastHistoryID is the id of the last record of a page, as a cursor; ""
// when the page has none.
func lastHistoryID(history []*gmail.History) string {
	for i := len(history) - 1; i >= 0; i-- {
		if h := history[i]; h != nil && h.Id != 0 {
			return strconv.FormatUint(h.Id, 10)
		}
	}
	return ""
}

// gmailChange is the JSON of a Gmail item: one entry of a history record.
// Gmail's History resource holds several lists; an item is one entry of
// one list, so it says which (change) and, for a label change, which
// labels were added or removed.
type gmailChange struct {
	HistoryID string       `json:"historyId"`
	Change    string       `json:"change"`
	Message   gmailMessage `json:"message"`
	LabelIDs  []string     `json:"labelIds,omitempty"`
}

// gmailMessage is the part of a message a history record carries.
type gmailMessage struct {
	ID       string   `json:"id"`
	ThreadID string   `json:"threadId,omitempty"`
	LabelIDs []string `json:"labelIds,omitempty"`
}

// gmailItems turns history records into items, one per message entry, in
// Gmail's order. The version is the record id and the change, so the
// event id is the same on a replayed page and differs between two
// changes of one record.
func gmailItems(history []*gmail.History) ([]Item, error) {
	var items []Item
	add := func(h *gmail.History, change string, m *gmail.Message, labels []string) error {
		if m == nil || m.Id == "" {
			return nil
		}
		id := strconv.FormatUint(h.Id, 10)
		v := gmailChange{HistoryID: id, Change: change, LabelIDs: labels,
			Message: gmailMessage{ID: m.Id, ThreadID: m.ThreadId, LabelIDs: m.LabelIds}}
		it, err := item(m.Id, change == gmailMessageDeleted, id+"/"+change, v)
		items = append(items, it)
		return err
	}
	var errs []error
	for _, h := range history {
		if h == nil {
			continue
		}
		for _, e := range h.MessagesAdded {
			errs = append(errs, add(h, gmailMessageAdded, e.Message, nil))
		}
		for _, e := range h.MessagesDeleted {
			errs = append(errs, add(h, gmailMessageDeleted, e.Message, nil))
		}
		for _, e := range h.LabelsAdded {
			errs = append(errs, add(h, gmailLabelsAdded, e.Message, e.LabelIds))
		}
		for _, e := range h.LabelsRemoved {
			errs = append(errs, add(h, gmailLabelsRemoved, e.Message, e.LabelIds))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return items, nil
}

// GmailPush parses the data of a message Gmail published to the inbound
// topic, {"emailAddress": "ann@example.com", "historyId": 1234}: whose
// mailbox changed, its address in the canonical form CanonicalSubject
// gives a watch's subject, and its history id then, as a decimal string.
// Gmail sends historyId as a JSON number; a string is accepted too. The
// error wraps ErrBadPush when the data is not JSON or either field is
// missing.
func GmailPush(data []byte) (email string, historyID string, err error) {
	var p struct {
		EmailAddress string          `json:"emailAddress"`
		HistoryID    json.RawMessage `json:"historyId"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBadPush, err)
	}
	raw := bytes.TrimSpace(p.HistoryID)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", "", fmt.Errorf("%w: historyId %s", ErrBadPush, raw)
		}
		raw = []byte(s)
	}
	id, perr := strconv.ParseUint(string(raw), 10, 64)
	switch {
	case p.EmailAddress == "" && len(raw) == 0:
		return "", "", fmt.Errorf("%w: no emailAddress and no historyId", ErrBadPush)
	case p.EmailAddress == "":
		return "", "", fmt.Errorf("%w: no emailAddress", ErrBadPush)
	case len(raw) == 0 || string(raw) == "null":
		return "", "", fmt.Errorf("%w: no historyId", ErrBadPush)
	case perr != nil || id == 0:
		return "", "", fmt.Errorf("%w: historyId %s is not a history id", ErrBadPush, raw)
	}
	return mailboxAddress(p.EmailAddress), strconv.FormatUint(id, 10), nil
}
