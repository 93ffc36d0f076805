# Mantrid — see README.md. Every target works on a machine with only Go.
GO        ?= go
BIN       := bin
FUZZTIME  ?= 1m
TESTFLAGS ?=
BENCHFLAGS ?=

.PHONY: all build run test test-deps fuzz lint clean bench-deps bench soak fleet-deps fleet

all: build

## build: compile mantrid and mantrid-client into ./bin
build:
	$(GO) build -o $(BIN)/ ./cmd/...

## run: build and start Mantrid on examples/mantrid.conf (ports 8080, 8081, 8042; state in ./run)
run: build
	@mkdir -p run/static
	@test -f run/state.json || cp examples/state.json run/state.json
	./$(BIN)/mantrid -c examples/mantrid.conf

## test: vet, then every test with the race detector (what CI runs)
test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 14m $(TESTFLAGS) ./...

## test-deps: as root on Debian/Ubuntu, install what tests drive from outside when missing (systemd: systemd-analyze, systemd-socket-activate); elsewhere those tests skip and say why
test-deps:
	@if ! command -v systemd-analyze >/dev/null 2>&1 || ! command -v systemd-socket-activate >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make test: installing systemd (systemd-analyze, systemd-socket-activate) for the unit and upgrade tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q --no-install-recommends systemd >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends systemd >/dev/null; } || \
	      echo "make test: could not install systemd; the tests that need it say so"; \
	  else \
	    echo "make test: systemd-analyze or systemd-socket-activate missing (not root, or no apt-get); the tests that need them skip and say why"; \
	  fi; \
	fi

## fuzz: run every fuzz target for FUZZTIME each (default 1m)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench-deps: install what `make bench` drives (Debian/Ubuntu, as root): wrk, nginx-light, haproxy
bench-deps:
	apt-get update
	apt-get install -y wrk nginx-light haproxy

## bench: build, then benchmark Mantrid against nginx and HAProxy with wrk (BENCHFLAGS=-quick: 1 round of 2 s)
bench: build
	@for t in wrk nginx; do command -v $$t >/dev/null 2>&1 || { echo "make bench: $$t not found; install it with 'make bench-deps' (apt-get install wrk nginx-light haproxy)"; exit 1; }; done
	$(GO) run ./bench $(BENCHFLAGS)

## soak: build, then run Mantrid for SOAKTIME (default 10m) under Go clients and wrk while a host flips spin → backend restart → proxy; fails on any lost, duplicated or unexpected answer or growing resources. RACE=1: a -race build (bin/mantrid-race). SOAKFLAGS: more flags of bench/soak
SOAKTIME  ?= 10m
SOAKFLAGS ?=
soak: build
	$(if $(filter 1,$(RACE)),$(GO) build -race -o $(BIN)/mantrid-race ./cmd/mantrid)
	$(GO) run ./bench/soak -mantrid $(if $(filter 1,$(RACE)),$(BIN)/mantrid-race,$(BIN)/mantrid) -d $(SOAKTIME) $(SOAKFLAGS)

## fleet-deps: install etcd (Debian/Ubuntu, as root: etcd-server, etcd-client) for `make fleet`, when missing
fleet-deps:
	@command -v etcd >/dev/null 2>&1 || { apt-get install -y -q etcd-server etcd-client || { apt-get update -q && apt-get install -y -q etcd-server etcd-client; }; }

## fleet: build, then run a local demo fleet: an etcd server and three nodes on loopback ports (commands to try are printed; Ctrl-C stops all)
fleet: build
	BIN=$(BIN) sh examples/fleet.sh

clean:
	rm -rf $(BIN)
