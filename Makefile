# The two commands a newcomer needs: `make sql` opens the SQL shell on the embedded default
# data directory (./cdc-data), `make test` runs every test.
GO ?= go
BIN := bin/cdc

.PHONY: build sql test vet bench slt soak minio grpcurl fuzz fuzz-short

# The MinIO server used by the object-store tests (package miniotest), pinned to the version
# measured in ARCHITECTURE.md. It is built from the Go module proxy into a cache outside the
# repository (about 2-3 minutes on 2 cores) and reused while the pinned version is unchanged.
# Tests find it at $HOME/.cache/cdc/bin/minio, or wherever CDC_MINIO_BIN points.
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_CACHE ?= $(HOME)/.cache/cdc/bin

# grpcurl, the real gRPC client of the module tests (server/grpcurl_test.go), pinned and
# installed the same way into the same cache; tests find it through CDC_GRPCURL_BIN.
GRPCURL_VERSION := v1.9.4

build:
	$(GO) build -o $(BIN) ./cmd/cdc

sql: build
	./$(BIN) sql

vet:
	$(GO) vet ./...

# The tests use the MinIO that `minio` installed (miniotest reads CDC_MINIO_BIN) and the
# grpcurl that `grpcurl` installed.
test: vet minio grpcurl fuzz-short
	CDC_MINIO_BIN="$(MINIO_CACHE)/minio" CDC_GRPCURL_BIN="$(MINIO_CACHE)/grpcurl" $(GO) test -count=1 -timeout 20m ./...

# `go install pkg@version` runs outside any module (here, from the cache directory), so it
# neither reads nor changes this repository's go.mod. A stamp file records the installed version.
minio:
	@if [ -x "$(MINIO_CACHE)/minio" ] && [ "$$(cat "$(MINIO_CACHE)/minio.version" 2>/dev/null)" = "$(MINIO_VERSION)" ]; then \
		echo "minio $(MINIO_VERSION) already installed in $(MINIO_CACHE)"; \
	else \
		mkdir -p "$(MINIO_CACHE)" && \
		echo "building minio $(MINIO_VERSION) into $(MINIO_CACHE) (takes a few minutes)" && \
		cd "$(MINIO_CACHE)" && GOBIN="$(MINIO_CACHE)" GOFLAGS=-buildvcs=false GOWORK=off \
			$(GO) install github.com/minio/minio@$(MINIO_VERSION) && \
		echo "$(MINIO_VERSION)" > "$(MINIO_CACHE)/minio.version"; \
	fi

grpcurl:
	@if [ -x "$(MINIO_CACHE)/grpcurl" ] && [ "$$(cat "$(MINIO_CACHE)/grpcurl.version" 2>/dev/null)" = "$(GRPCURL_VERSION)" ]; then \
		echo "grpcurl $(GRPCURL_VERSION) already installed in $(MINIO_CACHE)"; \
	else \
		mkdir -p "$(MINIO_CACHE)" && \
		cd "$(MINIO_CACHE)" && GOBIN="$(MINIO_CACHE)" GOFLAGS=-buildvcs=false GOWORK=off \
			$(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION) && \
		echo "$(GRPCURL_VERSION)" > "$(MINIO_CACHE)/grpcurl.version"; \
	fi

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

# The fuzz targets of the SQL front end, the engine and the MySQL port, one after the other,
# each for FUZZTIME on FUZZPARALLEL workers. The corpus the fuzzer grows stays in the Go
# build cache (`go env GOCACHE`/fuzz), outside the repository. A failure writes its input
# to <package>/testdata/fuzz/<target>/<hash>: rerun it with `go test -run <target>/<hash>
# ./<package>/`, and commit it only as a deliberate regression seed.
FUZZTIME ?= 10m
FUZZPARALLEL ?= 1
FUZZARGS ?=
FUZZTIME_PARSEPLAN ?= $(FUZZTIME)
FUZZTIME_LOADDATA ?= $(FUZZTIME)
FUZZTIME_EXEC ?= $(FUZZTIME)
FUZZTIME_PACKETS ?= $(FUZZTIME)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParsePlan$$' -fuzztime $(FUZZTIME_PARSEPLAN) -parallel $(FUZZPARALLEL) ./sqlplan/ $(FUZZARGS)
	$(GO) test -run '^$$' -fuzz '^FuzzLoadData$$' -fuzztime $(FUZZTIME_LOADDATA) -parallel $(FUZZPARALLEL) ./sqlplan/ $(FUZZARGS)
	$(GO) test -run '^$$' -fuzz '^FuzzExec$$' -fuzztime $(FUZZTIME_EXEC) -parallel $(FUZZPARALLEL) ./engine/ $(FUZZARGS)
	$(GO) test -run '^$$' -fuzz '^FuzzMySQLPackets$$' -fuzztime $(FUZZTIME_PACKETS) -parallel $(FUZZPARALLEL) ./server/ $(FUZZARGS)

# The bounded run `test` does: each target from its seeds alone (a corpus of its own, in a
# temporary directory: the cache's corpus grows with every local run, and replaying it
# could take longer than the run), for a number of executions of about 30 s on this
# machine each. Counts, not durations: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" at the end of a -fuzztime duration, having found nothing
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
fuzz-short:
	d=$$(mktemp -d) && $(MAKE) fuzz FUZZTIME_PARSEPLAN=100000x FUZZTIME_LOADDATA=150000x FUZZTIME_EXEC=3000x \
		FUZZTIME_PACKETS=5000x FUZZARGS="-args -test.fuzzcachedir=$$d"; s=$$?; rm -rf "$$d"; exit $$s
