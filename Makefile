# Mantrid — see README.md. Every target works on a machine with only Go.
GO        ?= go
BIN       := bin
FUZZTIME  ?= 1m
TESTFLAGS ?=

.PHONY: all build run test fuzz lint clean

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
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 9m $(TESTFLAGS) ./...

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

clean:
	rm -rf $(BIN)
