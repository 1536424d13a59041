package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Terraform module (terraform/) sets some settings in the functions'
// environment, from variables whose description names the setting, and
// keeps a few defaults of its own that must be the Go ones. The tests below
// read its files as text, which terraform fmt keeps regular: a top-level
// block ends at a "}" alone at the start of a line, and its attributes are
// indented by two spaces.

// module is terraform/: every *.tf file's text by name, and the tests'.
type module struct {
	files map[string]string // terraform/*.tf
	tests map[string]string // terraform/tests/*.tftest.hcl
}

func readModule(t *testing.T) module {
	t.Helper()
	dir := filepath.Join("..", "..", "terraform")
	read := func(pattern string) map[string]string {
		names, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil || len(names) == 0 {
			t.Fatalf("no terraform/%s: %v", pattern, err)
		}
		out := map[string]string{}
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, name)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return out
	}
	return module{files: read("*.tf"), tests: read(filepath.Join("tests", "*.tftest.hcl"))}
}

// block is the text of the top-level block that opens with header, such as
// `variable "name"`.
func (m module) block(header string) (string, error) {
	for _, src := range m.files {
		if _, rest, ok := strings.Cut("\n"+src, "\n"+header+" {\n"); ok {
			text, _, _ := strings.Cut(rest, "\n}\n")
			return text, nil
		}
	}
	return "", fmt.Errorf("terraform/ has no %s block", header)
}

// attribute is the expression of a block's attribute, as written; "" when
// the block has none.
func attribute(block, name string) string {
	m := regexp.MustCompile(`(?m)^  ` + name + `\s*=\s*(.*)$`).FindStringSubmatch(block)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// variable is a variable's description and default as written ("" when it
// has none, `null` for null).
func (m module) variable(name string) (description, def string, err error) {
	b, err := m.block(`variable "` + name + `"`)
	if err != nil {
		return "", "", err
	}
	if d := attribute(b, "description"); strings.HasPrefix(d, `"`) {
		description, err = strconv.Unquote(d)
	}
	return description, attribute(b, "default"), err
}

// literal is a default's value as the variable would hold it: a string
// unquoted, a number as written.
func literal(def string) (string, error) {
	if strings.HasPrefix(def, `"`) {
		return strconv.Unquote(def)
	}
	if _, err := strconv.ParseFloat(def, 64); err != nil {
		return "", fmt.Errorf("default %s is neither a string nor a number", def)
	}
	return def, nil
}

// sameDefault reports whether v, a value Terraform gives setting s, is
// the Go default, parsed as the variable is (so 600s is 10m).
func sameDefault(s setting, v string) error {
	if s.Default == "" {
		return fmt.Errorf("%s has no default in internal/config, but Terraform's is %q", s.Name, v)
	}
	got, err := s.parse(v)
	if err != nil {
		return fmt.Errorf("Terraform's default: %w", err)
	}
	if want, _ := s.parse(s.Default); got.Interface() != want.Interface() {
		return fmt.Errorf("Terraform's default of %s is %s, internal/config's %s", s.Name, v, s.Default)
	}
	return nil
}

func settingNamed(name string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.Name == name })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// TestTerraform holds terraform/ to Config; TestTerraformChecksFail shows
// that each check catches what it is for.
func TestTerraform(t *testing.T) {
	t.Parallel()
	m := readModule(t)
	for _, err := range slices.Concat(names(m), variableDefaults(m), derivedDefaults(m)) {
		t.Error(err)
	}
}

// names: every variable Terraform puts in an environment (a map key, or an
// export line of cli_env) is a setting, and every WATCHRELAY_ name in
// terraform/, its tests included, is one too, so that a setting renamed in
// Go cannot live on under its old name there.
func names(m module) []error {
	var errs []error
	check := func(file string, names []string) {
		for _, name := range names {
			if _, ok := settingNamed(name); !ok {
				errs = append(errs, fmt.Errorf("terraform/%s names %s, which is no setting of internal/config", file, name))
			}
		}
	}
	named := regexp.MustCompile(`WATCHRELAY_[A-Z0-9_]+`)
	for file, src := range m.tests {
		check(file, named.FindAllString(src, -1))
	}
	set := regexp.MustCompile(`(?m)^\s*([A-Z][A-Z0-9_]*)\s*=|export ([A-Z][A-Z0-9_]*)=`)
	for file, src := range m.files {
		check(file, named.FindAllString(src, -1))
		for _, s := range set.FindAllStringSubmatch(src, -1) {
			check(file, []string{s[1] + s[2]})
		}
	}
	return errs
}

