package google

// TEMPORARY stand-ins, replaced at merge by the versions in classify.go and
// kinds.go.

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/watchrelay/watchrelay/store"
)

func IsThrottle(err error) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return false
	}
	if ge.Code == 429 || ge.Code >= 500 {
		return true
	}
	if ge.Code == 403 {
		for _, e := range ge.Errors {
			if slices.Contains(rateReasons, e.Reason) {
				return true
			}
		}
	}
	return false
}

func IsAnswer(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge)
}

func RetryAfter(err error) time.Duration {
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Header == nil {
		return 0
	}
	if n, err := strconv.Atoi(ge.Header.Get("Retry-After")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

func RenewThreshold(w store.Watch, renewBefore time.Duration) time.Duration {
	half := RequestedExpiration(w, time.Time{}).Sub(time.Time{}) / 2
	return min(renewBefore, half)
}
