// Package scripts holds the Go tests of the repository's shell scripts,
// which `go test ./...` (and so `make test`) runs: smoke.sh against fakes
// of gcloud, curl and terraform, so that its parsing of their answers and
// the fix it prints for each failure are checked without a project. The
// package has no code of its own, and nothing imports it.
package scripts
