# Two commands for a newcomer: `make demo` and `make test`.
# Each installs only what is missing, so a second run starts at once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JSIPFS := tools/jsipfs

.PHONY: demo test lint protos clean redis-installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.demo-installed

$(JSIPFS)/node_modules/.installed: $(JSIPFS)/package.json $(JSIPFS)/package-lock.json
	cd $(JSIPFS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The tests need a redis-server binary: they use the one on 127.0.0.1:6379 when
# it answers, and start their own on a free port otherwise.
redis-installed:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server from the system's packages"; \
	  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }

## Run the demo: a real OpenBao dev server, embedded IPFS, Redis if it answers.
demo: $(VENV)/.demo-installed
	$(BIN)/userbot demo

## Run the whole test suite against OpenBao, Redis and a js-ipfs node.
test: $(VENV)/.test-installed $(JSIPFS)/node_modules/.installed redis-installed
	$(BIN)/pytest -q

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Regenerate the protobuf and gRPC code after editing protos/secrets/v1/*.proto.
protos: $(VENV)/.test-installed
	$(BIN)/python -m protos.generate

clean:
	rm -rf $(VENV) $(JSIPFS)/node_modules
