# Guichet. `make run` starts the whole API locally; `make test` runs every test.
GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
PORT      ?= 8080

.PHONY: all build run test test-go bench lint clean

all: lint test

## build: every function as build/<name>/bootstrap for Lambda (linux/arm64, provided.al2023)
build: $(addprefix build/,$(addsuffix /bootstrap,$(FUNCTIONS)))

build/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o $@ ./functions/$*

FORCE:

## run: the whole API on 127.0.0.1:$(PORT) with embedded DynamoDB and mail
run:
	PORT=$(PORT) $(GO) run ./cmd/local

## test: every test (Go, then the infrastructure assertions)
test: test-go

test-go:
	$(GO) test -count=1 ./...

## bench: benchmarks through the local gateway, with DynamoDB calls per operation
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## lint: gofmt must list nothing; go vet must pass
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf build cdk.out
