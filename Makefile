# vendorrisk — `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
# Debian packages: fast font subsetting for WeasyPrint, Japanese fonts (with real bold),
# poppler (PDF → PNG for looking at pages) and Chromium for the browser tests.
SYSTEM_PACKAGES := libharfbuzz-subset0 fonts-noto-cjk poppler-utils chromium

.PHONY: setup system-deps venv instance run demo serve test test-sqlite bench check-pdf clean

setup: system-deps venv instance

system-deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "== installing Debian packages:$$missing"; \
	    (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null) \
	      || { echo "apt-get failed. Run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; }; \
	  else \
	    echo "Missing Debian packages:$$missing"; \
	    echo "Run this once, then run make again:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --upgrade pip >/dev/null
	$(PIP) install -q -e '.[test]'
	@touch $@

instance: venv
	@$(PY) -m vendorrisk.instance_setup

demo: setup
	@$(VENV)/bin/vendorrisk demo

serve:
	@echo "== serving on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	@$(VENV)/bin/vendorrisk run --host $(HOST) --port $(PORT) --no-reload --without-threads

run: demo serve

test: setup
	$(VENV)/bin/pytest

test-sqlite: setup
	VENDORRISK_TEST_POSTGRES=0 $(VENV)/bin/pytest

bench: setup
	$(PY) bench/annex.py

check-pdf: venv
	@$(VENV)/bin/vendorrisk check-pdf

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