var (
	// A variable that sets a setting names it first in its description
	// ("WATCHRELAY_GRACE: ...") or in parentheses ("(WATCHRELAY_TOPIC)").
	setsSetting = regexp.MustCompile(`^([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+): |\(([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\)`)
	// A null one, left out of the environment, says what the function
	// then uses.
	ownDefault   = regexp.MustCompile(`Null: the function's own default \(internal/config, ([^)]+)\)`)
	variableHead = regexp.MustCompile(`(?m)^variable "(\w+)" \{$`)
)

// variableDefaults: a variable that sets a setting has its default: a
// literal default is the Go one (600s and 10m are the same duration); a
// null one says it is ("Null: the function's own default (internal/config,
// 10m)"), or Terraform derives the value another way (derived). Terraform
// must set the setting it names.
func variableDefaults(m module) []error {
	var errs []error
	all := spaced(slices.Collect(maps.Values(m.files))...)
	for _, src := range m.files {
		for _, head := range variableHead.FindAllStringSubmatch(src, -1) {
			if err := variableDefault(m, head[1], all); err != nil {
				errs = append(errs, fmt.Errorf("terraform variable %s: %w", head[1], err))
			}
		}
	}
	return errs
}

func variableDefault(m module, name, all string) error {
	desc, def, err := m.variable(name)
	if err != nil {
		return err
	}
	sets := setsSetting.FindStringSubmatch(desc)
	own := ownDefault.FindStringSubmatch(desc)
	if sets == nil {
		if own != nil {
			return fmt.Errorf("its description speaks of the function's own default without naming the setting first (WATCHRELAY_...: )")
		}
		return nil
	}
	s, ok := settingNamed(sets[1] + sets[2])
	switch {
	case !ok:
		return fmt.Errorf("it sets %s, which is no setting of internal/config", sets[1]+sets[2])
	case !strings.Contains(all, " "+s.Name+" = "):
		return fmt.Errorf("it sets %s, which Terraform puts in no environment", s.Name)
	case def == "":
		return nil // required: whatever is given
	case def != "null":
		v, err := literal(def)
		if err != nil {
			return err
		}
		return sameDefault(s, v)
	case own != nil:
		return sameDefault(s, own[1])
	case slices.ContainsFunc(derived, func(d derivation) bool { return d.setting == s.Name }):
		return nil
	}
	return fmt.Errorf("it is null, and its description does not say what the function then uses: \"Null: the function's own default (internal/config, %s).\"", s.Default)
}

// A derivation is a setting whose default deployment value Terraform
// derives from something other than a variable of its own, or a copy of a
// Go default Terraform keeps for its own checks: the text the derivation
// rests on (compared with runs of spaces made one), and the value it gives
// at Terraform's defaults.
type derivation struct {
	setting string
	wiring  []string
	value   func(m module) (string, error)
}

