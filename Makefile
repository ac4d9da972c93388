# Guichet. `make run` starts the whole API locally; `make test` runs every test.
GO        ?= go
FUNCTIONS := $(notdir $(patsubst %/,%,$(dir $(wildcard functions/*/main.go))))
PORT      ?= 8080
# The npm tools (CDK CLI, Redocly, Spectral), installed from infra/package-lock.json.
CDK       := infra/node_modules/.bin/cdk

.PHONY: all build run test test-go test-dynamodb bench lint lint-openapi fuzz openapi clean

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

## test: every test (Go, in parallel; then the infrastructure assertions)
test: test-go test-infra

test-go:
	$(GO) test -count=1 ./...

## test-dynamodb: DYNAMODB_PACKAGES again against a second DynamoDB, moto's server (Python moto), run
## single-threaded on a free loopback port by .ci/moto-server and stopped after; each test gets a table
## of its own (GUICHET_TEST_DYNAMODB, which you may also set yourself to use another endpoint).
## moto takes about 20 ms of CPU a request: on a loaded machine this runs for many minutes.
# ./shared/users is left out to bound CI's time (it passed on moto before its scale tests grew).
DYNAMODB_PACKAGES ?= ./shared/store ./shared/gateway ./shared/organization
# Left to the embedded DynamoDB: the tests at scale (a 1,999-user import, a user of 1,504
# credentials, 500 refreshes, 1,000 role holders, 1,060 users searched): moto copies the whole
# table for every item of every transaction, so they run for hours there and its memory grows past
# 20 GB. What they check is counts and sizes, the same on both; their semantics are also tested
# small (filters past one page, regrants past one page, endings resumed), and those run on moto.
DYNAMODB_SKIP     ?= ^(TestMailLimitPerOrganizationBoundsImports|TestADeactivationEndsAThousandAtOnceAndLeavesTheRestToItsJob|TestDeactivatingAUserWhoseSessionsRefreshedKeepsItsBudget|TestARoleChangeRegrantsEveryHolderInTheBackground|TestATextSearchStopsAtItsReadBudgetAndSaysSo)$$
test-dynamodb:
	@dir=$$(mktemp -d); .ci/moto-server > $$dir/url 2> $$dir/moto.log & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; rm -rf $$dir' EXIT; \
	for i in $$(seq 600); do [ -s $$dir/url ] && break; kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	url=$$(head -1 $$dir/url); \
	if [ -z "$$url" ]; then echo "moto's server did not start:"; cat $$dir/moto.log; exit 1; fi; \
	echo "moto on $$url"; \
	GUICHET_TEST_DYNAMODB=$$url $(GO) test -count=1 -timeout 30m -skip '$(DYNAMODB_SKIP)' $(DYNAMODB_PACKAGES)

## bench: benchmarks through the local gateway, with DynamoDB calls per operation and each one's floor (hello-world handlers, same calls) and ratio
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: each fuzz target for FUZZTIME (parsers of untrusted input)
FUZZTIME ?= 5s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./shared/token
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./shared/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./shared/cursor
	$(GO) test -run '^$$' -fuzz '^FuzzImportRow$$' -fuzztime $(FUZZTIME) ./shared/users
	$(GO) test -run '^$$' -fuzz '^FuzzRequestBodies$$' -fuzztime $(FUZZTIME) ./shared/app

## openapi: write the API description to shared/openapi/openapi.json (a test fails when it is stale)
openapi:
	$(GO) run ./cmd/guichet openapi > shared/openapi/openapi.json

## lint-openapi: the API description passes Redocly's recommended rules and Spectral's oas ruleset
## (.spectral.yaml) without a warning (both CLIs pinned in infra/package.json)
lint-openapi: $(CDK)
	infra/node_modules/.bin/redocly lint --format=stylish shared/openapi/openapi.json
	infra/node_modules/.bin/spectral lint --fail-severity=warn shared/openapi/openapi.json

## lint: gofmt lists nothing; go vet, go mod tidy, staticcheck and deadcode find nothing (tools pinned here)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE    := golang.org/x/tools/cmd/deadcode@v0.52.0
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	cd infra && $(GO) mod tidy -diff
	$(GO) run $(STATICCHECK) ./...
	@# deadcode sees infra/ too (it uses shared/route), through a throwaway workspace.
	@work=$$(mktemp -d)/go.work; printf 'go 1.26.8\nuse (\n\t%s\n\t%s/infra\n)\n' "$$PWD" "$$PWD" > $$work; \
	out=$$(GOWORK=$$work $(GO) run $(DEADCODE) -test ./... ./infra/...); rm -f $$work; \
	if [ -n "$$out" ]; then echo "dead code:"; echo "$$out"; exit 1; fi

clean:
	rm -rf build cdk.out

# --- infrastructure (infra/ is its own Go module: the CDK never enters a Lambda build) ---
# CDK_CONTEXT passes context keys to synth, e.g. CDK_CONTEXT='-c production=false -c mailFrom=no-reply@example.com'
CDK_CONTEXT ?=
# CDK_DEPLOY_FLAGS passes flags to cdk deploy, e.g. CDK_DEPLOY_FLAGS='--require-approval never'
CDK_DEPLOY_FLAGS ?=

.PHONY: synth deploy test-infra lint-template

## synth: the CloudFormation template and assets in cdk.out/ from build/ (CDK CLI pinned in infra/package.json)
synth: build $(CDK)
	cd infra && ./node_modules/.bin/cdk synth --quiet --output ../cdk.out $(CDK_CONTEXT)

## lint-template: cfn-lint finds no error, warning or invalid IAM action in the templates make synth wrote
lint-template:
	@ls cdk.out/*.template.json >/dev/null 2>&1 || { echo "no cdk.out/*.template.json: run make synth first"; exit 1; }
	@# W3005 (a DependsOn that a GetAtt already implies) is the CDK's: each Lambda depends on its
	@# role, and on the role's policy, which the GetAtt does not imply. It is harmless.
	cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json

## deploy: deploy cdk.out/ with the pinned CDK CLI (AWS credentials and a bootstrapped account needed)
deploy: synth
	cd infra && ./node_modules/.bin/cdk deploy --app ../cdk.out $(CDK_DEPLOY_FLAGS)

$(CDK): infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund
	@touch $@

## test-infra: gofmt, vet and the CDK stack's assertion tests (no build, npm or AWS account needed)
test-infra:
	@out=$$(cd infra && gofmt -l *.go guichet example); if [ -n "$$out" ]; then echo "gofmt needed in infra/:"; echo "$$out"; exit 1; fi
	cd infra && $(GO) vet ./... && $(GO) test -count=1 ./...
