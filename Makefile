# Two commands matter: `make run` and `make test`. Both work from a fresh clone with
# only Python 3.11+ on the machine: they create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test fuzz bench worker migrate install clean-data browser

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Serve the API on 127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set).
run: install
	$(VENV)/bin/cornerstone run

## The whole suite against real PostgreSQL (DATABASE_URL or embedded) and a real worker.
test: install browser
	$(PY) -m pytest

## Schemathesis, deeper than `make test`: 500 cases per operation plus the coverage phase;
## and hostile headers, nesting and OAuth parameters, 50 cases per route.
fuzz: install
	CORNERSTONE_FUZZ_EXAMPLES=500 $(PY) -m pytest -q tests/quality/test_fuzz.py tests/quality/test_hostile_input.py

## The sign-in page is tested in Debian's Chromium (never a downloaded browser); CJK fonts
## so that screenshots of the Chinese pages show text.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

## Benchmarks print figures; see docs/benchmarks.md.
bench: install
	$(PY) bench/tenancy.py

worker: install
	$(VENV)/bin/cornerstone worker --beat

migrate: install
	$(VENV)/bin/cornerstone db upgrade

## Stop the embedded PostgreSQL and delete its data.
clean-data:
	-$(PY) -c 'import pgserver; pgserver.get_server(".data/pg").cleanup()' 2>/dev/null
	rm -rf .data
