package receive_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/receive"
)

// parseToken is the token the parse tests send; no error may carry it.
const parseToken = "s3cret-channel-token-never-logged"

// goodHeaders is a valid Drive update notification, as a raw header map whose
// keys are spelled the way Google's documentation spells them (not Go's
// canonical form) and whose values carry Google's leading spaces.
func goodHeaders() http.Header {
	return http.Header{
		"X-Goog-Channel-ID":         {"4ba78bf0-6a47-11e2-bcfd-0800200c9a66"},
		"X-Goog-Channel-Token":      {parseToken},
		"X-Goog-Channel-Expiration": {"Tue, 19 Nov 2013 01:13:52 GMT"},
		"X-Goog-Resource-ID":        {"  ret08u3rv24htgh289g"},
		"X-Goog-Resource-URI":       {"https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g"},
		"X-Goog-Resource-State":     {"  update"},
		"X-Goog-Changed":            {"content,properties"},
		"X-Goog-Message-Number":     {"10"},
	}
}

// goodNotification is what goodHeaders parse to.
func goodNotification() receive.Notification {
	return receive.Notification{
		ChannelID:     "4ba78bf0-6a47-11e2-bcfd-0800200c9a66",
		MessageNumber: 10,
		ResourceID:    "ret08u3rv24htgh289g",
		ResourceState: "update",
		ResourceURI:   "https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g",
		Expiration:    time.Date(2013, 11, 19, 1, 13, 52, 0, time.UTC),
		Token:         parseToken,
		Changed:       []string{"content", "properties"},
	}
}

// headersWith returns goodHeaders after edit, which may delete or add keys of any
// case.
func headersWith(edit func(h http.Header)) http.Header {
	h := goodHeaders()
	edit(h)
	return h
}

// setHeader replaces a header whatever the case of its existing key.
func setHeader(h http.Header, name string, values ...string) {
	delHeader(h, name)
	h[name] = values
}

