package googlesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/internal/wait"
)

// Gmail's push side: users.watch, users.stop, users.history.list and
// users.getProfile on per-user mailboxes, and the edits that add history
// and publish Gmail's push payload to the watch's Pub/Sub topic through
// Options.Publish.

// KindGmailUsers is the kind of a Gmail watch; Call.Kind of every Gmail
// call.
const KindGmailUsers = "gmail.users"

const (
	gmailLifetime     = 7 * day // users.watch's grant, per the push guide
	gmailFirstHistory = 1000    // a new mailbox's history id
	maxHistoryPage    = 500     // history.list maxResults
)

// gmailTopic is a Pub/Sub topic's full name, which users.watch requires.
var gmailTopic = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)

// FailNoMailbox is Gmail's answer to a call made as a service account
// itself, which has no mailbox: domain-wide delegation is needed.
var FailNoMailbox = Failure{Code: 400, Reason: "failedPrecondition", Message: "Precondition check failed."}

// GmailMessage is a message as far as the simulator keeps one.
type GmailMessage struct {
	ID       string   // a fresh 16-hex-digit id when empty
	ThreadID string   // the message id when empty
	LabelIDs []string // ["INBOX"] when nil
}

// GmailPush is one push Gmail made to a watch's topic.
type GmailPush struct {
	Topic     string
	Mailbox   string
	HistoryID uint64
	Data      []byte // {"emailAddress": Mailbox, "historyId": HistoryID}
	Err       error  // what Options.Publish answered
}

// gmailData holds the mailboxes; guarded by Sim.mu, its map made on first
// use.
type gmailData struct {
	seq       int64 // the last message id handed out
	mailboxes map[string]*mailbox
	pushes    []GmailPush
}

// mailbox is one user's mailbox.
type mailbox struct {
	historyID uint64 // the current history id
	floor     uint64 // history ids below it are no longer kept (ExpireHistory)
	messages  map[string]*GmailMessage
	history   []gmailRecord // oldest first
	watch     *gmailWatch   // nil until watched
}

// gmailRecord is one history record: one edit of one message.
type gmailRecord struct {
	id      uint64
	change  string       // messagesAdded, messagesDeleted or labels
	message GmailMessage // as the edit left it
	added   []string     // labels added (change labels)
	removed []string     // labels removed
}

// gmailWatch is a mailbox's watch; Gmail keeps one per user.
type gmailWatch struct {
	topic      string
	labelIDs   []string
	behavior   string // include or exclude
	expiration time.Time
	stopped    bool
}

func (w *gmailWatch) live(now time.Time) bool {
	return w != nil && !w.stopped && now.Before(w.expiration)
}

// selects says whether a change touching a message with labels is pushed:
// any label of the watch's (include) or none of them (exclude).
func (w *gmailWatch) selects(labels []string) bool {
	if len(w.labelIDs) == 0 {
		return true
	}
	hit := slices.ContainsFunc(labels, func(l string) bool { return slices.Contains(w.labelIDs, l) })
	return hit == (w.behavior != "exclude")
}

func (s *Sim) gmailRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /gmail/v1/users/{userId}/watch", s.gmailCall(OpWatch, s.gmailWatch))
	mux.HandleFunc("POST /gmail/v1/users/{userId}/stop", s.gmailCall(OpStop, s.gmailStop))
	mux.HandleFunc("GET /gmail/v1/users/{userId}/history", s.gmailCall(OpList, s.gmailHistory))
	mux.HandleFunc("GET /gmail/v1/users/{userId}/profile", s.gmailCall(OpGet, s.gmailProfile))
}

// gmailHandler answers one Gmail call on mailbox m; s.mu is held. It
// returns the response body, nil for 204.
type gmailHandler func(r *http.Request, name string, m *mailbox) (any, *Failure)

