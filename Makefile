# PagerDuty for Mattermost: build, run and test.
GO      ?= go
BIN     ?= bin/pagerduty-app
export PATH := $(PATH):/usr/local/go/bin
# The PagerDuty OpenAPI spec the fake checks every request and response against.
export PAGERDUTY_OPENAPI_SPEC ?= $(abspath ../shared/pagerduty/rest-openapiv3.json)

.PHONY: build run test race e2e bench vet clean stack-up stack-down

build:
	$(GO) build -trimpath -o $(BIN) .

# Serves the app on 127.0.0.1:4000 (PD_APP_LISTEN); prints what to configure next.
run: build
	./$(BIN)

vet:
	$(GO) vet ./...

# Unit and component tests (no Mattermost server needed).
test: vet
	$(GO) test -count=1 ./...

# The same tests under the race detector (slower: about 1.5 minutes, 3 on a cold cache).
race:
	$(GO) test -race -count=1 ./...

# End-to-end tests against a real Mattermost + Apps plugin on 127.0.0.1 (built on first use).
e2e:
	./e2e/run.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

stack-up:
	./e2e/mm-stack.sh up

stack-down:
	./e2e/mm-stack.sh down

clean:
	rm -rf bin
