#!/usr/bin/env bash
# The project's test command: makes sure PostgreSQL is up and the Supabase
# CLI (with plpgsql_check) is installed, then runs every test (unit and
# integration) with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
SUPABASE_CLI=$(bash scripts/ensure-tools.sh)
export SUPABASE_CLI
go vet ./...
go test -race -count=1 -timeout 20m "$@" ./...