// gmailCall does what every Gmail call shares: latency, Hold, counting,
// the caller's mailbox and injected failures, in Google's order.
func (s *Sim) gmailCall(op string, h gmailHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if wait.Sleep(r.Context(), s.opts.Latency) != nil {
			return
		}
		sub, user := subjectOf(r), r.PathValue("userId")
		name := user
		if user == "me" {
			name = sub
		}
		call := Call{Op: op, Kind: KindGmailUsers, ResourceID: mailboxName(name), Subject: sub, Path: r.URL.Path}
		if !s.await(w, r, call) {
			return
		}
		s.mu.Lock()
		s.countGmail(op)
		body, f := s.gmailAnswer(r, call, h)
		s.mu.Unlock()
		switch {
		case f != nil:
			writeFailure(w, *f)
		case body == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, body)
		}
	}
}

// gmailAnswer checks the caller, then runs h; s.mu must be held.
func (s *Sim) gmailAnswer(r *http.Request, call Call, h gmailHandler) (any, *Failure) {
	if f, failed := s.injected(call); failed {
		return nil, &f
	}
	switch {
	case call.Subject == "":
		return nil, &FailNoMailbox
	case !strings.EqualFold(call.ResourceID, call.Subject):
		// Delegation grants the subject's own mailbox only.
		return nil, &Failure{Code: 403, Reason: "forbidden", Message: "Delegation denied for " + call.Subject}
	}
	return h(r, call.ResourceID, s.mailbox(call.ResourceID))
}

func (s *Sim) countGmail(op string) {
	switch op {
	case OpWatch:
		s.stats.WatchCalls++
	case OpStop:
		s.stats.StopCalls++
	case OpList:
		s.stats.ListCalls++
	case OpGet:
		s.stats.GetCalls++
	}
}

// gmailWatch serves users.watch: a new call replaces the mailbox's watch,
// topic, labels and a fresh 7 days included.
func (s *Sim) gmailWatch(r *http.Request, _ string, m *mailbox) (any, *Failure) {
	var req struct {
		TopicName           string   `json:"topicName"`
		LabelIDs            []string `json:"labelIds"`
		LabelFilterBehavior string   `json:"labelFilterBehavior"`
		LabelFilterAction   string   `json:"labelFilterAction"` // the deprecated name
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		return nil, &Failure{Code: 400, Reason: "parseError", Message: "Parse Error"}
	}
	behavior := strings.ToLower(req.LabelFilterBehavior)
	if behavior == "" {
		behavior = strings.ToLower(req.LabelFilterAction)
	}
	switch {
	case !gmailTopic.MatchString(req.TopicName):
		return nil, &Failure{Code: 400, Reason: "invalidArgument", Message: "Invalid topicName does not match projects/SOME_ANDROID_PROJECT/topics/*"}
	case behavior != "" && behavior != "include" && behavior != "exclude":
		return nil, &Failure{Code: 400, Reason: "invalidArgument", Message: "Invalid value for labelFilterBehavior"}
	}
	m.watch = &gmailWatch{topic: req.TopicName, labelIDs: slices.Clone(req.LabelIDs), behavior: behavior,
		expiration: s.opts.Now().Add(gmailLifetime).Truncate(time.Millisecond)}
	s.stats.WatchOK++
	return map[string]string{
		"historyId":  strconv.FormatUint(m.historyID, 10),
		"expiration": strconv.FormatInt(m.watch.expiration.UnixMilli(), 10),
	}, nil
}

// gmailStop serves users.stop: 204 whether or not a watch was live.
func (s *Sim) gmailStop(_ *http.Request, _ string, m *mailbox) (any, *Failure) {
	if m.watch.live(s.opts.Now()) {
		m.watch.stopped = true
		s.stats.StopOK++
	}
	return nil, nil
}

// gmailProfile serves users.getProfile.
func (s *Sim) gmailProfile(_ *http.Request, name string, m *mailbox) (any, *Failure) {
	threads := map[string]bool{}
	for _, msg := range m.messages {
		threads[msg.ThreadID] = true
	}
	return map[string]any{"emailAddress": name, "messagesTotal": len(m.messages), "threadsTotal": len(threads),
		"historyId": strconv.FormatUint(m.historyID, 10)}, nil
}

