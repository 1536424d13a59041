#!/usr/bin/env bash
# Writes dist/function.zip, the Cloud Functions source: go.mod, go.sum and the
# non-test Go files of the packages function.go imports (internal/tools/funczip).
# The archive is reproducible, so its SHA-256, which Terraform uses as the
# object name, changes exactly when the deployed code does.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./internal/tools/funczip -o dist/function.zip "$@"
