# NecroStack tasks. `make test` is the README's test command.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1

.PHONY: test vet lint fmt-check bench demo check-generated

test: vet
	go test -race ./...

vet:
	go vet ./...

lint: vet
	go run $(STATICCHECK) ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# bench runs NecroStack against bench/baseline (6 runs of each benchmark,
# a few minutes), keeps the raw output in bench/bench.txt, and prints
# benchstat's summary, then the README's performance tables.
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -c
bench:
	go test -run '^$$' -bench . -count 6 -timeout 60m ./bench/... | tee bench/bench.txt
	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da bench/bench.txt
	go run ./bench/cmd/benchtable bench/bench.txt

demo:
	go run ./examples/seance

check-generated:
	go tool necrogen -check ./...
