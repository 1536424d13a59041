// Package receive is watchrelay's webhook: it parses Google's push
// notification headers, validates each notification against its channel,
// and publishes it as a CloudEvent, acknowledging Google only once Pub/Sub
// has the event.
//
// Parsing (ParseHeaders) is pure and fuzzed; validation (Validate) is pure
// over a stored channel; the Handler does the one store read and the one
// publish, and maps every error kind to its HTTP status in one place
// (statusOf).
package receive

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// The headers Google sends, as documented.
const (
	HeaderChannelID         = "X-Goog-Channel-Id"
	HeaderMessageNumber     = "X-Goog-Message-Number"
	HeaderResourceID        = "X-Goog-Resource-Id"
	HeaderResourceState     = "X-Goog-Resource-State"
	HeaderResourceURI       = "X-Goog-Resource-Uri"
	HeaderChannelExpiration = "X-Goog-Channel-Expiration"
	HeaderChannelToken      = "X-Goog-Channel-Token"
	HeaderChanged           = "X-Goog-Changed"
)

// Limits Google documents for what a client sets; `channel import` checks
// them too.
const (
	MaxChannelID = 64
	MaxToken     = 256
)

// Parse errors: the request is malformed (400).
var (
	// ErrMissingHeader: a header Google always sends is absent or empty.
	ErrMissingHeader = errors.New("receive: missing header")
	// ErrBadHeader: a header is present but malformed.
	ErrBadHeader = errors.New("receive: malformed header")
)

// Notification is one push notification as Google's headers describe it.
type Notification struct {
	ChannelID     string
	MessageNumber int64
	ResourceID    string
	ResourceState string // kept as sent: Google may add states
	ResourceURI   string
	Expiration    time.Time // zero when Google did not send it
	Token         string    // empty when Google did not send it
	Changed       []string  // Drive update details, trimmed
}

// IsSync reports whether this is the first message of a channel.
func (n Notification) IsSync() bool { return n.ResourceState == "sync" }

// ParseHeaders reads a notification from its headers. Names match in any
// case, values are trimmed (Google's examples carry leading spaces), and a
// header sent twice with different values is refused rather than guessed at.
// Errors wrap ErrMissingHeader or ErrBadHeader, say which header in one line,
// and never contain the token.
func ParseHeaders(h http.Header) (Notification, error) {
	h = canonical(h)
	var n Notification
	var err error
	if n.ChannelID, err = required(h, HeaderChannelID); err != nil {
		return n, err
	}
	if len(n.ChannelID) > MaxChannelID {
		return n, fmt.Errorf("%w: %s longer than %d characters", ErrBadHeader, HeaderChannelID, MaxChannelID)
	}
	num, err := required(h, HeaderMessageNumber)
	if err != nil {
		return n, err
	}
	if n.MessageNumber, err = messageNumber(num); err != nil {
		return n, err
	}
	if n.ResourceID, err = required(h, HeaderResourceID); err != nil {
		return n, err
	}
	if n.ResourceState, err = required(h, HeaderResourceState); err != nil {
		return n, err
	}
	if n.ResourceURI, err = required(h, HeaderResourceURI); err != nil {
		return n, err
	}
	if v, ok, err := optional(h, HeaderChannelExpiration); err != nil {
		return n, err
	} else if ok {
		if n.Expiration, err = expiration(v); err != nil {
			return n, err
		}
	}
	if v, ok, err := optional(h, HeaderChannelToken); err != nil {
		return n, err
	} else if ok {
		if len(v) > MaxToken {
			return n, fmt.Errorf("%w: %s longer than %d characters", ErrBadHeader, HeaderChannelToken, MaxToken)
		}
		n.Token = v
	}
	if v, ok, err := optional(h, HeaderChanged); err != nil {
		return n, err
	} else if ok {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				n.Changed = append(n.Changed, part)
			}
		}
	}
	return n, nil
}

// canonical returns h with every name in canonical form. http.Header read
// from the wire is canonical already (the common case costs one pass and no
// allocation); a map built by hand may not be, and may even hold one header
// under two spellings, whose values are then merged so that a conflict
// between them is seen.
func canonical(h http.Header) http.Header {
	clean := true
	for k := range h {
		if textproto.CanonicalMIMEHeaderKey(k) != k {
			clean = false
			break
		}
	}
	if clean {
		return h
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// optional returns a header's trimmed value; ok is false when it is absent.
// The same header twice with different values is an error: which one Google
// meant cannot be known.
func optional(h http.Header, name string) (string, bool, error) {
	vs := h[name]
	if len(vs) == 0 {
		return "", false, nil
	}
	v := strings.TrimSpace(vs[0])
	for _, other := range vs[1:] {
		if strings.TrimSpace(other) != v {
			return "", false, fmt.Errorf("%w: %s sent twice with different values", ErrBadHeader, name)
		}
	}
	return v, true, nil
}

func required(h http.Header, name string) (string, error) {
	v, ok, err := optional(h, name)
	if err != nil {
		return "", err
	}
	if !ok || v == "" {
		return "", fmt.Errorf("%w: %s", ErrMissingHeader, name)
	}
	return v, nil
}

// messageNumber accepts a positive base-10 integer and nothing else: no
// sign, no exponent, no zero.
func messageNumber(v string) (int64, error) {
	for _, r := range v {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%w: %s %s is not a positive integer", ErrBadHeader, HeaderMessageNumber, quote(v))
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: %s %s is not a positive integer", ErrBadHeader, HeaderMessageNumber, quote(v))
	}
	return n, nil
}

// expiration parses Google's RFC 1123 date ("Tue, 19 Nov 2013 01:13:52 GMT"),
// also with a numeric zone. A zone name other than GMT or UTC is refused:
// Go would read an unknown abbreviation as UTC and shift the time silently.
func expiration(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC1123, v); err == nil {
		if zone, _ := t.Zone(); zone == "GMT" || zone == "UTC" {
			return t.UTC(), nil
		}
	}
	if t, err := time.Parse(time.RFC1123Z, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%w: %s %s is not an RFC 1123 date", ErrBadHeader, HeaderChannelExpiration, quote(v))
}

// quote shows a malformed value in an error: quoted, so the reason stays on
// one line, and cut short, so a forger cannot fill the log.
func quote(v string) string {
	const limit = 40
	if len(v) > limit {
		return strconv.Quote(v[:limit]) + "..."
	}
	return strconv.Quote(v)
}
