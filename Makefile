# One virtualenv for everything; every target creates it when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency (with the test extra) pinned, with the sha256 of each of its files: what
# `make install` installs, nothing else. `make lock` writes it.
LOCK := requirements.lock
LOCK_VENV := .venv-lock

.PHONY: install test lint format demo sandbox run locales clean bench profile faults lock

$(STAMP): pyproject.toml $(LOCK)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
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
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .ruff_cache

# Resolve pyproject.toml's dependencies (and the test extra) anew into requirements.lock, with
# hashes: after changing a dependency, or to take upgrades (LOCK_ARGS=--upgrade, or
# LOCK_ARGS="--upgrade-package starlette"). pip-tools runs in a virtualenv of its own.
lock:
	test -d $(LOCK_VENV) || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip 'pip-tools>=7.4,<8'
	$(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra test \
		--no-emit-index-url --no-emit-find-links --output-file $(LOCK) $(LOCK_ARGS) pyproject.toml

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

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# The throughput run under pyinstrument: bench/results/profile.html and profile.txt.
profile: $(BENCH_STAMP)
	$(BIN)/python -m bench --profile $(BENCH_ARGS)

# The whole fault suite (tests/faults), including the cases marked slow that `make test` skips.
faults: $(STAMP)
	FAULTS_FULL=1 $(BIN)/python -m pytest -q tests/faults
