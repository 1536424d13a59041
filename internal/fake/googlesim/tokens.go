package googlesim

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The tokens of Calendar lists. Google's are opaque; the simulator's are
// too, to a client, and carry what the next call needs: the epoch they
// were handed out in (ExpireSyncTokens ends it), the change sequence
// number a sync token stands for, and where a page token's list stands.

// cursor is where a Calendar list stands.
type cursor struct {
	epoch       int
	since       int64  // items changed after this sequence number...
	upto        int64  // ...and not after this one, which the sync token of the last page will carry
	incremental bool   // started from a sync token: deleted items are always listed
	after       string // the last item id already answered, items going in id order
}

var tokenEncoding = base64.RawURLEncoding

func (c cursor) syncToken() string {
	return tokenEncoding.EncodeToString(fmt.Appendf(nil, "s:%d:%d", c.epoch, c.upto))
}

func (c cursor) pageToken() string {
	inc := 0
	if c.incremental {
		inc = 1
	}
	return tokenEncoding.EncodeToString(fmt.Appendf(nil, "p:%d:%d:%d:%d:%s", c.epoch, c.since, c.upto, inc, c.after))
}

// parseSyncToken reads a sync token into the cursor of a list starting
// from it; ok is false for a token the simulator did not make.
func parseSyncToken(tok string) (c cursor, ok bool) {
	f, ok := fields(tok, "s", 3)
	if !ok {
		return cursor{}, false
	}
	epoch, err1 := strconv.Atoi(f[0])
	seq, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return cursor{}, false
	}
	return cursor{epoch: epoch, since: seq, incremental: true}, true
}

// parsePageToken reads a page token; ok is false for a token the
// simulator did not make.
func parsePageToken(tok string) (c cursor, ok bool) {
	f, ok := fields(tok, "p", 6)
	if !ok {
		return cursor{}, false
	}
	epoch, err1 := strconv.Atoi(f[0])
	since, err2 := strconv.ParseInt(f[1], 10, 64)
	upto, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || (f[3] != "0" && f[3] != "1") {
		return cursor{}, false
	}
	return cursor{epoch: epoch, since: since, upto: upto, incremental: f[3] == "1", after: f[4]}, true
}

// fields decodes a token and splits it into n fields after its prefix;
// the last field takes the rest, as item ids may hold colons.
func fields(tok, prefix string, n int) ([]string, bool) {
	b, err := tokenEncoding.DecodeString(tok)
	if err != nil {
		return nil, false
	}
	f := strings.SplitN(string(b), ":", n)
	if len(f) != n || f[0] != prefix {
		return nil, false
	}
	return f[1:], true
}