// delHeader removes a header under every spelling of its name.
func delHeader(h http.Header, name string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		h       http.Header
		want    func(n *receive.Notification) // edits goodNotification; nil: unchanged
		wantErr error
	}{
		// Google's documented spelling, leading double spaces and all,
		// parses to the trimmed values.
		{name: "google spelling", h: goodHeaders()},
		// Go's canonical names (what net/http hands a server) parse the same.
		{name: "canonical names", h: func() http.Header {
			out := http.Header{}
			for k, v := range goodHeaders() {
				out[http.CanonicalHeaderKey(k)] = v
			}
			return out
		}()},
		// Lower-case names, as HTTP/2 sends them and as a hand-built map
		// may hold them.
		{name: "lower-case names", h: func() http.Header {
			out := http.Header{}
			for k, v := range goodHeaders() {
				out[strings.ToLower(k)] = v
			}
			return out
		}()},
		// googleapiclient's own mixed-case spellings.
		{name: "mixed-case names", h: func() http.Header {
			out := http.Header{}
			for k, v := range goodHeaders() {
				mixed := []byte(strings.ToLower(k))
				for i := 0; i < len(mixed); i += 2 {
					mixed[i] = strings.ToUpper(string(mixed[i]))[0]
				}
				out[string(mixed)] = v
			}
			return out
		}()},
		// Trailing spaces and tabs go as well as leading ones.
		{name: "values trimmed both sides", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-ID", "\t 4ba78bf0-6a47-11e2-bcfd-0800200c9a66  ")
			setHeader(h, "X-Goog-Message-Number", " 10 ")
			setHeader(h, "X-Goog-Channel-Token", "  "+parseToken+"\t")
		})},

		// Message numbers: a positive base-10 integer and nothing else.
		// 1 is the sync message's number.
		{name: "message number 1", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "1") }),
			want: func(n *receive.Notification) { n.MessageNumber = 1 }},
		// The largest int64 still fits.
		{name: "message number max int64", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "9223372036854775807") }),
			want: func(n *receive.Notification) { n.MessageNumber = 9223372036854775807 }},
		// Leading zeros are still base 10, not octal.
		{name: "message number leading zeros", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "010") }),
			want: func(n *receive.Notification) { n.MessageNumber = 10 }},
		// Zero is not a message number Google sends.
		{name: "message number 0", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "0") }), wantErr: receive.ErrBadHeader},
		// Negative.
		{name: "message number -1", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "-1") }), wantErr: receive.ErrBadHeader},
		// Not a number.
		{name: "message number abc", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "abc") }), wantErr: receive.ErrBadHeader},
		// An exponent is a float's syntax, not an integer's.
		{name: "message number 1e3", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "1e3") }), wantErr: receive.ErrBadHeader},
		// strconv would take the sign; Google never sends one.
		{name: "message number +1", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "+1") }), wantErr: receive.ErrBadHeader},
		// A decimal point.
		{name: "message number 1.0", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "1.0") }), wantErr: receive.ErrBadHeader},
		// Hex.
		{name: "message number 0x10", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "0x10") }), wantErr: receive.ErrBadHeader},
		// Digits outside ASCII are not base-10 digits here.
		{name: "message number arabic-indic digits", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "١٠") }), wantErr: receive.ErrBadHeader},
		// Empty is missing.
		{name: "message number empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "") }), wantErr: receive.ErrMissingHeader},
		// One past int64 overflows.
		{name: "message number int64 overflow", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", "9223372036854775808") }), wantErr: receive.ErrBadHeader},
		// Far past it.
		{name: "message number huge", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Message-Number", strings.Repeat("9", 400)) }), wantErr: receive.ErrBadHeader},

		// Every header Google always sends: absent, then empty, then blank.
		{name: "channel id missing", h: headersWith(func(h http.Header) { delHeader(h, "X-Goog-Channel-ID") }), wantErr: receive.ErrMissingHeader},
		{name: "channel id empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-ID", "") }), wantErr: receive.ErrMissingHeader},
		{name: "channel id blank", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-ID", "   ") }), wantErr: receive.ErrMissingHeader},
		// A header present with no values at all counts as missing.
		{name: "channel id no values", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-ID") }), wantErr: receive.ErrMissingHeader},
		{name: "message number missing", h: headersWith(func(h http.Header) { delHeader(h, "X-Goog-Message-Number") }), wantErr: receive.ErrMissingHeader},
		{name: "resource id missing", h: headersWith(func(h http.Header) { delHeader(h, "X-Goog-Resource-ID") }), wantErr: receive.ErrMissingHeader},
		{name: "resource id empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Resource-ID", "") }), wantErr: receive.ErrMissingHeader},
		{name: "resource state missing", h: headersWith(func(h http.Header) { delHeader(h, "X-Goog-Resource-State") }), wantErr: receive.ErrMissingHeader},
		{name: "resource state empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Resource-State", "  ") }), wantErr: receive.ErrMissingHeader},
		{name: "resource uri missing", h: headersWith(func(h http.Header) { delHeader(h, "X-Goog-Resource-URI") }), wantErr: receive.ErrMissingHeader},
		{name: "resource uri empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Resource-URI", "") }), wantErr: receive.ErrMissingHeader},

		// The optional headers may be absent: the notification is still
		// valid (Validate refuses a missing token later, with 403).
		{name: "optional headers absent", h: headersWith(func(h http.Header) {
			delHeader(h, "X-Goog-Channel-Token")
			delHeader(h, "X-Goog-Channel-Expiration")
			delHeader(h, "X-Goog-Changed")
		}), want: func(n *receive.Notification) { n.Token, n.Expiration, n.Changed = "", time.Time{}, nil }},
		// An empty token header parses to no token.
		{name: "token empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-Token", "") }),
			want: func(n *receive.Notification) { n.Token = "" }},

		// The same header twice with the same value is harmless.
		{name: "duplicate same value", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Message-Number", "10", "10")
		})},
		// Same value up to Google's spacing.
		{name: "duplicate same value after trimming", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Resource-ID", "ret08u3rv24htgh289g", "  ret08u3rv24htgh289g")
		})},
		// Two different message numbers: which one Google meant is unknowable.
		{name: "duplicate message number differs", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Message-Number", "10", "11")
		}), wantErr: receive.ErrBadHeader},
		// Two channel ids.
		{name: "duplicate channel id differs", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-ID", "a", "b")
		}), wantErr: receive.ErrBadHeader},
		// Two tokens: refused outright rather than tried one by one.
		{name: "duplicate token differs", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-Token", parseToken, parseToken+"-2")
		}), wantErr: receive.ErrBadHeader},
		// A duplicate under two spellings of the name (only a hand-built
		// map can hold that) is still a duplicate.
		{name: "duplicate under two spellings differs", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-Token", parseToken)
			h["x-goog-channel-token"] = []string{parseToken + "-2"}
		}), wantErr: receive.ErrBadHeader},
		// The same under two spellings with the same value is harmless.
		{name: "duplicate under two spellings same", h: headersWith(func(h http.Header) {
			h["x-goog-message-number"] = []string{"10"}
		})},
		// An optional header duplicated with different values.
		{name: "duplicate changed differs", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Changed", "content", "parents")
		}), wantErr: receive.ErrBadHeader},

		// Expiration: Google's RFC 1123 date, in UTC.
		{name: "expiration numeric zone to utc", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-Expiration", "Tue, 19 Nov 2013 02:13:52 +0100")
		})},
		// Not a date (Google's own sync template shows a placeholder).
		{name: "expiration malformed", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-Expiration", "expiration-date-and-time")
		}), wantErr: receive.ErrBadHeader},
		// Milliseconds since the epoch, as the watch response carries it,
		// is not the header's format.
		{name: "expiration epoch millis", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-Expiration", "1367869013915")
		}), wantErr: receive.ErrBadHeader},
		// RFC 3339 is not RFC 1123.
		{name: "expiration rfc3339", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-Expiration", "2013-11-19T01:13:52Z")
		}), wantErr: receive.ErrBadHeader},
		// A present expiration must be a date: empty is malformed (Google
		// leaves the header out when a channel does not expire).
		{name: "expiration empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-Expiration", "") }),
			wantErr: receive.ErrBadHeader},
		// A zone abbreviation Go does not know would be read as UTC and
		// shift the time silently: refused.
		{name: "expiration unknown zone name", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Channel-Expiration", "Tue, 19 Nov 2013 01:13:52 PST")
		}), wantErr: receive.ErrBadHeader},

		// X-Goog-Changed: with and without spaces after the commas.
		{name: "changed with spaces", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Changed", "content, properties") })},
		// Google's other documented example.
		{name: "changed content permissions", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Changed", "content, permissions") }),
			want: func(n *receive.Notification) { n.Changed = []string{"content", "permissions"} }},
		// Empty items between commas are dropped, spaces trimmed.
		{name: "changed empty items", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Changed", " ,content,, properties , ") })},
		// All five documented values, kept in order.
		{name: "changed every value", h: headersWith(func(h http.Header) {
			setHeader(h, "X-Goog-Changed", "content,properties,parents,children,permissions")
		}), want: func(n *receive.Notification) {
			n.Changed = []string{"content", "properties", "parents", "children", "permissions"}
		}},
		// An empty header is no list.
		{name: "changed empty", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Changed", "") }),
			want: func(n *receive.Notification) { n.Changed = nil }},

		// Resource states Google has not documented yet are kept as sent.
		{name: "unknown resource state kept", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Resource-State", "  teleported") }),
			want: func(n *receive.Notification) { n.ResourceState = "teleported" }},
		// Drive changes example's "changed" (the table says "change").
		{name: "resource state changed kept", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Resource-State", "changed") }),
			want: func(n *receive.Notification) { n.ResourceState = "changed" }},

		// Limits of what a client may set: a channel id of 64 characters
		// is fine, 65 is not Google's.
		{name: "channel id 64 chars", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-ID", strings.Repeat("c", 64)) }),
			want: func(n *receive.Notification) { n.ChannelID = strings.Repeat("c", 64) }},
		{name: "channel id 65 chars", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-ID", strings.Repeat("c", 65)) }),
			wantErr: receive.ErrBadHeader},
		// A token of 256 characters is fine, 257 is not Google's.
		{name: "token 256 chars", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-Token", strings.Repeat(parseToken[:8], 32)) }),
			want: func(n *receive.Notification) { n.Token = strings.Repeat(parseToken[:8], 32) }},
		{name: "token 257 chars", h: headersWith(func(h http.Header) { setHeader(h, "X-Goog-Channel-Token", strings.Repeat(parseToken[:8], 32)+"x") }),
			wantErr: receive.ErrBadHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := receive.ParseHeaders(tt.h)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseHeaders error = %v, want %v", err, tt.wantErr)
				}
				if msg := err.Error(); strings.Contains(msg, parseToken[:8]) || strings.Contains(msg, "\n") {
					t.Errorf("error %q carries the token or spans lines", msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHeaders: %v", err)
			}
			want := goodNotification()
			if tt.want != nil {
				tt.want(&want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseHeaders (-want +got):\n%s", diff)
			}
			if got.Expiration.Location() != time.UTC {
				t.Errorf("Expiration in %v, want UTC", got.Expiration.Location())
			}
		})
	}
}

