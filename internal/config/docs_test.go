package config

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/DESIGN.md's configuration table from Config")

// The generated table sits between these two lines of docs/DESIGN.md.
const (
	tableStart = "<!-- Generated from internal/config/config.go by go test ./internal/config -update-docs: edit Config, not this table. -->\n"
	tableEnd   = "<!-- End of the generated table. -->\n"
)

// TestDesignTable holds docs/DESIGN.md's configuration table to Config: a
// setting added, renamed, given another default or described otherwise in
// config.go fails here until the table is generated again.
func TestDesignTable(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "DESIGN.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := designTable("config.go")
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), tableStart)
	got, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no generated configuration table: put the lines\n%s%sin its Configuration section, then run go test ./internal/config -update-docs", path, tableStart, tableEnd)
	}
	switch {
	case got == want:
	case *updateDocs:
		if err := os.WriteFile(path, []byte(before+tableStart+want+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: configuration table rewritten", path)
	default:
		t.Errorf("%s's configuration table is not Config's: run go test ./internal/config -update-docs (-want +got):\n%s", path, cmp.Diff(want, got))
	}
}

// designTable renders settings as docs/DESIGN.md's table, between blank
// lines: each variable, its default and the comment of its field in file
// (see cell).
func designTable(file string) (string, error) {
	docs, err := fieldDocs(file)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("\n| variable | default | meaning |\n|---|---|---|\n")
	for _, s := range settings {
		def := " "
		if s.Default != "" {
			def = " `" + s.Default + "` "
		}
		fmt.Fprintf(&b, "| `%s` |%s| %s |\n", s.Name, def, docs[s.field.Name])
	}
	b.WriteString("\n")
	return b.String(), nil
}

// fieldDocs reads the comment of every field of Config in file, as cells.
func fieldDocs(file string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var config *ast.StructType
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.TYPE {
			for _, spec := range gd.Specs {
				if ts := spec.(*ast.TypeSpec); ts.Name.Name == "Config" {
					config, _ = ts.Type.(*ast.StructType)
				}
			}
		}
	}
	if config == nil {
		return nil, fmt.Errorf("%s declares no Config struct", file)
	}
	docs := map[string]string{}
	for _, field := range config.Fields.List {
		for _, name := range field.Names {
			if docs[name.Name], err = cell(name.Name, field.Doc.Text()); err != nil {
				return nil, err
			}
		}
	}
	if len(docs) != len(settings) {
		return nil, fmt.Errorf("%s: Config has %d fields, and %d settings", file, len(docs), len(settings))
	}
	return docs, nil
}

// cell makes a field's comment a table cell: one line, without the field's
// name that starts it (and the "is" or comma after it), so that
// "Topic is the topic id." reads "the topic id.". Code spans are written in
// the comment as the table shows them, in backquotes.
func cell(field, comment string) (string, error) {
	text := strings.Join(strings.Fields(comment), " ")
	rest, ok := strings.CutPrefix(text, field)
	if !ok || rest == "" {
		return "", fmt.Errorf("Config.%s: its comment must start with its name and say what it is, for docs/DESIGN.md's table", field)
	}
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, ","), " ")
	rest = strings.TrimPrefix(rest, "is ")
	return strings.ReplaceAll(rest, "|", `\|`), nil
}

// A setting's default said in passing in prose: "`WATCHRELAY_SYNC_DEBOUNCE`
// (2 s)" or "`WATCHRELAY_RECEIVE_TIMEOUT`, 10 s".
var saidDefault = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`(?: \\(|, )([0-9][0-9.]*(?: ?[a-zµ]+)?)[),]")

// TestProseDefaults: where README.md or a file of docs/ (DESIGN.md, the
// user's documents) says a setting's default in passing, it says the Go
// default.
func TestProseDefaults(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("docs/*.md: %v, %d files", err, len(docs))
	}
	for _, path := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		name, _ := filepath.Rel(root, path)
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range proseDefaults(name, string(doc)) {
			t.Error(err)
		}
	}
	// A wrong one is found.
	if errs := proseDefaults("doc", "within `WATCHRELAY_RECEIVE_TIMEOUT`, 5 s)"); len(errs) != 1 {
		t.Errorf("proseDefaults found %v in a wrong timeout, want one error", errs)
	}
}

func proseDefaults(name, doc string) []error {
	var errs []error
	for _, m := range saidDefault.FindAllStringSubmatch(doc, -1) {
		s, ok := settingNamed(m[1])
		if !ok {
			continue
		}
		got, err := s.parse(strings.ReplaceAll(m[2], " ", ""))
		want, _ := s.parse(s.Default)
		if err != nil || s.Default == "" || got.Interface() != want.Interface() {
			errs = append(errs, fmt.Errorf("%s says %s, but %s's default is %q (internal/config)", name, m[0], s.Name, s.Default))
		}
	}
	return errs
}
