package googlesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/watchrelay/watchrelay/internal/wait"
)

// The watch call: checked as Google checks it, granted, recorded, and
// answered with its sync message before or after the answer.

func (s *Sim) watch(kind string, params resourceParams) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if wait.Sleep(r.Context(), s.opts.Latency) != nil {
			return
		}
		req, bad := decodeChannel(r)
		p, badParam := params(r)
		if badParam == nil {
			badParam = refuseQuery(kind, r.URL.Query())
		}
		call := Call{Op: OpWatch, Kind: kind, ChannelID: req.ID, Subject: subjectOf(r), Path: r.URL.Path}
		if p != nil {
			call.ResourceID = ResourceID(kind, p)
		}
		if !s.await(w, r, call) {
			return
		}
		if f := s.refuseWatch(call, req, bad, badParam); f != nil {
			writeFailure(w, *f)
			return
		}
		now := s.opts.Now()
		exp, f := grant(kind, now, req)
		if f != nil {
			writeFailure(w, *f)
			return
		}
		c := &channel{Channel: Channel{
			ID:          req.ID,
			Kind:        kind,
			Params:      p,
			Subject:     call.Subject,
			ResourceID:  call.ResourceID,
			ResourceURI: resourceURI(kind, p, r.URL.Query()),
			Address:     req.Address,
			Token:       req.Token,
			Expiration:  exp,
			CreatedAt:   now,
		}}
		sync, order, f := s.open(c)
		if f != nil {
			writeFailure(w, *f)
			return
		}
		s.answerWatch(w, r, c, sync, order)
	}
}

// refuseWatch is the failure a watch call gets before any channel is
// made: an injected one first, then what is wrong with the request.
func (s *Sim) refuseWatch(call Call, req channelBody, bad, badParam *Failure) *Failure {
	s.mu.Lock()
	s.stats.WatchCalls++
	f, failed := s.injected(call)
	s.mu.Unlock()
	switch {
	case failed:
		if f.Reason == FailWebhook.Reason && f.Message == "" {
			f.Message = "Unauthorized WebHook callback channel: " + req.Address
		}
		return &f
	case bad != nil:
		return bad
	case badParam != nil:
		return badParam
	}
	return validate(req)
}

// open records a granted channel and its sync message, unless its
// resource is deleted, its id taken, or the simulator closed.
func (s *Sim) open(c *channel) (message, SyncOrder, *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.deleted[c.ResourceID]:
		return message{}, 0, &FailNotFound
	case s.channels[c.ID] != nil:
		msg := fmt.Sprintf("Channel id %s not unique", c.ID)
		return message{}, 0, &Failure{Code: 400, Reason: "channelIdNotUnique", Message: msg}
	case s.closed:
		return message{}, 0, &FailUnavailable
	}
	s.channels[c.ID] = c
	if s.byResource[c.ResourceID] == nil {
		s.byResource[c.ResourceID] = make(map[string]*channel)
	}
	s.byResource[c.ResourceID][c.ID] = c
	s.stats.WatchOK++
	order := s.opts.Sync
	if order == SyncRandom {
		order = SyncFirst + SyncOrder(s.rng.IntN(2))
	}
	sync := s.message(c, "sync", pushOptions{})
	s.begin() // before the response, so a Flush right after the watch sees the sync
	return sync, order, nil
}

// answerWatch answers a granted watch call, with the sync message delivered
// before or after the answer as order says.
func (s *Sim) answerWatch(w http.ResponseWriter, r *http.Request, c *channel, sync message, order SyncOrder) {
	resp := channelBody{
		Kind:        "api#channel",
		ID:          c.ID,
		ResourceID:  c.ResourceID,
		ResourceURI: c.ResourceURI,
		Token:       c.Token,
		Expiration:  millis(c.Expiration.UnixMilli()),
	}
	if order == SyncFirst {
		first := make(chan struct{})
		go s.deliver(sync, first)
		select {
		case <-first:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(resp) //nolint:errcheck // the client went away
	if order == SyncAfter {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		go s.deliver(sync, nil)
	}
}

// validate checks a watch request's channel as Google does.
func validate(c channelBody) *Failure {
	switch {
	case c.ID == "":
		return &Failure{Code: 400, Reason: "required", Message: "Required: id"}
	case len(c.ID) > maxIDLen:
		return &Failure{Code: 400, Reason: "invalid", Message: "Invalid value for: id"}
	case c.Type != "web_hook" && c.Type != "webhook":
		return &Failure{Code: 400, Reason: "invalid", Message: "Invalid value for: type"}
	case c.Address == "":
		return &Failure{Code: 400, Reason: "required", Message: "Required: address"}
	case len(c.Token) > maxTokenLen:
		return &Failure{Code: 400, Reason: "invalid", Message: "Invalid value for: token"}
	}
	u, err := url.Parse(c.Address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &Failure{Code: 400, Reason: "push.webhookUrlNotHttps", Message: "WebHook callback must be HTTPS: " + c.Address}
	}
	return nil
}
