package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// A setting is one field of Config, as its env tag declares it:
//
//	Field Type `env:"NAME[, positive][, default=VALUE]"`
//
// The field's type says how a value is parsed: a string is taken as given;
// a time.Duration is Go's syntax and not negative, nor zero with positive
// (a deadline of nothing); an int is a positive integer and a float64 a
// positive number (no bound at all is not a bound). A default is written
// as the variable would be and parsed the same way, so it cannot say what
// the variable could not. A default holds no comma.
type setting struct {
	// Name is the environment variable.
	Name string
	// Default is the tag's default as written; "" when there is none.
	Default string

	positive bool
	field    reflect.StructField
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	errNoParser  = errors.New("config: no parser")
)

// settings are Config's fields in their order: FromEnv's, and the docs
// table's.
var settings = settingsOf(reflect.TypeFor[Config]())

// settingsOf reads every field's tag. A tag it cannot read is a mistake in
// this package, found by any test that imports it: it panics.
func settingsOf(t reflect.Type) []setting {
	out := make([]setting, 0, t.NumField())
	for i := range t.NumField() {
		s, err := tagged(t.Field(i))
		if err != nil {
			panic(err)
		}
		out = append(out, s)
	}
	return out
}

// tagged reads one field's env tag, and parses its default.
func tagged(f reflect.StructField) (setting, error) {
	tag, ok := f.Tag.Lookup("env")
	if !ok || strings.TrimSpace(tag) == "" {
		return setting{}, fmt.Errorf("config: field %s has no env tag", f.Name)
	}
	parts := strings.Split(tag, ",")
	s := setting{Name: strings.TrimSpace(parts[0]), field: f}
	for _, opt := range parts[1:] {
		switch opt = strings.TrimSpace(opt); {
		case opt == "positive" && f.Type == durationType:
			s.positive = true
		case strings.HasPrefix(opt, "default="):
			s.Default = strings.TrimPrefix(opt, "default=")
		default:
			return setting{}, fmt.Errorf("config: field %s: env option %q is not positive (durations only) or default=", f.Name, opt)
		}
	}
	// Parsing the default, or "" for none, also finds a type with no parser.
	if _, err := s.parse(s.Default); errors.Is(err, errNoParser) || s.Default != "" && err != nil {
		return setting{}, fmt.Errorf("config: field %s: %w", f.Name, err)
	}
	return s, nil
}

// parse reads v, a value of the variable, as the field's type says. Its
// errors wrap ErrInvalid and name the variable and the value.
func (s setting) parse(v string) (reflect.Value, error) {
	t := s.field.Type
	switch {
	case t == durationType:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return reflect.Value{}, fmt.Errorf("%w: %s=%q is not a duration like 90m", ErrInvalid, s.Name, v)
		}
		if s.positive && d == 0 {
			return reflect.Value{}, fmt.Errorf("%w: %s=%q must be positive", ErrInvalid, s.Name, v)
		}
		return reflect.ValueOf(d), nil
	case t.Kind() == reflect.String:
		return reflect.ValueOf(v).Convert(t), nil
	case t.Kind() == reflect.Int:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return reflect.Value{}, fmt.Errorf("%w: %s=%q is not a positive integer", ErrInvalid, s.Name, v)
		}
		return reflect.ValueOf(n).Convert(t), nil
	case t.Kind() == reflect.Float64:
		q, err := strconv.ParseFloat(v, 64)
		if err != nil || q <= 0 {
			return reflect.Value{}, fmt.Errorf("%w: %s=%q is not a positive number", ErrInvalid, s.Name, v)
		}
		return reflect.ValueOf(q).Convert(t), nil
	}
	return reflect.Value{}, fmt.Errorf("%w for %s, a %s", errNoParser, s.Name, t)
}

// defaults is a Config of every setting's default.
func defaults() Config {
	var c Config
	fields := reflect.ValueOf(&c).Elem()
	for _, s := range settings {
		if s.Default == "" {
			continue
		}
		x, err := s.parse(s.Default)
		if err != nil {
			panic(err) // tagged parsed it already
		}
		fields.FieldByIndex(s.field.Index).Set(x)
	}
	return c
}