// gmailHistory serves users.history.list: the records after
// startHistoryId, oldest first, paged by a token that is the last record
// id of the page before.
func (s *Sim) gmailHistory(r *http.Request, _ string, m *mailbox) (any, *Failure) {
	q := r.URL.Query()
	start, err := strconv.ParseUint(q.Get("startHistoryId"), 10, 64)
	switch {
	case q.Get("startHistoryId") == "":
		return nil, &Failure{Code: 400, Reason: "invalidArgument", Message: "Missing startHistoryId", Location: "startHistoryId"}
	case err != nil:
		return nil, &Failure{Code: 400, Reason: "invalidArgument", Message: "Invalid startHistoryId", Location: "startHistoryId"}
	case start < m.floor || start == 0:
		return nil, &Failure{Code: 404, Reason: "notFound", Message: "Requested entity was not found."}
	}
	if f := refuseQuery(KindGmailUsers, q); f != nil {
		return nil, f
	}
	size := pageSize(q, "maxResults", s.opts.PageSize, maxHistoryPage)
	after := start
	if tok := q.Get("pageToken"); tok != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(tok, "h"), 10, 64)
		if !strings.HasPrefix(tok, "h") || err != nil || n < start || n > m.historyID {
			return nil, &Failure{Code: 400, Reason: "invalidArgument", Message: "Invalid pageToken", Location: "pageToken"}
		}
		after = n
	}
	var page []map[string]any
	body := map[string]any{"historyId": strconv.FormatUint(m.historyID, 10)}
	for _, rec := range m.history {
		if rec.id <= after {
			continue
		}
		if len(page) == size {
			body["nextPageToken"] = "h" + strconv.FormatUint(after, 10)
			break
		}
		page, after = append(page, rec.json()), rec.id
	}
	if len(page) > 0 {
		body["history"] = page
	}
	return body, nil
}

// json is the record as Gmail's History resource. A deleted message is
// named by its id and thread only: Gmail keeps no labels of it.
func (rec gmailRecord) json() map[string]any {
	msg := map[string]any{"id": rec.message.ID, "threadId": rec.message.ThreadID, "labelIds": rec.message.LabelIDs}
	if rec.change == "messagesDeleted" {
		delete(msg, "labelIds")
	}
	h := map[string]any{"id": strconv.FormatUint(rec.id, 10),
		"messages": []map[string]any{{"id": rec.message.ID, "threadId": rec.message.ThreadID}}}
	switch rec.change {
	case "messagesAdded", "messagesDeleted":
		h[rec.change] = []map[string]any{{"message": msg}}
	default:
		if len(rec.added) > 0 {
			h["labelsAdded"] = []map[string]any{{"message": msg, "labelIds": rec.added}}
		}
		if len(rec.removed) > 0 {
			h["labelsRemoved"] = []map[string]any{{"message": msg, "labelIds": rec.removed}}
		}
	}
	return h
}

// mailboxName is the name Gmail knows a mailbox by: its address in lower
// case, whatever case a caller wrote it in.
func mailboxName(address string) string { return strings.ToLower(address) }

// mailbox returns a user's mailbox, made on first use; s.mu must be held.
// name is the mailbox's name (mailboxName).
func (s *Sim) mailbox(name string) *mailbox {
	if s.gmail.mailboxes == nil {
		s.gmail.mailboxes = make(map[string]*mailbox)
	}
	m := s.gmail.mailboxes[name]
	if m == nil {
		m = &mailbox{historyID: gmailFirstHistory, messages: make(map[string]*GmailMessage)}
		s.gmail.mailboxes[name] = m
	}
	return m
}

// AddMessage adds a message to a mailbox (messagesAdded) and returns it
// with its defaults filled in.
func (s *Sim) AddMessage(mailbox string, msg GmailMessage) GmailMessage {
	mailbox = mailboxName(mailbox)
	s.mu.Lock()
	m := s.mailbox(mailbox)
	if msg.ID == "" {
		s.gmail.seq++
		msg.ID = fmt.Sprintf("%016x", 0x18c0000000000000+s.gmail.seq)
	}
	if msg.ThreadID == "" {
		msg.ThreadID = msg.ID
	}
	if msg.LabelIDs == nil {
		msg.LabelIDs = []string{"INBOX"}
	}
	msg.LabelIDs = slices.Clone(msg.LabelIDs)
	stored := msg
	// Its own labels: a later edit of the message must not change the
	// history record below, nor what is returned.
	stored.LabelIDs = slices.Clone(msg.LabelIDs)
	m.messages[msg.ID] = &stored
	push := s.gmailRecord(mailbox, m, gmailRecord{change: "messagesAdded", message: msg}, msg.LabelIDs)
	s.mu.Unlock()
	s.publishGmail(push)
	return msg
}