// TestParseHeadersErrorsNameTheHeader: the 400's one-line reason says which
// header is wrong, so whoever forged or broke the request can tell.
func TestParseHeadersErrorsNameTheHeader(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		receive.HeaderChannelID, receive.HeaderMessageNumber, receive.HeaderResourceID,
		receive.HeaderResourceState, receive.HeaderResourceURI,
	} {
		_, err := receive.ParseHeaders(headersWith(func(h http.Header) { delHeader(h, name) }))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: error %v does not name it", name, err)
		}
	}
}

// TestIsSync: only the sync state is the first message.
func TestIsSync(t *testing.T) {
	t.Parallel()
	for state, want := range map[string]bool{"sync": true, "exists": false, "Sync": false, "": false} {
		if got := (receive.Notification{ResourceState: state}).IsSync(); got != want {
			t.Errorf("IsSync(%q) = %v, want %v", state, got, want)
		}
	}
}

// FuzzParseHeaders feeds arbitrary header values (and names in lower case or
// Google's case) to ParseHeaders. It must never panic; what it accepts must
// be a notification Receive can use (a message number ≥ 1, a channel id of
// 1 to 64 characters, Changed items trimmed and non-empty, an expiration in
// UTC); and no error may carry the token.
func FuzzParseHeaders(f *testing.F) {
	// Seeds: every documented Google example, then the malformed shapes the
	// table above covers.
	for _, name := range []string{"calendar-exists.http", "sync.http", "drive-files-update.http", "drive-changes.http"} {
		h := seedHeaders(f, name)
		f.Add(h["x-goog-channel-id"], h["x-goog-message-number"], h["x-goog-resource-id"],
			h["x-goog-resource-state"], h["x-goog-resource-uri"], h["x-goog-channel-expiration"],
			h["x-goog-channel-token"], "", h["x-goog-changed"], false)
	}
	f.Add("myid", "1", "http://example.com/resource_1", "sync", "http://example.com/", "", "mytoken", "", "", true)
	f.Add("c", "0", "r", "exists", "u", "Tue, 19 Nov 2013 01:13:52 GMT", "t", "t", " , content,, ", true)
	f.Add("c", "-1", "r", "exists", "u", "Tue, 19 Nov 2013 02:13:52 +0100", "t", "u", "content, permissions", false)
	f.Add("c", "1e3", "r", "x", "u", "1367869013915", " t ", "t", ",", false)
	f.Add(strings.Repeat("c", 65), "+1", " ", "", "", "Tue, 19 Nov 2013 01:13:52 PST", strings.Repeat("t", 257), "", "", true)
	f.Add("c", "99999999999999999999", "r", "s", "u", "", "", "", "", false)

	f.Fuzz(func(t *testing.T, id, num, rid, state, uri, exp, tok, tok2, changed string, lower bool) {
		build := func(tok, tok2 string) http.Header {
			h := http.Header{}
			add := func(name, v string) {
				if v == "" {
					return // absent, the only way to test required headers missing
				}
				if lower {
					name = strings.ToLower(name)
				}
				h[name] = append(h[name], v)
			}
			add("X-Goog-Channel-ID", id)
			add("X-Goog-Message-Number", num)
			add("X-Goog-Resource-ID", rid)
			add("X-Goog-Resource-State", state)
			add("X-Goog-Resource-URI", uri)
			add("X-Goog-Channel-Expiration", exp)
			add("X-Goog-Channel-Token", tok)
			add("X-Goog-Channel-Token", tok2)
			add("X-Goog-Changed", changed)
			return h
		}

		n, err := receive.ParseHeaders(build(tok, tok2))
		if err == nil {
			if n.MessageNumber < 1 {
				t.Errorf("accepted message number %d", n.MessageNumber)
			}
			if n.ChannelID == "" || len(n.ChannelID) > 64 {
				t.Errorf("accepted channel id of %d bytes", len(n.ChannelID))
			}
			if n.ResourceID == "" || n.ResourceState == "" || n.ResourceURI == "" {
				t.Errorf("accepted an empty required value: %+v", n)
			}
			for _, c := range n.Changed {
				if c == "" || c != strings.TrimSpace(c) {
					t.Errorf("Changed item %q is empty or untrimmed", c)
				}
			}
			if len(n.Token) > 256 || n.Token != strings.TrimSpace(n.Token) {
				t.Errorf("accepted token of %d bytes, or untrimmed", len(n.Token))
			}
			if !n.Expiration.IsZero() && n.Expiration.Location() != time.UTC {
				t.Errorf("expiration in %v, want UTC", n.Expiration.Location())
			}
		} else if !errors.Is(err, receive.ErrMissingHeader) && !errors.Is(err, receive.ErrBadHeader) {
			t.Errorf("error %v wraps neither ErrMissingHeader nor ErrBadHeader", err)
		}

		// The secrecy check runs on a canary in the token's place. All the
		// parser may look at in a token is its trimmed length, whether it
		// is empty, and whether a second one equals it; the canary keeps
		// all three. So wherever a token would leak, the canary leaks, and
		// unlike a fuzzed token (which may be "e" or a copy of another
		// value) it cannot turn up in an error by coincidence.
		c1, c2 := canary('~', tok), canary('^', tok2)
		if tok != "" && tok2 != "" && strings.TrimSpace(tok2) == strings.TrimSpace(tok) {
			c2 = c1
		}
		_, cerr := receive.ParseHeaders(build(c1, c2))
		if (cerr == nil) != (err == nil) {
			t.Fatalf("the canary changed the outcome: %v, then %v", err, cerr)
		}
		if cerr == nil {
			return
		}
		for _, c := range []string{c1, c2} {
			if strings.TrimSpace(c) == "" || !strings.Contains(cerr.Error(), c) {
				continue
			}
			elsewhere := false
			for _, v := range []string{id, num, rid, state, uri, exp, changed} {
				elsewhere = elsewhere || strings.Contains(v, c)
			}
			if !elsewhere {
				t.Fatalf("error %q carries the token", cerr)
			}
		}
	})
}

// seedHeaders reads a documented example under testdata/google into lower-case
// names and raw (untrimmed) values; annotations (" // ...") are cut.
func seedHeaders(f *testing.F, name string) map[string]string {
	raw, err := os.ReadFile(filepath.Join("testdata", "google", name))
	if err != nil {
		f.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\n\n")
	h := map[string]string{}
	for _, line := range strings.Split(head, "\n")[1:] { // after the request line
		line, _, _ = strings.Cut(line, " // ")
		if k, v, ok := strings.Cut(line, ":"); ok {
			h[strings.ToLower(k)] = v
		}
	}
	return h
}

// canary stands in for token: absent if it is, blank if it is, else as many
// b as the token has bytes once trimmed.
func canary(b byte, token string) string {
	t := strings.TrimSpace(token)
	switch {
	case token == "":
		return ""
	case t == "":
		return " "
	}
	return strings.Repeat(string(b), len(t))
}
