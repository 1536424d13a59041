package renew

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/watchrelay/watchrelay/google"
)

// errThrottled: the call was not made, because its API asked this pass to
// slow down. Like any unrecognised error it is transient.
var errThrottled = errors.New("renew: the API asked this pass to slow down")

// throttledReason is why a watch of api was left untried.
func throttledReason(api string) string { return api + " asked this pass to slow down" }

// reason spells out why a watch was deferred or ended.
func reason(api string, err error) string {
	if errors.Is(err, errThrottled) {
		return throttledReason(api)
	}
	return google.Reason(err)
}

// apiOf names the API a kind's calls go to, which throttling is kept per.
func apiOf(kind string) string {
	k, _ := google.LookupKind(kind)
	return k.API
}

// isThrottled reports whether api asked this pass to slow down.
func (r *run) isThrottled(api string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.throttled[api]
}

// call makes a Google call of api, at most attempts times, under the rate
// limit, each within CallTimeout. An API that answers "slow down" (429, a
// rate-limit 403, a 5xx) is not called again for the rest of the pass: one
// throttled API slows only itself, and the load on it does not grow pass
// after pass. Ambiguous failures are retried with exponential backoff while
// the pass has time; each wait is the step jittered by ±50%, not "full
// jitter" (anywhere from zero): with only a few attempts, a retry must still
// wait for Google to recover, while the jitter keeps the workers that failed
// together from retrying together.
func (r *run) call(ctx context.Context, api string, attempts int, f func(context.Context) error) error {
	var err error
	for attempt := range attempts {
		if r.isThrottled(api) {
			return errThrottled
		}
		if werr := r.limiter.Wait(ctx); werr != nil {
			if err == nil {
				err = werr
			}
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
		err = f(cctx)
		cancel()
		if err == nil || google.Classify(err) != google.ClassTransient {
			return err
		}
		if google.IsThrottle(err) {
			r.mu.Lock()
			r.throttled[api] = true
			r.mu.Unlock()
			r.log.Warn("API asked to slow down; no more calls to it this pass", "api", api, "error", google.Reason(err))
			return err
		}
		if attempt == attempts-1 {
			break
		}
		backoff := r.opts.Backoff << attempt
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff/2 + mrand.N(backoff)):
		}
	}
	return err
}

// newToken returns a fresh channel token: 32 random bytes, base64url.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("renew: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
