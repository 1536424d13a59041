package watchrelay

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsShareNoTable: each table lives in one document, the README
// (what a user needs) or docs/DESIGN.md (layout, configuration, the design),
// and the other links to it; two copies of a table drift apart. Two tables
// are copies when two or more of their rows name the same thing in their
// first column.
func TestDocsShareNoTable(t *testing.T) {
	readme, design := docTables(t, "README.md"), docTables(t, "docs/DESIGN.md")
	for _, r := range readme {
		for _, d := range design {
			var shared []string
			for key := range r.keys {
				if d.keys[key] {
					shared = append(shared, key)
				}
			}
			if len(shared) >= 2 {
				t.Errorf("README.md:%d and docs/DESIGN.md:%d are the same table (both have rows %v): keep it in one and link to it from the other", r.line, d.line, shared)
			}
		}
	}
}

// docTable is a Markdown table: where it starts and the first cells of its
// rows.
type docTable struct {
	line int
	keys map[string]bool
}

var tableRule = regexp.MustCompile(`^\|[-| :]+\|$`)

func docTables(t *testing.T, path string) []docTable {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []docTable
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") || !tableRule.MatchString(lines[i+1]) {
			continue
		}
		tb := docTable{line: i + 1, keys: map[string]bool{}}
		for i += 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			if cells := strings.Split(lines[i], "|"); len(cells) > 2 {
				tb.keys[strings.TrimSpace(cells[1])] = true
			}
		}
		out = append(out, tb)
	}
	return out
}
