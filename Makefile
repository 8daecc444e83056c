# Two commands for a newcomer: `make demo` and `make test`.
# Each installs only what is missing, so a second run starts at once.
# Progress goes to standard error; standard output stays the demo's chat.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JSIPFS := tools/jsipfs
MAKEFLAGS += --no-print-directory

.PHONY: demo test bench lint protos clean redis-server

$(BIN)/python:
	@echo "make: creating $(VENV)" >&2
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	@echo "make: installing the userbot into $(VENV)" >&2
	@$(BIN)/pip install --quiet --disable-pip-version-check -e '.[demo]' >&2
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	@echo "make: installing the userbot and its test tools into $(VENV)" >&2
	@$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]' >&2
	@touch $@ $(VENV)/.demo-installed

$(JSIPFS)/node_modules/.installed: $(JSIPFS)/package.json $(JSIPFS)/package-lock.json
	@echo "make: installing js-ipfs for the IPFS tests (a few minutes the first time)" >&2
	@# Not `npm ci`: an optional dependency of an optional dependency is a tarball that
	@# cannot be fetched here, so npm leaves it out of the lock and `npm ci` refuses.
	@cd $(JSIPFS) && npm install --no-save --no-audit --no-fund --loglevel=error >&2
	@touch $@

# The tests use the Redis on 127.0.0.1:6379 when it answers, and start a
# redis-server of their own on a free port otherwise; either way they need it installed.
redis-server:
	@command -v redis-server >/dev/null || { \
	  echo "make: installing redis-server from the system's packages" >&2; \
	  apt-get update -qq >&2 && apt-get install -y -qq redis-server >&2; }

## The demo: a real OpenBao dev server, Redis if it answers, embedded IPFS.
demo: $(VENV)/.demo-installed
	@$(BIN)/userbot demo

## The tests, against OpenBao, Redis and a js-ipfs node.
test: $(VENV)/.test-installed $(JSIPFS)/node_modules/.installed redis-server
	@$(BIN)/pytest

## The /secret path against Vault's wrap-and-unwrap, side by side; prints ratios.
bench: $(VENV)/.test-installed
	@$(BIN)/python -m benchmarks.secret_path

lint: $(VENV)/.test-installed
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

## Regenerate the protobuf and gRPC code after editing protos/secrets/v1/*.proto.
protos: $(VENV)/.test-installed
	@$(BIN)/python -m protos.generate

clean:
	rm -rf $(VENV) $(JSIPFS)/node_modules
