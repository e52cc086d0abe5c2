# Converge: `make run` serves the docs page and binaries; `make test` proves everything.
SHELL := /bin/bash
SWIFT ?= swift
DIST := dist
LISTEN ?= 127.0.0.1:8000
# The SSH jump host (ssh -J) beside the HTTP port; its key is kept in .run/ across restarts.
SSH_LISTEN ?= 127.0.0.1:2222
BIN := $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)

# Debian packages: what building needs, and what the tests drive.
BUILD_PACKAGES := libssh-dev libssl-dev libbsd-dev zlib1g-dev pkg-config file
TEST_PACKAGES := openssh-client openssh-server socat sshpass curl wget tmux python3 procps psmisc iproute2 util-linux busybox-static nginx debootstrap
# The operator's view is tested in a real browser: headless Chromium driven by Selenium (PyPI).
BROWSER_PACKAGES := chromium chromium-driver
PRODUCTS := converge agent wsproxy tcptows

# What runs on someone else's machine is fully static (any x86-64 Linux, any libc or none):
# the Swift runtime, glibc, libssh, libssl, libcrypto, zlib, libbsd and libmd all come from
# their .a archives (`-static` makes the modules' -lssh/-lssl/-lcrypto/-lbsd pick them),
# GSSAPI from failing stubs (CShims/gssapi_stubs.c). Own scratch path: these flags must
# not fight the normal debug/release builds. `converge` stays dynamic.
STATIC_PRODUCTS := agent wsproxy tcptows
STATIC_SCRATCH := .build-static
STATIC_FLAGS := -c release --scratch-path $(STATIC_SCRATCH) --static-swift-stdlib -Xswiftc -static-executable \
	-Xcc -DCONVERGE_STATIC_GSSAPI_STUBS -Xlinker -l:libcrypto.a -Xlinker -l:libz.a -Xlinker -l:libmd.a

.PHONY: all run test dist build build-server build-static deps test-deps unit integration clean bench soak fuzz

all: dist

deps:
	@bash scripts/install-packages.sh $(BUILD_PACKAGES)

test-deps: deps
	@bash scripts/install-packages.sh $(TEST_PACKAGES) $(BROWSER_PACKAGES)
	@python3 -c 'import websockets' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check websockets
	@python3 -c 'import selenium' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check selenium

build: deps
	$(SWIFT) build -c release

build-server: deps
	$(SWIFT) build -c release --product converge

build-static: deps
	@for p in $(STATIC_PRODUCTS); do $(SWIFT) build $(STATIC_FLAGS) --product $$p || exit 1; done

# dist/: converge (dynamic) and the three static programs, stripped; refuses a dynamic one.
dist: build-server build-static
	@mkdir -p $(DIST)
	@install -m 755 "$(BIN)/converge" $(DIST)/converge
	@for p in $(STATIC_PRODUCTS); do \
	  install -m 755 -s "$(STATIC_SCRATCH)/release/$$p" $(DIST)/$$p || exit 1; \
	  file -L $(DIST)/$$p | grep -q 'statically linked' || { echo "$(DIST)/$$p is not statically linked" >&2; exit 1; }; \
	done
	@ls -l $(DIST)

run: dist
	@install -d -m 700 .run
	$(DIST)/converge --listen $(LISTEN) --downloads $(DIST) --ssh-listen $(SSH_LISTEN) --ssh-host-key .run/ssh_host_ed25519_key

unit: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration: dist test-deps
	@bash Integration/run.sh

# Unit tests and every integration script; the last line is "N passed, N failed".
test: test-deps
	@bash scripts/test.sh

clean:
	rm -rf .build Fuzz/.build $(STATIC_SCRATCH) $(DIST)

# libFuzzer over every parser, FUZZ_SECONDS per target on a scratch copy of Fuzz/corpus;
# fails on any finding (scripts/fuzz.sh, Fuzz/RESULTS.md). `make test` runs each briefly.
FUZZ_SECONDS ?= 300
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# Speed and memory against OpenSSH references on loopback (not part of `make test`): one table
# on stdout and in bench/results.md. Uses dist/ as it is (builds it only if missing); at most 10 min.
# Measures the binaries as built now (dist is incremental, so this costs little when fresh).
bench: test-deps dist
	@bash scripts/install-packages.sh websockify
	@ulimit -n $$(ulimit -Hn); DIST=$(abspath $(DIST)) timeout -s TERM 600 python3 bench/bench.py

# Faults under load (not part of `make test`, at most 15 min): 50 sftp transfers at a time while
# workers, clients and session processes are SIGKILLed. Longer: make soak SOAK_ARGS="--duration 10m".
soak: dist test-deps
	@bash scripts/soak.sh $(SOAK_ARGS)