var derived = []derivation{
	// Terraform always sets the in-flight bound, to receive_concurrency
	// less a quarter (at least one): at its default concurrency that is the
	// Go default, so that a deployment and `watchrelay serve` agree.
	{"WATCHRELAY_RECEIVE_MAX_IN_FLIGHT", []string{
		"WATCHRELAY_RECEIVE_MAX_IN_FLIGHT = tostring(local.receive_max_in_flight)",
		"receive_max_in_flight = var.receive_concurrency - max(1, floor(var.receive_concurrency / 4))",
	}, func(m module) (string, error) {
		n, err := numberDefault(m, "receive_concurrency")
		return strconv.Itoa(n - max(1, n/4)), err
	}},
	// renew_interval left null, Renew's interval is renew_schedule's
	// period: the default schedule's is the Go default.
	{"WATCHRELAY_RENEW_INTERVAL", []string{
		"WATCHRELAY_RENEW_INTERVAL = local.renew_interval",
		`renew_interval = coalesce(var.renew_interval, "${coalesce(local.renew_schedule_seconds, 0)}s")`,
	}, func(m module) (string, error) {
		_, def, err := m.variable("renew_schedule")
		if err != nil {
			return "", err
		}
		every := regexp.MustCompile(`^"\*/([0-9]+) \* \* \* \*"$`).FindStringSubmatch(def)
		if every == nil {
			return "", fmt.Errorf("renew_schedule's default %s is not of the form */N * * * *, the one this test reads", def)
		}
		return every[1] + "m", nil
	}},
	// The inbound Gmail topic is <name>-gmail: at the default name, the Go
	// default, the topic a CLI without WATCHRELAY_GMAIL_TOPIC names. With
	// enable_gmail = false there is no topic and the setting is left unset:
	// only a gmail.users watch reads it.
	{"WATCHRELAY_GMAIL_TOPIC", []string{
		"var.enable_gmail ? { WATCHRELAY_GMAIL_TOPIC = google_pubsub_topic.gmail[0].name } : {}",
		`resource "google_pubsub_topic" "gmail" { count = var.enable_gmail ? 1 : 0 project = var.project_id name = "${var.name}-gmail"`,
	}, func(m module) (string, error) {
		name, err := nameDefault(m)
		return name + "-gmail", err
	}},
	// The events topic is <name>-events unless topic_name says otherwise:
	// at the default name, the Go default, the topic a CLI without
	// WATCHRELAY_TOPIC publishes to.
	{"WATCHRELAY_TOPIC", []string{
		"WATCHRELAY_TOPIC = google_pubsub_topic.events.name",
		`topic_name = coalesce(var.topic_name, "${var.name}-events")`,
		`resource "google_pubsub_topic" "events" { project = var.project_id name = local.topic_name`,
	}, func(m module) (string, error) {
		name, err := nameDefault(m)
		return name + "-events", err
	}},
	// The database is (default) for the copy named watchrelay, the Go
	// default, and the copy's name for any other, unless database_id says
	// otherwise.
	{"WATCHRELAY_DATABASE", []string{
		"WATCHRELAY_DATABASE = local.database",
		`database_id = coalesce(var.database_id, var.name == "watchrelay" ? "(default)" : var.name)`,
	}, func(m module) (string, error) {
		name, err := nameDefault(m)
		if name != "watchrelay" {
			return name, err
		}
		return "(default)", err
	}},
	// sync.tf's checks take a null sync_debounce or sync_timeout for the
	// Go default, which it keeps in seconds.
	{"WATCHRELAY_SYNC_DEBOUNCE", []string{
		"sync_debounce_seconds = var.sync_debounce == null ? local.sync_default_debounce_seconds",
	}, seconds("sync_default_debounce_seconds")},
	{"WATCHRELAY_SYNC_TIMEOUT", []string{
		"sync_timeout_seconds = var.sync_timeout == null ? local.sync_default_timeout_seconds",
	}, seconds("sync_default_timeout_seconds")},
}

