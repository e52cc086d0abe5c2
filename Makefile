# Converge: `make run` serves the docs page and binaries; `make test` proves everything.
SHELL := /bin/bash
SWIFT ?= swift
DIST := dist
LISTEN ?= 127.0.0.1:8000
BIN := $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)

# Debian packages: what building needs, and what the tests drive.
BUILD_PACKAGES := libssh-dev libssl-dev libbsd-dev zlib1g-dev pkg-config
TEST_PACKAGES := openssh-client openssh-server socat sshpass curl wget tmux python3 procps psmisc iproute2 util-linux
PRODUCTS := converge agent wsproxy tcptows

.PHONY: all run test dist build deps test-deps unit integration clean bench

all: dist

deps:
	@bash scripts/install-packages.sh $(BUILD_PACKAGES)

test-deps: deps
	@bash scripts/install-packages.sh $(TEST_PACKAGES)
	@python3 -c 'import websockets' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check websockets

build: deps
	$(SWIFT) build -c release

dist: build
	@mkdir -p $(DIST)
	@for p in $(PRODUCTS); do install -m 755 "$(BIN)/$$p" $(DIST)/$$p; done
	@ls -l $(DIST)

run: dist
	$(DIST)/converge --listen $(LISTEN) --downloads $(DIST)

unit: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration: dist test-deps
	@bash Integration/run.sh

# Unit tests and every integration script; the last line is "N passed, N failed".
test: test-deps
	@bash scripts/test.sh

clean:
	rm -rf .build $(DIST)
