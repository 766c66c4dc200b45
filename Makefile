# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
DDB_STAMP := infra/local/node_modules/.installed
WEB_STAMP := chalicelib/web/vendor/.installed
OIDC_STAMP := infra/local/oidc/node_modules/.installed
BROWSER_STAMP := .local/.chromium-installed
CHROMIUM ?= /usr/bin/chromium
# JavaScript linter (eslint.config.mjs), pinned in web/package-lock.json and installed by the web stamp.
ESLINT := web/node_modules/.bin/eslint --max-warnings 0 chalicelib/web/src chalicelib/web/pages
ROLE ?= officer
SUB ?= pc-101
TEAM ?= north
RANK ?=
STAGE ?= dev
# pytest-xdist workers for `make test` (one per core; each starts its own DynamoDB Local).
# A module's tests stay on one worker, modules with shared fixtures first (tests/conftest.py).
WORKERS ?= auto
PYTEST_PARALLEL := -n $(WORKERS) --dist loadfile --no-loadscope-reorder
# The environment here sets PYTHONDONTWRITEBYTECODE=1: every process (each xdist worker, each
# `chalice local` a test starts) would compile the app and pytest would re-rewrite every test
# module and its plugins' packages on each run. Empty = write and reuse the bytecode.
export PYTHONDONTWRITEBYTECODE :=
# `make unit` collects only the test modules that mark tests no_database: importing the other
# ~75 (moto, schemathesis, Playwright, ...) would cost seconds (tests/conftest.py fails the run if
# a test is marked without that literal in its module).
UNIT_MODULES = $(shell grep -l no_database tests/test_*.py)

.PHONY: run test unit deps token lint audit bench package clean

# Set-up output goes to stderr so `make -s token` prints exactly one line on stdout.
$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) 1>&2
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt 1>&2
	@touch $@

$(DDB_STAMP): infra/local/package.json infra/local/package-lock.json
	@cd infra/local && npm ci --no-audit --no-fund --silent 1>&2
	@touch $@

# Browser libraries: pinned in web/package-lock.json, copied into chalicelib/web/vendor/ (served and
# packaged; generated, not committed). --ignore-scripts: swagger-ui-dist's analytics dependency
# (@scarf/scarf) would otherwise try to phone home at install time.
$(WEB_STAMP): web/package.json web/package-lock.json infra/web_assets.py | $(PY_STAMP)
	@cd web && npm ci --ignore-scripts --no-audit --no-fund --silent 1>&2
	@$(PY) -m infra.web_assets
	@touch $@

# The local staff OpenID Connect provider (oidc-provider), for `make run` and the browser tests.
$(OIDC_STAMP): infra/local/oidc/package.json infra/local/oidc/package-lock.json
	@cd infra/local/oidc && npm ci --ignore-scripts --no-audit --no-fund --silent 1>&2
	@touch $@

# Headless Chromium for the browser tests: the distribution's package (root; CI runs as root),
# skipped when one is already installed.
$(BROWSER_STAMP):
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation) 1>&2
	@mkdir -p $(dir $@) && touch $@

deps: $(PY_STAMP) $(DDB_STAMP) $(WEB_STAMP) $(OIDC_STAMP)

run: deps
	$(PY) -m infra.local.stack

test: deps $(BROWSER_STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m infra.complexity
	$(PY) -m bandit -q -r chalicelib app.py -lll
	$(ESLINT)
	$(PY) -m pytest -q $(PYTEST_PARALLEL)

# The fast loop: lint, types and every test that needs no database (use cases on tests/fakes.py,
# the fake half of the port contract, pure rules). Seconds, no JVM, no browser.
unit: $(PY_STAMP) $(WEB_STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m infra.complexity
	$(ESLINT)
	$(PY) -m pytest -q -m no_database $(UNIT_MODULES)

token: $(PY_STAMP)
	@$(PY) -m infra.local.idp token --role $(ROLE) --sub $(SUB) --team $(TEAM) --rank "$(RANK)"

lint: $(PY_STAMP) $(WEB_STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m infra.complexity
	$(PY) -m bandit -q -r chalicelib app.py -lll
	$(ESLINT)

# Known-vulnerability check of the pinned dependencies. Needs PyPI's JSON API (or OSV); on a
# machine that only reaches a package mirror it reports every package as "could not be audited".
audit: $(PY_STAMP)
	$(PY) -m pip install -q pip-audit==2.10.1 1>&2
	$(PY) -m pip_audit -r requirements.txt --progress-spinner off

bench: deps
	$(PY) -m bench.contacts_create
	$(PY) -m bench.import_cost
	$(PY) -m bench.history
	$(PY) -m bench.dashboard
	$(PY) -m bench.figures
	$(PY) -m bench.load --seconds 30 --users 8

clean:
	rm -rf $(VENV) infra/local/node_modules infra/local/oidc/node_modules web/node_modules chalicelib/web/vendor build .pytest_cache .ruff_cache

# Deployable CloudFormation (SAM) template + Lambda zip under build/$(STAGE)/ (see README, Deploy).
package: $(PY_STAMP) $(WEB_STAMP)
	$(PY) -m infra.build_template --stage $(STAGE) --out build/$(STAGE)

.PHONY: screenshots
# docs/screenshots/*.png (dashboard, docs, the residents' and the team's apps), taken by the browser tests on seeded data.
screenshots: deps $(BROWSER_STAMP)
	mkdir -p docs/screenshots
	BEATLINE_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/test_web_browser.py tests/test_app_browser.py tests/test_team_browser.py

.PHONY: bench-fanout
# One alert to N subscribers on DynamoDB Local (prints a table; ~6 min at the default 100,000).
bench-fanout: deps
	$(PY) -m bench.fanout --subscribers $(or $(N),100000)