// derivedDefaults: each derivation's wiring is in terraform/, and its
// value is the Go default.
func derivedDefaults(m module) []error {
	var errs []error
	all := spaced(slices.Collect(maps.Values(m.files))...)
	for _, d := range derived {
		s, ok := settingNamed(d.setting)
		if !ok {
			errs = append(errs, fmt.Errorf("derived: %s is no setting", d.setting))
			continue
		}
		for _, w := range d.wiring {
			if !strings.Contains(all, spaced(w)) {
				errs = append(errs, fmt.Errorf("%s: terraform/ no longer says %s: see what it does now, and change this test", s.Name, w))
			}
		}
		v, err := d.value(m)
		if err == nil {
			err = sameDefault(s, v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
		}
	}
	return errs
}

// nameDefault is the default of the module's name, which the names of
// its topics and database derive from.
func nameDefault(m module) (string, error) {
	_, def, err := m.variable("name")
	if err != nil {
		return "", err
	}
	return literal(def)
}

// seconds reads a local that holds a number of seconds.
func seconds(local string) func(m module) (string, error) {
	re := regexp.MustCompile(`(?m)^\s*` + local + `\s*=\s*([0-9]+)\s*$`)
	return func(m module) (string, error) {
		for _, src := range m.files {
			if v := re.FindStringSubmatch(src); v != nil {
				return v[1] + "s", nil
			}
		}
		return "", fmt.Errorf("terraform/ has no local %s = <seconds>", local)
	}
}

// numberDefault is a number variable's default.
func numberDefault(m module, name string) (int, error) {
	_, def, err := m.variable(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(def)
}

// spaced is texts joined with every run of white space made one space.
func spaced(texts ...string) string {
	return strings.Join(strings.Fields(strings.Join(texts, "\n")), " ")
}

// TestTerraformChecksFail changes terraform/ in memory, one disagreement
// at a time, and expects TestTerraform's checks to name it.
func TestTerraformChecksFail(t *testing.T) {
	t.Parallel()
	real := readModule(t)
	for _, tc := range []struct {
		name      string
		file      string
		old, new  string
		wantError string
	}{
		// A literal default that is not the Go one.
		{"topic default", "variables.tf", "default     = null\n\n  validation {\n    condition     = var.topic_name == null", "default     = \"events\"\n\n  validation {\n    condition     = var.topic_name == null", "terraform variable topic_name: Terraform's default of WATCHRELAY_TOPIC is events"},
		// Another topic for the first copy than the Go default.
		{"derived topic", "main.tf", `coalesce(var.topic_name, "${var.name}-events")`, `coalesce(var.topic_name, "${var.name}-topic")`, "WATCHRELAY_TOPIC: terraform/ no longer says"},
		// A null variable whose description promises another default.
		{"said default", "sync.tf", "(internal/config, 4m)", "(internal/config, 5m)", "terraform variable sync_timeout: Terraform's default of WATCHRELAY_SYNC_TIMEOUT is 5m"},
		// A null variable that does not say what the function then uses.
		{"unsaid default", "variables.tf", " Null: the function's own default (internal/config, 10m).", "", "terraform variable grace: it is null"},
		// A description naming no setting.
		{"unknown setting", "variables.tf", `"WATCHRELAY_GRACE: `, `"WATCHRELAY_GRACE_PERIOD: `, "terraform variable grace: it sets WATCHRELAY_GRACE_PERIOD, which is no setting"},
		// An environment key that is no setting.
		{"unknown key", "main.tf", "WATCHRELAY_GRACE             = var.grace", "WATCHRELAY_GRACE_PERIOD      = var.grace", "terraform/main.tf names WATCHRELAY_GRACE_PERIOD"},
		// Another concurrency gives another in-flight bound.
		{"concurrency", "variables.tf", "default     = 80", "default     = 100", "WATCHRELAY_RECEIVE_MAX_IN_FLIGHT: Terraform's default of WATCHRELAY_RECEIVE_MAX_IN_FLIGHT is 75"},
		// Another bound than the test computes.
		{"in-flight formula", "functions.tf", "floor(var.receive_concurrency / 4)", "floor(var.receive_concurrency / 5)", "WATCHRELAY_RECEIVE_MAX_IN_FLIGHT: terraform/ no longer says"},
		// Another schedule, another interval.
		{"schedule", "variables.tf", `default     = "*/10 * * * *"`, `default     = "*/15 * * * *"`, "Terraform's default of WATCHRELAY_RENEW_INTERVAL is 15m"},
		// Another name, another Gmail topic.
		{"name", "variables.tf", `default     = "watchrelay"`, `default     = "relay"`, "Terraform's default of WATCHRELAY_GMAIL_TOPIC is relay-gmail"},
		// A copy of a default in seconds.
		{"sync local", "sync.tf", "sync_default_timeout_seconds  = 240", "sync_default_timeout_seconds  = 300", "Terraform's default of WATCHRELAY_SYNC_TIMEOUT is 300s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(real.files[tc.file], tc.old) {
				t.Fatalf("terraform/%s no longer holds %q: bring this row up to date", tc.file, tc.old)
			}
			m := module{files: maps.Clone(real.files), tests: real.tests}
			m.files[tc.file] = strings.Replace(m.files[tc.file], tc.old, tc.new, 1)
			errs := slices.Concat(names(m), variableDefaults(m), derivedDefaults(m))
			if !slices.ContainsFunc(errs, func(err error) bool { return strings.Contains(err.Error(), tc.wantError) }) {
				t.Errorf("checks = %v, want one saying %q", errs, tc.wantError)
			}
		})
	}
}
