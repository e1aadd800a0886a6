# Two commands matter: `make run` and `make test`. Both work from a fresh clone with
# only Python 3.11+ on the machine: they create .venv and install what they need, at the
# versions pinned (with their hashes) in requirements/: run.txt for the API, worker and
# CLI; dev.txt for that plus the tests and the lint tools. Both are generated from
# pyproject.toml's ranges (`make lock`, `make upgrade-deps`); the project itself is then
# installed without resolving anything.
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
PIP      := $(PY) -m pip --disable-pip-version-check
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt

.PHONY: run stop test lint fuzz bench worker migrate install install-dev lock upgrade-deps clean-data browser

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

# One stamp per lock: rebuilt when the lock (or pyproject.toml) changes. `pip check`
# fails when pyproject.toml asks for something the lock lacks (run `make lock`).
$(VENV)/.run-stamp: $(RUN_LOCK) pyproject.toml | $(PY)
	$(PIP) install -q --require-hashes -r $(RUN_LOCK)
	$(PIP) install -q --no-deps -e .
	$(PIP) check
	@touch $@

$(VENV)/.dev-stamp: $(DEV_LOCK) pyproject.toml | $(PY)
	$(PIP) install -q --require-hashes -r $(DEV_LOCK)
	$(PIP) install -q --no-deps -e .
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
	$(PIP) install -q 'uv>=0.9'
	$(UV_COMPILE) $(UPGRADE) --extra test --extra lint -o $(DEV_LOCK)
	$(UV_COMPILE) $(UPGRADE) -c $(DEV_LOCK) -o $(RUN_LOCK)

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
## embedded) and a real worker, in two processes.
test: lint browser
	$(PY) -m pytest -n 2

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
