#!/usr/bin/env bash
# The project's test command: makes sure PostgreSQL is up, then runs every
# test (unit and integration) with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
go vet ./...
go test -race -count=1 -timeout 20m "$@" ./...
