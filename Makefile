# Two entry points: `make demo` and `make test`. Both create .venv when it is missing
# and reinstall only when pyproject.toml changed since the last install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MIN := .venv-min

.PHONY: demo test test-min lint clean redis

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The export extra too: `make demo` leaves a venv that exports Parquet and WACZ.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[export]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# pywb was a test extra once: its brotlipy shadows Scrapy's brotli (see pywb below).
	$(BIN)/python -m pip uninstall --quiet --yes pywb brotlipy 2>/dev/null || true
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/portal-archive demo

# tests/test_replay.py replays the archive in pywb, kept in a venv of its own: its brotlipy
# installs a `brotli` module that shadows the one Scrapy decodes `br` responses with.
$(VENV)/pywb/bin/pywb: | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/pywb
	$(VENV)/pywb/bin/python -m pip install --quiet 'pywb>=2.10'

# The distributed-crawl tests start their own redis-server on 127.0.0.1 (a free port, a temp
# directory) and stop it. Debian's redis-tools ships the server binary as redis-check-rdb,
# which runs as a server when called redis-server (Debian's redis-server package is only that
# link plus a system service, which we do not want): link it into the venv.
redis: $(VENV)/bin/redis-server

$(VENV)/bin/redis-server: | $(BIN)/python
	@if command -v redis-server >/dev/null; then ln -sf "$$(command -v redis-server)" $@; \
	elif command -v redis-check-rdb >/dev/null; then ln -sf "$$(command -v redis-check-rdb)" $@; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -qq redis-tools || (apt-get update -qq && apt-get install -y -qq redis-tools)) >/dev/null \
		&& ln -sf "$$(command -v redis-check-rdb)" $@; \
	else echo "redis-server not found: install Redis (Debian: sudo apt-get install redis-tools; macOS: brew install redis) and run make again" >&2; exit 1; fi

# Two pytest processes (pytest-xdist): most of the suite's time is crawls and servers waiting
# on each other in child processes, so two at once keep a 2-core machine busy; one at a time
# the suite came close to ten minutes there.
test: $(VENV)/.installed-test $(VENV)/pywb/bin/pywb $(VENV)/bin/redis-server
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2

# The suite on the oldest release of every dependency that pyproject.toml allows, in a venv of
# its own: tests/lower_bounds.py turns each ">=X" into a "==X" constraint for pip.
test-min: $(VENV)/pywb/bin/pywb $(VENV)/bin/redis-server
	rm -rf $(MIN)
	$(PYTHON) -m venv $(MIN)
	$(MIN)/bin/python -m pip install --quiet --upgrade pip
	$(MIN)/bin/python tests/lower_bounds.py > $(MIN)/constraints.txt
	$(MIN)/bin/python -m pip install --quiet -c $(MIN)/constraints.txt -e '.[test]'
	$(MIN)/bin/python -m pip uninstall --quiet --yes pywb brotlipy 2>/dev/null || true
	ln -s $(abspath $(VENV)/pywb) $(MIN)/pywb
	ln -s $(abspath $(VENV)/bin/redis-server) $(MIN)/bin/redis-server
	$(MIN)/bin/python -m pip freeze --exclude-editable > $(MIN)/installed.txt
	$(MIN)/bin/python -m pytest -q -p no:cacheprovider

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(MIN) data .pytest_cache
