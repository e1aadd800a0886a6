# Two commands matter: `make run` and `make test`. Both work from a fresh clone with
# only Python 3.11+ on the machine: they create .venv and install what they need, at the
# versions pinned (with their hashes) in requirements/: run.txt for the API, worker and
# CLI; dev.txt for that plus the tests and the lint tools. Both are generated from
# pyproject.toml's ranges (`make lock`, `make upgrade-deps`) and installed by uv; the project
# itself is then installed without resolving anything.
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
PIP      := $(PY) -m pip --disable-pip-version-check
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt
# uv installs the locks (pip takes 4-5 times as long: it fetches and unpacks one wheel at a
# time); uv itself comes in by pip, pinned with its hashes in this file (`make lock` updates it).
UV_LOCK  := requirements/uv.txt
UV       := $(VENV)/bin/uv
UV_PIP   := $(UV) pip install -q --python $(PY)

# Every Python process the suite starts (two xdist workers, their live servers and Celery
# workers, the domain-kit and CLI subprocesses) would otherwise compile app/ and tests/ from
# source again where the environment forbids bytecode files (__pycache__ is ignored by git).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run stop test lint fuzz bench worker migrate install install-dev lock upgrade-deps clean-data browser node-tools

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

# One stamp per lock: rebuilt when the lock (or pyproject.toml) changes. `pip check`
# fails when pyproject.toml asks for something the lock lacks (run `make lock`).
# --compile-bytecode: as pip does, so that no process of the suite compiles the libraries again.
$(VENV)/.run-stamp: $(RUN_LOCK) $(UV_LOCK) pyproject.toml | $(PY)
	$(PIP) install -q --require-hashes -r $(UV_LOCK)
	$(UV_PIP) --compile-bytecode --require-hashes -r $(RUN_LOCK)
	$(UV_PIP) --no-deps -e .
	$(PIP) check
	@touch $@

$(VENV)/.dev-stamp: $(DEV_LOCK) $(UV_LOCK) pyproject.toml | $(PY)
	$(PIP) install -q --require-hashes -r $(UV_LOCK)
	$(UV_PIP) --compile-bytecode --require-hashes -r $(DEV_LOCK)
	$(UV_PIP) --no-deps -e .
	$(PIP) check
	@touch $@

install: $(VENV)/.run-stamp
install-dev: $(VENV)/.dev-stamp

# The locks hold every platform and Python 3.11+ (--universal), so they serve any
# machine; run.txt is resolved within dev.txt, so both pin the same versions.
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' --quiet

## After editing pyproject.toml's dependencies: re-resolve, keeping every pin that still fits.
lock: $(PY)
	$(PIP) install -q --require-hashes -r $(UV_LOCK)
	$(UV_COMPILE) $(UPGRADE) --extra test --extra lint -o $(DEV_LOCK)
	$(UV_COMPILE) $(UPGRADE) -c $(DEV_LOCK) -o $(RUN_LOCK)
	echo uv | $(VENV)/bin/uv pip compile - --universal --python-version 3.11 --generate-hashes \
	  --custom-compile-command 'make lock' --quiet $(UPGRADE) -o $(UV_LOCK)

## Every dependency to the newest version pyproject.toml's ranges allow; then `make test`.
upgrade-deps:
	$(MAKE) lock UPGRADE=--upgrade

## Serve the API on 127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set). Ctrl-C
## stops the API, its worker and the embedded PostgreSQL; the data is kept.
run: install
	$(VENV)/bin/cornerstone run

## Stop a run started in the background (`make run &`, nohup…) and the embedded PostgreSQL.
stop: install
	$(VENV)/bin/cornerstone stop

## The lint gate first, then the whole suite against real PostgreSQL (DATABASE_URL or
## embedded) and a real worker, in two processes. worksteal: each worker starts with one half
## of the collection, in order, so a module's tests stay together and its module fixtures
## (the subtree world, the cross-tenant matrix) are built once; a worker that runs out takes
## half of the other's queue (with `load`, modules were dealt out in small chunks to both).
test: lint browser node-tools
	$(PY) -m pytest -n 2 --dist worksteal

## ruff (rules: pyproject.toml) and mypy; any finding fails.
lint: install-dev
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/mypy

## Schemathesis, deeper than `make test`: 500 cases per operation plus the coverage phase;
## and hostile headers, nesting and OAuth parameters, 50 cases per route.
fuzz: install-dev
	CORNERSTONE_FUZZ_EXAMPLES=500 $(PY) -m pytest -q tests/quality/test_fuzz.py tests/quality/test_hostile_input.py

## The sign-in page is tested in Debian's Chromium (never a downloaded browser); CJK fonts
## so that screenshots of the Chinese pages show text.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

## The OpenAPI document is also checked with Node tools (tests/quality/test_spec_tools.py):
## Spectral, a TypeScript client generator and tsc, pinned in tools/npm/package-lock.json
## and installed by `npm ci` (no install scripts run: none of them needs one). Node.js comes
## from Debian, as Chromium does; the tools need 20.19 or later.
NPM_TOOLS := tools/npm
NODE_STAMP := $(NPM_TOOLS)/node_modules/.ci-stamp

node-tools: $(NODE_STAMP)

$(NODE_STAMP): $(NPM_TOOLS)/package.json $(NPM_TOOLS)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "installing Debian's nodejs and npm for the OpenAPI document's checks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a * 100 + b >= 2019 ? 0 : 1)' || { \
	  echo "Node.js 20.19 or later is needed for tools/npm (found $$(node --version))"; exit 1; }
	cd $(NPM_TOOLS) && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

## Benchmarks print figures; see docs/benchmarks.md.
bench: install-dev
	$(PY) bench/tenancy.py

worker: install
	$(VENV)/bin/cornerstone worker --beat

migrate: install
	$(VENV)/bin/cornerstone db upgrade

## Stop the embedded PostgreSQL and delete its data.
clean-data:
	-$(PY) -c 'import pgserver; pgserver.get_server(".data/pg").cleanup()' 2>/dev/null
	rm -rf .data
