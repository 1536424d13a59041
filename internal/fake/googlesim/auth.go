package googlesim

import (
	"net/http"
	"strings"

	"github.com/watchrelay/watchrelay/google"
)

// The simulator checks no credentials, but it learns whose delegation a
// call stands for from its bearer token, as Google does from a real one: the
// stand-in token google.SubjectToken defines, which the production clients
// send in base-URL mode (WATCHRELAY_API_BASE_URL).

// subjectOf is the subject a request's bearer token names: the text after
// SubjectTokenPrefix, or "" (the service account) for any other token or
// none.
func subjectOf(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	sub, ok := strings.CutPrefix(strings.TrimSpace(token), google.SubjectTokenPrefix)
	if !ok {
		return ""
	}
	return sub
}

// RevokeSubject revokes subject's domain-wide delegation grant: from now
// on every call whose token names subject (watch, channels.stop,
// changes.getStartPageToken) is answered like FailAuth, 401 authError
// "Invalid Credentials", before anything else about it is checked, and
// injected failures are not consumed. Calls for other subjects and for
// the service account are unaffected. The subject's open channels are left
// as they are: live until they expire, and still pushed to. The empty
// subject revokes the service account's own access, leaving delegated
// calls alone.
func (s *Sim) RevokeSubject(subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[subject] = true
}

// RestoreSubject undoes RevokeSubject: the grant is given again.
func (s *Sim) RestoreSubject(subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.revoked, subject)
}
