package google

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/watchrelay/watchrelay/store"
)

// What a user may write in a watch, checked before it is stored and before
// a watch call is made.

// ValidateWatch checks what a user writes in a watch before it is stored:
// a known kind, every required param and no unknown one, param values the
// API accepts, a subject for a kind that needs one, a non-negative
// ttlSeconds and, when set, an http(s) address.
// A ttlSeconds above the kind's maximum is not an error: it is capped.
func ValidateWatch(w store.Watch) error {
	k, ok := kinds[w.Kind]
	if !ok {
		names := make([]string, 0, len(kinds))
		for _, k := range Kinds() {
			names = append(names, k.Name)
		}
		return fmt.Errorf("%w %q; known kinds: %s", ErrUnknownKind, w.Kind, strings.Join(names, ", "))
	}
	errs := []error{k.validateParams(w.Params)}
	if k.NeedsSubject && strings.TrimSpace(w.Subject) == "" {
		errs = append(errs, fmt.Errorf("%w: %s needs a subject, the user whose data it watches (domain-wide delegation): the service account has none of its own",
			ErrInvalidWatch, k.Name))
	}
	if w.TTLSeconds < 0 {
		errs = append(errs, fmt.Errorf("%w: ttlSeconds %d is negative", ErrInvalidWatch, w.TTLSeconds))
	}
	if w.Address != "" {
		u, err := url.Parse(w.Address)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%w: address %q is not an absolute https URL", ErrInvalidWatch, w.Address))
		}
	}
	return errors.Join(errs...)
}

// validateParams checks p against the kind's required and optional params
// and its value checks.
func (k Kind) validateParams(p map[string]string) error {
	var errs []error
	for _, name := range k.Required {
		if p[name] == "" {
			errs = append(errs, fmt.Errorf("%w: %s needs param %s", ErrInvalidWatch, k.Name, name))
		}
	}
	names := make([]string, 0, len(p))
	for name := range p {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(k.Required, name) && !slices.Contains(k.Optional, name) {
			errs = append(errs, fmt.Errorf("%w: %s has no param %s (%s)", ErrInvalidWatch, k.Name, name, k.paramsHelp()))
		}
	}
	if k.check != nil {
		errs = append(errs, k.check(p))
	}
	return errors.Join(errs...)
}

// paramsHelp lists the params a kind takes, for error messages.
func (k Kind) paramsHelp() string {
	var parts []string
	if len(k.Required) > 0 {
		parts = append(parts, "required: "+strings.Join(k.Required, ", "))
	}
	if len(k.Optional) > 0 {
		parts = append(parts, "optional: "+strings.Join(k.Optional, ", "))
	}
	if len(parts) == 0 {
		return "it takes none"
	}
	return strings.Join(parts, "; ")
}

// oneOf checks that p[name], when set, is one of values.
func oneOf(p map[string]string, name string, values ...string) error {
	if v, ok := p[name]; ok && v != "" && !slices.Contains(values, v) {
		return fmt.Errorf("%w: param %s=%q is not one of %s", ErrInvalidWatch, name, v, strings.Join(values, ", "))
	}
	return nil
}

// isBool checks that p[name], when set, is a boolean.
func isBool(p map[string]string, name string) error {
	if v, ok := p[name]; ok && v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%w: param %s=%q is not true or false", ErrInvalidWatch, name, v)
		}
	}
	return nil
}

// boolParam reads a boolean param that validation has already checked.
func boolParam(p map[string]string, name string) (value, ok bool) {
	v, err := strconv.ParseBool(p[name])
	return v, err == nil
}

// splitList splits a comma-separated param, dropping blanks.