// DeleteMessage deletes a message for good (messagesDeleted); it reports
// false when the mailbox has no such message.
func (s *Sim) DeleteMessage(mailbox, id string) bool {
	mailbox = mailboxName(mailbox)
	s.mu.Lock()
	m := s.mailbox(mailbox)
	msg := m.messages[id]
	if msg == nil {
		s.mu.Unlock()
		return false
	}
	delete(m.messages, id)
	push := s.gmailRecord(mailbox, m, gmailRecord{change: "messagesDeleted", message: *msg}, msg.LabelIDs)
	s.mu.Unlock()
	s.publishGmail(push)
	return true
}

// LabelMessage adds and removes labels of a message, in one history
// record holding labelsAdded and labelsRemoved; labels it already has, or
// lacks, change nothing, and an edit that changes nothing makes no record.
// It reports false when the mailbox has no such message.
func (s *Sim) LabelMessage(mailbox, id string, add, remove []string) bool {
	mailbox = mailboxName(mailbox)
	s.mu.Lock()
	m := s.mailbox(mailbox)
	msg := m.messages[id]
	if msg == nil {
		s.mu.Unlock()
		return false
	}
	before := slices.Clone(msg.LabelIDs)
	rec := gmailRecord{change: "labels"}
	for _, l := range add {
		if !slices.Contains(msg.LabelIDs, l) {
			msg.LabelIDs = append(msg.LabelIDs, l)
			rec.added = append(rec.added, l)
		}
	}
	for _, l := range remove {
		if i := slices.Index(msg.LabelIDs, l); i >= 0 {
			msg.LabelIDs = slices.Delete(msg.LabelIDs, i, i+1)
			rec.removed = append(rec.removed, l)
		}
	}
	var push *GmailPush
	if len(rec.added)+len(rec.removed) > 0 {
		rec.message = *msg
		rec.message.LabelIDs = slices.Clone(msg.LabelIDs)
		// A watch on a label hears of the label leaving too.
		push = s.gmailRecord(mailbox, m, rec, append(before, rec.added...))
	}
	s.mu.Unlock()
	s.publishGmail(push)
	return true
}

// ExpireHistory drops a mailbox's history: history.list from any history
// id older than the current one is answered 404 notFound, as Gmail
// answers one it no longer keeps.
func (s *Sim) ExpireHistory(mailbox string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailbox(mailboxName(mailbox))
	m.floor = m.historyID
}

// GmailPushes returns every push made so far to a live watch whose label
// filter selected the change, oldest first, whether or not
// Options.Publish is set.
func (s *Sim) GmailPushes() []GmailPush {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gmail.pushes)
}

// gmailRecord appends rec to m's history under a new history id and
// returns the push it makes, or nil when no live watch selects a message
// with labels; s.mu must be held.
func (s *Sim) gmailRecord(name string, m *mailbox, rec gmailRecord, labels []string) *GmailPush {
	m.historyID++
	rec.id = m.historyID
	m.history = append(m.history, rec)
	if s.closed || !m.watch.live(s.opts.Now()) || !m.watch.selects(labels) {
		return nil
	}
	data, err := json.Marshal(map[string]any{"emailAddress": name, "historyId": rec.id})
	if err != nil {
		panic(err) // a string and a number always encode
	}
	return &GmailPush{Topic: m.watch.topic, Mailbox: name, HistoryID: rec.id, Data: data}
}

// publishGmail publishes p through Options.Publish, outside s.mu since
// the publisher may call back, and records it.
func (s *Sim) publishGmail(p *GmailPush) {
	if p == nil {
		return
	}
	if s.opts.Publish != nil {
		p.Err = s.opts.Publish(p.Topic, p.Data)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gmail.pushes = append(s.gmail.pushes, *p)
}
