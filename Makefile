# One virtualenv for everything; every target creates it when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What `make install` (what an operator runs) installs, nothing else: every runtime dependency
# pinned with the sha256 of each of its files (requirements.lock), after the build tools pinned
# and hashed the same way (requirements-build.lock: pip, setuptools, wheel), so that building
# the bot from this checkout (--no-build-isolation) runs no unpinned code. The test extra
# (pytest, hypothesis, ruff, libfaketime...) is in requirements-dev.lock, for `make test` and
# `make lint` only (DEV_STAMP). `make lock` writes the three.
LOCK := requirements.lock
BUILD_LOCK := requirements-build.lock
DEV_LOCK := requirements-dev.lock
DEV_STAMP := $(VENV)/.installed-dev
LOCK_VENV := .venv-lock
AUDIT_VENV := .venv-audit
PIP_AUDIT := pip-audit==2.10.1

.PHONY: install test lint format demo sandbox run locales clean bench bench-fleet profile faults lock audit

$(STAMP): pyproject.toml $(LOCK) $(BUILD_LOCK)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(BUILD_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	touch $(DEV_STAMP)

install: $(STAMP)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python -m bot.ops.demo $(DEMO_ARGS)

sandbox: $(STAMP)
	$(BIN)/python -m sandbox --port 8081

run: $(STAMP)
	$(BIN)/python -m bot

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(AUDIT_VENV) .pytest_cache .ruff_cache

# Resolve pyproject.toml's dependencies anew, with hashes: requirements.lock (runtime), then
# requirements-build.lock (requirements-build.in: pip, setuptools, wheel) and
# requirements-dev.lock (runtime and the test extra), both held to the runtime pins. After
# changing a dependency, or to take upgrades (LOCK_ARGS=--upgrade, or
# LOCK_ARGS="--upgrade-package starlette"). pip-tools runs in a virtualenv of its own.
COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock:
	test -d $(LOCK_VENV) || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet 'pip-tools>=7.4,<8'
	$(COMPILE) --output-file $(LOCK) $(LOCK_ARGS) pyproject.toml
	$(COMPILE) --constraint $(LOCK) --output-file $(BUILD_LOCK) $(LOCK_ARGS) requirements-build.in
	$(COMPILE) --constraint $(LOCK) --constraint $(BUILD_LOCK) --extra test \
		--output-file $(DEV_LOCK) $(LOCK_ARGS) pyproject.toml

# The three locks against the published advisories (pip-audit, in a virtualenv of its own):
# fails on any advisory; when the advisory database cannot be reached it says so in one line
# and does not fail (.ci/audit.py). `.ci/run` runs it after the tests.
audit:
	test -d $(AUDIT_VENV) || $(PYTHON) -m venv $(AUDIT_VENV)
	test -x $(AUDIT_VENV)/bin/pip-audit || $(AUDIT_VENV)/bin/python -m pip install --quiet '$(PIP_AUDIT)'
	$(AUDIT_VENV)/bin/python .ci/audit.py --pip-audit $(AUDIT_VENV)/bin/pip-audit \
		$(LOCK) $(BUILD_LOCK) $(DEV_LOCK)

# Re-extract msgids from bot/ into locales/bot.pot and merge them into every language's .po
# (new languages are initialised). Translate what comes out empty or "#, fuzzy", then run
# `pytest tests/i18n`. The .po files are read directly at start-up: nothing to compile.
# bot.pot is only replaced when more than its creation date changed, to keep diffs quiet.
locales: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k Msg -k N_ -k Plural:1,2 --no-default-keywords \
		--add-comments=TRANSLATORS: --add-location=file --sort-by-file --no-wrap \
		--project=zimun-booking-bot --copyright-holder="Zimun booking bot contributors" \
		-o locales/bot.pot.new bot/
	if diff -q -I '^"POT-Creation-Date:' locales/bot.pot locales/bot.pot.new >/dev/null 2>&1; \
	then rm locales/bot.pot.new; else mv locales/bot.pot.new locales/bot.pot; fi
	for lang in en es it de; do \
		$(BIN)/pybabel update -i locales/bot.pot -d locales -D bot -l $$lang \
			--init-missing --ignore-obsolete --no-wrap; \
	done

# Benchmark (bench/README.md): the real Application, N simulated customers, the sandbox in its
# own process over loopback; prints the tables, writes bench/results/*.json and latency.png.
# A few minutes on two cores; BENCH_ARGS for bigger or smaller runs (--quick, --customers ...).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(DEV_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --no-build-isolation -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.fleet $(FLEET_ARGS)
	$(BIN)/python -m bench.failover

# Many businesses in one process (bench/fleet.py): 1, 100 and 1,000 businesses in webhook mode,
# a process each under `ulimit -n 1024`; about three minutes (FLEET_ARGS=--quick: one).
bench-fleet: $(BENCH_STAMP)
	$(BIN)/python -m bench.fleet $(FLEET_ARGS)

# The throughput run under pyinstrument: bench/results/profile.html and profile.txt.
profile: $(BENCH_STAMP)
	$(BIN)/python -m bench --profile $(BENCH_ARGS)

# The whole fault suite (tests/faults), including the cases marked slow that `make test` skips.
faults: $(DEV_STAMP)
	FAULTS_FULL=1 $(BIN)/python -m pytest -q tests/faults
