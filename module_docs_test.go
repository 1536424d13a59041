package watchrelay

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var updateModuleDocs = flag.Bool("update-module-docs", false, "rewrite the inputs and outputs tables of terraform/README.md from terraform/*.tf")

// The generated part of terraform/README.md lies between these markers,
// as terraform-docs marks its own.
const (
	moduleDocsBegin = "<!-- BEGIN_TF_DOCS -->"
	moduleDocsEnd   = "<!-- END_TF_DOCS -->"
)

// TestModuleREADME: terraform/README.md lists every input and output of the
// module as terraform-google-modules do (terraform-docs' tables), read from
// terraform/*.tf, so the tables cannot drift from the code. After changing
// a variable or an output:
//
//	go test -run TestModuleREADME -update-module-docs .
func TestModuleREADME(t *testing.T) {
	vars, outs := moduleBlocks(t, "terraform")
	if len(vars) < 50 || len(outs) < 10 {
		t.Fatalf("found %d variables and %d outputs in terraform/*.tf: the parser no longer reads them", len(vars), len(outs))
	}
	want := moduleDocs(vars, outs)

	const path = "terraform/README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	begin, end := strings.Index(text, moduleDocsBegin), strings.Index(text, moduleDocsEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s: no %s ... %s section", path, moduleDocsBegin, moduleDocsEnd)
	}
	got := text[begin+len(moduleDocsBegin) : end]
	if got == want {
		return
	}
	if *updateModuleDocs {
		if err := os.WriteFile(path, []byte(text[:begin+len(moduleDocsBegin)]+want+text[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	gotLines, wantLines := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gotLines) || i < len(wantLines); i++ {
		g, w := line(gotLines, i), line(wantLines, i)
		if g != w {
			t.Fatalf("%s differs from terraform/*.tf from its table line %d:\n got: %s\nwant: %s\nrun: go test -run TestModuleREADME -update-module-docs .", path, i+1, g, w)
		}
	}
}

// TestQuickstartOutputs: examples/quickstart passes every output of the
// module through under the same name, so that `terraform output NAME` in
// it answers what docs/deploy.md and scripts/smoke.sh ask of the module.
func TestQuickstartOutputs(t *testing.T) {
	_, module := moduleBlocks(t, "terraform")
	_, root := moduleBlocks(t, "examples/quickstart")
	var missing, extra []string
	for name := range module {
		if _, ok := root[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name, o := range root {
		if _, ok := module[name]; !ok {
			extra = append(extra, name)
		} else if o.attrs["value"] != "module.watchrelay."+name {
			t.Errorf("examples/quickstart output %q is %s, want module.watchrelay.%s", name, o.attrs["value"], name)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("examples/quickstart/outputs.tf must pass through exactly the module's outputs: missing %v, not the module's %v", missing, extra)
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end)"
}

// hclBlock is a top-level variable or output block of a terraform fmt'ed
// file: its top-level attributes, each value as written (heredocs joined
// into one line).
type hclBlock struct {
	attrs map[string]string
}

var (
	blockStart = regexp.MustCompile(`^(variable|output) "([a-z0-9_]+)" \{$`)
	attrStart  = regexp.MustCompile(`^  ([a-z_]+)\s*=\s*(.*)$`)
	nestedOpen = regexp.MustCompile(`^  [a-z_]+ \{$`)
)

// moduleBlocks reads the variable and output blocks of dir/*.tf. It reads
// what terraform fmt writes: blocks open at the start of a line and close
// with a lone "}", their attributes are indented by two spaces, and a
// value that spans lines goes on until the next attribute, nested block or
// blank line.
func moduleBlocks(t *testing.T, dir string) (vars, outs map[string]hclBlock) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s/*.tf: %v (%d files)", dir, err, len(files))
	}
	vars, outs = map[string]hclBlock{}, map[string]hclBlock{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			m := blockStart.FindStringSubmatch(lines[i])
			if m == nil {
				continue
			}
			blk := hclBlock{attrs: map[string]string{}}
			key, depth := "", 0
			for i++; i < len(lines) && lines[i] != "}"; i++ {
				l := lines[i]
				switch {
				case depth > 0: // inside a nested block (validation)
					if l == "  }" {
						depth--
					}
				case nestedOpen.MatchString(l):
					key, depth = "", 1
				case strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#"):
					key = ""
				case attrStart.MatchString(l):
					a := attrStart.FindStringSubmatch(l)
					key, blk.attrs[a[1]] = a[1], a[2]
					if strings.HasPrefix(a[2], "<<-") {
						marker := strings.TrimPrefix(a[2], "<<-")
						var doc []string
						for i++; i < len(lines) && strings.TrimSpace(lines[i]) != marker; i++ {
							doc = append(doc, strings.TrimSpace(lines[i]))
						}
						blk.attrs[key], key = strings.Join(doc, " "), ""
					}
				case key != "":
					blk.attrs[key] += "\n" + l
				}
			}
			if m[1] == "variable" {
				vars[m[2]] = blk
			} else {
				outs[m[2]] = blk
			}
		}
	}
	return vars, outs
}

// moduleDocs renders the tables terraform-docs writes for a module
// (markdown table, sorted by name): Inputs with Name, Description, Type,
// Default and Required, Outputs with Name and Description.
func moduleDocs(vars, outs map[string]hclBlock) string {
	var b strings.Builder
	b.WriteString("\n## Inputs\n\n| Name | Description | Type | Default | Required |\n|------|-------------|------|---------|:--------:|\n")
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		def, required := "n/a", "yes"
		if d, ok := v.attrs["default"]; ok {
			def, required = code(d), "no"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, prose(description(v)), code(v.attrs["type"]), def, required)
	}
	b.WriteString("\n## Outputs\n\n| Name | Description |\n|------|-------------|\n")
	for _, name := range sortedKeys(outs) {
		fmt.Fprintf(&b, "| %s | %s |\n", name, prose(description(outs[name])))
	}
	b.WriteString("\n")
	return b.String()
}

// description is a block's description as text: a quoted string unquoted,
// a heredoc as it was joined.
func description(b hclBlock) string {
	d := b.attrs["description"]
	if strings.HasPrefix(d, `"`) && strings.HasSuffix(d, `"`) {
		d = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(d[1 : len(d)-1])
	}
	return d
}

// code is an HCL expression on one line, in backticks.
func code(expr string) string {
	return "`" + cell(strings.Join(strings.Fields(expr), " ")) + "`"
}

// prose is a description in a table cell: a placeholder such as <name>
// shown, not taken for an HTML tag.
func prose(s string) string {
	return strings.ReplaceAll(cell(s), "<", `\<`)
}

// cell keeps a table cell on its row.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
}

func sortedKeys(m map[string]hclBlock) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
