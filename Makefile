# The two commands a newcomer needs: `make sql` opens the SQL shell on the embedded default
# data directory (./cdc-data), `make test` runs every test.
GO ?= go
BIN := bin/cdc

.PHONY: build sql test vet bench slt soak

build:
	$(GO) build -o $(BIN) ./cmd/cdc

sql: build
	./$(BIN) sql

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 -timeout 20m ./...

# Benchmarks: numbers are reported, never asserted.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./bench/...

# The sqllogictest sample beside the repository, in both modes.
slt: build
	./$(BIN) slt --mode query ../shared/slt/random ../shared/slt/evidence ../shared/slt/index
	./$(BIN) slt --mode view ../shared/slt/random ../shared/slt/evidence ../shared/slt/index

# A longer randomized differential run.
soak:
	$(GO) test -count=1 -timeout 60m -run Differential ./engine/ -args -soak
