# The two commands of the README: `make demo` runs watchrelay on embedded
# defaults, `make test` runs the linters and every test (Go on the real
# emulators, and the offline Terraform checks against the real google
# provider).
.PHONY: demo test lint test-go test-terraform bench

demo:
	go run ./cmd/watchrelay demo

test: lint test-go test-terraform

lint:
	bash scripts/lint.sh

test-go:
	bash scripts/test-go.sh

test-terraform:
	bash scripts/terraform-check.sh

bench:
	bash bench/run.sh
