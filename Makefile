# Each target installs what it needs, so a fresh machine needs only `make run` or `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint bench screenshots fuzz clean system-deps ext

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml server/persistence/_rdbwriter.c server/datatypes/_hllgeo.c server/_multibulk.c | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The C extensions alone, built in place (what `pip install -e .` does), for a checkout that runs
# from PYTHONPATH with another checkout's venv.
ext: | $(BIN)/python
	$(BIN)/python -c "from setuptools import Distribution, Extension; \
	from setuptools.command.build_ext import build_ext; \
	cmd = build_ext(Distribution({'ext_modules': [Extension('server.persistence._rdbwriter', \
	['server/persistence/_rdbwriter.c']), Extension('server.datatypes._hllgeo', \
	['server/datatypes/_hllgeo.c']), Extension('server._multibulk', ['server/_multibulk.c'])]})); cmd.inplace = 1; cmd.ensure_finalized(); cmd.run()"

# Debian's redis-server and redis-tools: the reference the differential tests compare against;
# tmux: the real terminal the explorer's terminal-safety and paste tests drive.
system-deps:
	@if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v tmux >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools tmux >/dev/null; \
			systemctl stop redis-server 2>/dev/null || service redis-server stop 2>/dev/null || true; \
		else echo "redis-server not found: install Debian's redis-server and redis-tools"; fi; \
	fi

run: $(STAMP)
	$(BIN)/redistui launch

serve: $(STAMP)
	$(BIN)/python -m server --port 6379

test: $(STAMP) system-deps
	$(BIN)/ruff check server redistui tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 3 --durations=25

lint: $(STAMP)
	$(BIN)/ruff check server redistui tests benchmarks

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/pubsub_fanout.py
	$(BIN)/python benchmarks/persistence.py
	$(BIN)/python benchmarks/fsync_always.py
	$(BIN)/python benchmarks/streams.py
	$(BIN)/python benchmarks/hll_geo_sort.py
	$(BIN)/python benchmarks/scripting.py
	$(BIN)/python benchmarks/tui_scale.py --keys 1000000
	$(BIN)/python benchmarks/cluster.py
	$(BIN)/python benchmarks/dumpfile.py
	$(BIN)/python benchmarks/replication.py

fuzz: $(STAMP) system-deps
	$(BIN)/python -m tests.fuzz.fuzzer --frames 1000000
	$(BIN)/python -m tests.fuzz.differential --sequences 20000

screenshots: $(STAMP) system-deps
	$(BIN)/python -m tests.tui.screenshots

clean:
	rm -rf $(VENV) .pytest_cache
