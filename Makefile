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
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2); skipped"; fi

FUZZTIME ?= 30s
fuzz: ## a short fuzzing session on each fuzz target (FUZZTIME per target)
	go test ./supabase/ -run '^$$' -fuzz '^FuzzParseFilter$$' -fuzztime $(FUZZTIME)
	go test ./handlers/ -run '^$$' -fuzz '^FuzzDecodeBodies$$' -fuzztime $(FUZZTIME)
	go test ./handlers/ -run '^$$' -fuzz '^FuzzListQuery$$' -fuzztime $(FUZZTIME)
	go test ./auth/ -run '^$$' -fuzz '^FuzzWebhookVerify$$' -fuzztime $(FUZZTIME)
	go test ./auth/ -run '^$$' -fuzz '^FuzzTokenVerify$$' -fuzztime $(FUZZTIME)
	go test ./supabase/localrest/ -run '^$$' -fuzz '^FuzzParseFilter$$' -fuzztime $(FUZZTIME)
	go test ./supabase/localrest/ -run '^$$' -fuzz '^FuzzParseLogic$$' -fuzztime $(FUZZTIME)

bench: ## micro-benchmarks, the load benchmark on loopback, the history's cost on the webhook, the live streams (bench/README.md)
	go test -run '^$$' -bench . -benchmem ./...
	bash bench/run.sh
	bash bench/history.sh
	bash bench/streams.sh
