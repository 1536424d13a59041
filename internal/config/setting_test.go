package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestTagged: a tag settingsOf cannot use is refused, saying why, so that
// a mistake in Config stops every test that imports the package.
func TestTagged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		typ  any
		want string // "" for none
	}{
		// Name, option and default, as Config writes them.
		{"full", struct {
			D time.Duration `env:"D, positive, default=4m"`
		}{}, ""},
		// Every field is a setting: none is read from nowhere.
		{"no tag", struct{ S string }{}, "has no env tag"},
		// Only durations can be refused zero: the other numbers are
		// positive already.
		{"positive string", struct {
			S string `env:"S, positive"`
		}{}, `option "positive"`},
		{"unknown option", struct {
			S string `env:"S, required"`
		}{}, `option "required"`},
		// A default the variable could not hold.
		{"bad default", struct {
			N int `env:"N, default=0"`
		}{}, `N="0" is not a positive integer`},
		{"zero positive default", struct {
			D time.Duration `env:"D, positive, default=0s"`
		}{}, `D="0s" must be positive`},
		// A type FromEnv has no parser for.
		{"bool", struct {
			B bool `env:"B"`
		}{}, "no parser for B, a bool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tagged(reflect.TypeOf(tc.typ).Field(0))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("tagged = %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("tagged = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestCell: a field's comment becomes the docs table's meaning without the
// field's name, and a comment that does not start with it is refused.
func TestCell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field, comment, want string
		ok                   bool
	}{
		// "X is ..." reads "...", on one line.
		{"Topic", "Topic is the topic\nid.\n", "the topic id.", true},
		// "X verbs ..." reads "verbs ...".
		{"RenewQPS", "RenewQPS bounds the calls.", "bounds the calls.", true},
		// "X, when ..." reads "when ...".
		{"APIBaseURL", "APIBaseURL, when set, sends.", "when set, sends.", true},
		// A pipe would end the cell.
		{"Port", "Port is a|b.", `a\|b.`, true},
		// A comment about something else, or none, is no meaning.
		{"Port", "Where serve listens.", "", false},
		{"Port", "", "", false},
	} {
		got, err := cell(tc.field, tc.comment)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("cell(%q, %q) = %q, %v; want %q, ok %v", tc.field, tc.comment, got, err, tc.want, tc.ok)
		}
	}
}
