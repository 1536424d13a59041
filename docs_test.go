package watchrelay

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// docFiles are the project's Markdown documents: the README (the front
// door), the files of docs/ it links to, and the READMEs of folders a user
// opens (bench/, and terraform/ and examples/ where they have one).
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, pattern := range []string{"docs/*.md", "bench/README.md", "terraform/README.md", "examples/*/README.md"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	if !slices.Contains(files, filepath.Join("docs", "DESIGN.md")) {
		t.Fatalf("docs/DESIGN.md is not among %v: run from the repository's root", files)
	}
	return files
}

// TestDocsShareNoTable: each table lives in one document, and the others
// link to it; two copies of a table drift apart. Two tables are copies when
// two or more of their rows name the same thing in their first column, and
// they say the same of it: a column after the first has the same heading.
// (Two tables of the kinds, one of their watch calls and one of their
// scopes, are two tables.)
func TestDocsShareNoTable(t *testing.T) {
	files := docFiles(t)
	tables := map[string][]docTable{}
	for _, f := range files {
		tables[f] = docTables(t, f)
	}
	for i, a := range files {
		for _, b := range files[i+1:] {
			for _, err := range sharedTables(a, tables[a], b, tables[b]) {
				t.Error(err)
			}
		}
	}
	// A copy is found, and another table of the same rows is not.
	table := "| kind | what |\n|---|---|\n| `a` | one |\n| `b` | two |\n"
	other := "| kinds | scope |\n|---|---|\n| `a` | s1 |\n| `b` | s2 |\n"
	if errs := sharedTables("x.md", parseTables(table), "y.md", parseTables("# Y\n\n"+table+"\n"+other)); len(errs) != 1 {
		t.Errorf("sharedTables found %v in a copied table and another, want one error", errs)
	}
}

// sharedTables says which tables of document a are copies of one of b.
func sharedTables(a string, as []docTable, b string, bs []docTable) []error {
	var errs []error
	for _, ta := range as {
		for _, tb := range bs {
			var shared []string
			for key := range ta.keys {
				if tb.keys[key] {
					shared = append(shared, key)
				}
			}
			if len(shared) >= 2 && sameColumn(ta, tb) {
				slices.Sort(shared)
				errs = append(errs, fmt.Errorf("%s:%d and %s:%d are the same table (both have rows %v): keep it in one and link to it from the other", a, ta.line, b, tb.line, shared))
			}
		}
	}
	return errs
}

// sameColumn says whether two tables have a column after the first with
// the same heading.
func sameColumn(a, b docTable) bool {
	for _, c := range a.columns {
		if slices.Contains(b.columns, c) {
			return true
		}
	}
	return false
}

// docTable is a Markdown table: where it starts, the headings of its
// columns after the first, and the first cells of its rows.
type docTable struct {
	line    int
	columns []string
	keys    map[string]bool
}

var tableRule = regexp.MustCompile(`^\|[-| :]+\|$`)

func docTables(t *testing.T, path string) []docTable {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseTables(string(b))
}

func parseTables(doc string) []docTable {
	lines := strings.Split(doc, "\n")
	var out []docTable
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") || !tableRule.MatchString(lines[i+1]) {
			continue
		}
		tb := docTable{line: i + 1, keys: map[string]bool{}}
		if cells := strings.Split(strings.Trim(lines[i], "| "), "|"); len(cells) > 1 {
			for _, c := range cells[1:] {
				tb.columns = append(tb.columns, strings.ToLower(strings.TrimSpace(c)))
			}
		}
		for i += 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			if cells := strings.Split(lines[i], "|"); len(cells) > 2 {
				tb.keys[strings.TrimSpace(cells[1])] = true
			}
		}
		out = append(out, tb)
	}
	return out
}

// TestDocsLinksResolve: every relative link of the documents names a file
// that exists, and a link to a heading of a Markdown file (#anchor) names
// one it has, so text moved from one document to another leaves no dead
// link behind.
func TestDocsLinksResolve(t *testing.T) {
	for _, f := range docFiles(t) {
		for _, err := range deadLinks(f) {
			t.Error(err)
		}
	}
	// A missing file and a missing heading are found; a fenced example, a
	// code span, a link to the web and links that resolve are not.
	dir := t.TempDir()
	doc := filepath.Join(dir, "a.md")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(doc, "# A\n\n## Kinds: Sync\n\n[ok](#kinds-sync) [ok](b.md#the-cli) [ok](./) "+
		"[web](https://example.com/x.md) `[span](gone.md)`\n\n```\n[fenced](gone.md)\n```\n\n"+
		"[gone](gone.md) [no heading](b.md#kinds)\n")
	write(filepath.Join(dir, "b.md"), "# The CLI\n")
	if errs := deadLinks(doc); len(errs) != 2 {
		t.Errorf("deadLinks found %v, want the missing file and the missing heading", errs)
	}
}

var (
	fence      = regexp.MustCompile("(?ms)^(```|~~~).*?^(```|~~~)[^\n]*$")
	codeSpan   = regexp.MustCompile("`[^`]*`")
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s+(\S+)`)
	scheme     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	atxHeading = regexp.MustCompile(`^#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// deadLinks reads one Markdown document and says which of its relative
// links name no file, or no heading of the Markdown file they name.
func deadLinks(path string) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	prose := codeSpan.ReplaceAllString(fence.ReplaceAllString(string(b), ""), "")
	var targets []string
	for _, m := range inlineLink.FindAllStringSubmatch(prose, -1) {
		targets = append(targets, m[1])
	}
	for _, m := range refLink.FindAllStringSubmatch(prose, -1) {
		targets = append(targets, m[1])
	}
	var errs []error
	for _, target := range targets {
		if scheme.MatchString(target) {
			continue
		}
		file, anchor, _ := strings.Cut(target, "#")
		resolved := path
		if file != "" {
			resolved = filepath.Join(filepath.Dir(path), file)
		}
		if _, err := os.Stat(resolved); err != nil {
			errs = append(errs, fmt.Errorf("%s: link %q: no file %s", path, target, resolved))
			continue
		}
		if anchor == "" || !strings.HasSuffix(resolved, ".md") {
			continue
		}
		anchors, err := docAnchors(resolved)
		if err != nil {
			errs = append(errs, err)
		} else if !anchors[anchor] {
			errs = append(errs, fmt.Errorf("%s: link %q: %s has no heading #%s", path, target, resolved, anchor))
		}
	}
	return errs
}

// docAnchors are the anchors GitHub gives a Markdown file's headings (and
// any <a name> it has): a heading's text in lower case, spaces made
// hyphens, other punctuation dropped, and -1, -2... after a repeated one.
func docAnchors(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc := fence.ReplaceAllString(string(b), "")
	anchors := map[string]bool{}
	for _, m := range htmlAnchor.FindAllStringSubmatch(doc, -1) {
		anchors[m[1]] = true
	}
	seen := map[string]int{}
	for _, line := range strings.Split(doc, "\n") {
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := headingSlug(m[1])
		if n := seen[slug]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors, nil
}

var headingLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

func headingSlug(text string) string {
	text = headingLink.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
