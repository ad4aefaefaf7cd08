#!/usr/bin/env bash
# Runs every test of imgver: go vet, then the unit and end-to-end tests with
# the race detector. Needs only Go; installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt: not formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go test -race"
go test -race -count=1 ./...
