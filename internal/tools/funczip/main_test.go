package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// module writes a small module shaped like watchrelay: a function package
// at the root importing one internal package, plus a CLI, tests and a
// terraform directory that must all stay out of the archive.
func module(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	base := map[string]string{
		"go.mod":                        "module example.com/fn\n\ngo 1.26\n",
		"function.go":                   "package fn\n\nimport _ \"example.com/fn/internal/dep\"\n",
		"function_test.go":              "package fn\n",
		"internal/dep/dep.go":           "package dep\n",
		"internal/dep/dep_test.go":      "package dep\n",
		"internal/dep/other_windows.go": "package dep\n",
		"internal/unused/unused.go":     "package unused\n",
		"cmd/cli/main.go":               "package main\n\nimport _ \"example.com/fn\"\n\nfunc main() {}\n",
		"terraform/main.tf":             "# not Go\n",
	}
	for name, body := range files {
		base[name] = body
	}
	for name, body := range base {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func archive(t *testing.T, dir string) []byte {
	t.Helper()
	files, err := Files(dir, ".")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, dir, files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func names(t *testing.T, data []byte) []string {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range r.File {
		out = append(out, f.Name)
	}
	return out
}

// TestFilesIsTheImportClosure: only go.mod, go.sum and the function's own
// packages' non-test files for linux go in; the CLI, unused packages,
// tests, other platforms' files and terraform/ stay out.
func TestFilesIsTheImportClosure(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{"go.sum": ""})
	got := names(t, archive(t, dir))
	want := []string{"function.go", "go.mod", "go.sum", "internal/dep/dep.go"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
}

// TestReproducible: the same tree gives the same bytes, whatever the files'
// times; a changed file gives different bytes; a change outside the closure
// (the CLI) does not.
func TestReproducible(t *testing.T) {
	t.Parallel()
	a := archive(t, module(t, nil))
	dir := module(t, nil)
	old := epoch.AddDate(20, 0, 0)
	if err := os.Chtimes(filepath.Join(dir, "function.go"), old, old); err != nil {
		t.Fatal(err)
	}
	if b := archive(t, dir); !bytes.Equal(a, b) {
		t.Error("same sources with other mtimes gave a different archive")
	}
	cli := archive(t, module(t, map[string]string{"cmd/cli/main.go": "package main\n\nfunc main() { println() }\n"}))
	if !bytes.Equal(a, cli) {
		t.Error("a change to the CLI, outside the function's closure, changed the archive")
	}
	changed := archive(t, module(t, map[string]string{"internal/dep/dep.go": "package dep\n\nconst X = 1\n"}))
	if bytes.Equal(a, changed) {
		t.Error("a changed dependency gave the same archive")
	}
}

// TestWriteNeedsSortedNames: an unsorted list would make the bytes depend
// on the caller's order.
func TestWriteNeedsSortedNames(t *testing.T) {
	t.Parallel()
	if err := Write(&bytes.Buffer{}, t.TempDir(), []string{"b", "a"}); err == nil {
		t.Error("Write accepted unsorted names")
	}
}

// TestFilesReportsBrokenImports: a missing package must stop the build of
// the archive, not produce one Cloud Build would reject later.
func TestFilesReportsBrokenImports(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{"function.go": "package fn\n\nimport _ \"example.com/fn/missing\"\n"})
	if _, err := Files(dir, "."); err == nil {
		t.Error("Files accepted an import of a missing package")
	}
}
