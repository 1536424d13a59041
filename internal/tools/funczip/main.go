// Command funczip writes the Cloud Functions source archive: go.mod, go.sum
// and the non-test Go files of exactly the module packages the function
// package imports, nothing else (no CLI, no tests, no terraform/). The zip
// is reproducible, so the same code always gives the same bytes and the
// same SHA-256: sorted entries, one fixed modification time, one file mode.
// Terraform names the uploaded object after that hash, so a code change
// redeploys the functions and a rebuild of unchanged code plans no change.
//
// Usage, from the module root (scripts/package.sh runs it):
//
//	go run ./internal/funczip [-o dist/function.zip] [-pkg .]
//
// It prints the archive's path and its lowercase hex SHA-256.
package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// epoch is every entry's modification time: the earliest a zip (MS-DOS)
// timestamp can hold, so no clock or timezone reaches the archive.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "funczip:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("funczip", flag.ContinueOnError)
	out := fs.String("o", "dist/function.zip", "archive to write")
	pkg := fs.String("pkg", ".", "the function package, as go list takes it")
	dir := fs.String("C", ".", "module root")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files, err := Files(*dir, *pkg)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := Write(&buf, *dir, files); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	fmt.Fprintf(stdout, "%s %s (%d files)\n", *out, hex.EncodeToString(sum[:]), len(files))
	return nil
}

// listed is the part of `go list -json` output Files reads.
type listed struct {
	Dir        string
	Standard   bool
	Module     *struct{ Main bool }
	GoFiles    []string
	CgoFiles   []string
	SFiles     []string
	HFiles     []string
	CFiles     []string
	EmbedFiles []string
	Error      *struct{ Err string }
}

// Files lists, relative to the module root dir and slash-separated, go.mod,
// go.sum and every non-test source file of the main module's packages in
// pkg's import closure, as the Cloud Functions build (linux/amd64) sees them.
func Files(dir, pkg string) ([]string, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "list", "-deps", "-json", pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	files := []string{"go.mod"}
	if _, err := os.Stat(filepath.Join(root, "go.sum")); err == nil {
		files = append(files, "go.sum")
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Standard || p.Module == nil || !p.Module.Main {
			continue
		}
		if p.Error != nil {
			return nil, fmt.Errorf("package in %s: %s", p.Dir, p.Error.Err)
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			return nil, err
		}
		for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.SFiles, p.HFiles, p.CFiles, p.EmbedFiles} {
			for _, f := range group {
				files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
			}
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// Write writes a zip of files (relative to dir) to w: entries in the order
// given, each with the fixed epoch time and mode 0644, deflated.
func Write(w io.Writer, dir string, files []string) error {
	if !slices.IsSorted(files) {
		return errors.New("files must be sorted, for a reproducible archive")
	}
	zw := zip.NewWriter(w)
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(0o644)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}
