# The habits of this project, one target each.
.PHONY: run build test lint fuzz bench

run: ## start the gateway (local mode unless SUPABASE_URL is set)
	go run .

build:
	go build -o bin/gateway .

test: ## unit and integration tests; starts PostgreSQL if needed
	bash scripts/test.sh

lint:
	go vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo "gofmt would change the files above"; exit 1)
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed; skipped"; fi

fuzz: ## a short fuzzing session on each fuzz target
	go test ./supabase/ -run '^$$' -fuzz FuzzParseFilter -fuzztime 30s

bench: ## micro-benchmarks, then the load benchmark
	go test -run '^$$' -bench . -benchmem ./...
