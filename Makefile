# vendorrisk — `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
# Debian packages: fast font subsetting for WeasyPrint, Japanese fonts (with real bold),
# poppler (PDF → PNG for looking at pages), Chromium for the browser tests and LibreOffice Writer
# (headless) to check that the DOCX lays out like the PDF (measured: ~84 MB download, 259 MB installed,
# 15-40 s with --no-install-recommends).
SYSTEM_PACKAGES := libharfbuzz-subset0 fonts-noto-cjk poppler-utils chromium libreoffice-writer-nogui

.PHONY: setup system-deps venv instance run demo serve serve-prod test test-sqlite gates vendor-checkers lint typecheck complexity bandit audit lock bench check-pdf clean

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

# Installs are reproducible: every package (with the test extra) at the version pinned in
# requirements.lock, then the project itself without resolving again. pyproject.toml keeps the
# ranges; `make lock` rewrites the lock from them (in a fresh venv).
$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --upgrade pip >/dev/null
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q -e . --no-deps
	@touch $@

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[test]'
	@{ echo "# Every package of \`pip install -e '.[test]'\`, pinned: \`make lock\` writes it, \`make setup\` installs it."; \
	  .lock-venv/bin/pip freeze --exclude-editable --all | grep -v '^\(pip\|setuptools\|wheel\)=='; } > requirements.lock
	rm -rf .lock-venv

instance: venv
	@$(PY) -m vendorrisk.instance_setup

# The demo's invitation links use the address `serve` listens on (unless VENDORRISK_BASE_URL is set).
demo: setup
	@VENDORRISK_SERVED_URL=http://$(HOST):$(PORT) $(VENV)/bin/vendorrisk demo

# gunicorn, never a development server: gthread workers (one per CPU core, 4 threads each, one annex
# render at a time per process), so an idle connection never stalls anyone else. Why, and every
# setting (VENDORRISK_WORKERS, VENDORRISK_THREADS, GUNICORN_CMD_ARGS …): vendorrisk/gunicorn_conf.py.
GUNICORN := $(VENV)/bin/gunicorn --config vendorrisk/gunicorn_conf.py --bind $(HOST):$(PORT)

serve: setup
	@echo "== serving on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	@exec $(GUNICORN) 'vendorrisk:create_app()'

run: demo serve

# Behind a reverse proxy that terminates HTTPS (nginx, Apache …) on this machine: trust one proxy
# hop (VENDORRISK_PROXY_FIX), always-Secure session cookie; HSTS and the __Host- cookie come with
# X-Forwarded-Proto: https. Set VENDORRISK_BASE_URL to the public address.
# Example: make serve-prod VENDORRISK_BASE_URL=https://vendorrisk.example.lg.jp PORT=8000
serve-prod: setup
	@test -n "$$VENDORRISK_BASE_URL" || echo "!! VENDORRISK_BASE_URL is not set: links in e-mails will point at http://$(HOST):$(PORT)"
	@echo "== serving on http://$(HOST):$(PORT)/ for the reverse proxy  (Ctrl+C to stop)"
	@VENDORRISK_PROXY_FIX=$${VENDORRISK_PROXY_FIX:-1} VENDORRISK_SESSION_COOKIE_SECURE=$${VENDORRISK_SESSION_COOKIE_SECURE:-true} \
	  VENDORRISK_RATELIMIT_STORAGE_URI=$${VENDORRISK_RATELIMIT_STORAGE_URI:-$${REDIS_URL:-redis://127.0.0.1:6379/0}} \
	  exec $(GUNICORN) 'vendorrisk:create_app()'

# `make test`: the gates below, then the whole suite (SQLite and PostgreSQL; inside it the access
# matrix over the URL map, hypothesis fuzzing of every form and of the policy parser, the migration
# test from every revision, the Nu HTML Checker over every page).
test: setup gates vendor-checkers
	$(VENV)/bin/pytest

test-sqlite: setup gates vendor-checkers
	VENDORRISK_TEST_POSTGRES=0 $(VENV)/bin/pytest

gates: lint typecheck complexity bandit audit

# The Nu HTML Checker (vnu-jar) and axe-core from npm, unpacked into a cache folder (not in git)
# on first use (tests/test_html_validity.py, tests/test_accessibility.py).
CHECKERS := .cache/checkers
VNU_VERSION := 24.10.17
AXE_VERSION := 4.10.3
vendor-checkers: $(CHECKERS)/vnu.jar $(CHECKERS)/axe.min.js

$(CHECKERS)/axe.min.js:
	@mkdir -p $(CHECKERS)/npm
	cd $(CHECKERS)/npm && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null
	tar -xzf $(CHECKERS)/npm/axe-core-$(AXE_VERSION).tgz -C $(CHECKERS)/npm package/axe.min.js
	cp $(CHECKERS)/npm/package/axe.min.js $@
	rm -rf $(CHECKERS)/npm/package

$(CHECKERS)/vnu.jar:
	@mkdir -p $(CHECKERS)/npm
	cd $(CHECKERS)/npm && npm pack --silent vnu-jar@$(VNU_VERSION) >/dev/null
	tar -xzf $(CHECKERS)/npm/vnu-jar-$(VNU_VERSION).tgz -C $(CHECKERS)/npm
	cp $(CHECKERS)/npm/package/build/dist/vnu.jar $@
	rm -rf $(CHECKERS)/npm/package

lint: venv
	$(VENV)/bin/ruff check vendorrisk tests

typecheck: venv
	$(VENV)/bin/mypy vendorrisk

# No function above cyclomatic complexity 20: radon rates 21-30 "D"; any D or worse fails the gate.
complexity: venv
	@out="$$($(VENV)/bin/radon cc -n D -s vendorrisk)"; \
	if [ -n "$$out" ]; then echo "$$out"; echo "!! functions above cyclomatic complexity 20 (radon D or worse): split them"; exit 1; fi

# No medium or high finding (-ll); each low-severity exception is a `# nosec` with its reason.
bandit: venv
	$(VENV)/bin/bandit -q -c pyproject.toml -r vendorrisk -ll

# Known vulnerabilities in the locked packages (PyPI's advisory data for each pinned version: needs
# the network). When that data cannot be reached (offline, or a package index without the
# per-version JSON, as on this project's own CI machines) the gate is skipped with a loud message;
# a pipeline that does reach PyPI sets AUDIT_REQUIRED=1 so that it can never pass without the check.
# AUDIT_INDEX is where the data is probed.
AUDIT_INDEX ?= https://pypi.org
AUDIT_REQUIRED ?=
AUDIT_PROBE := import re, sys, urllib.request; v = re.search(r"^flask==(\S+)", open("requirements.lock").read(), re.M | re.I)[1]; \
  urllib.request.urlopen(f"{sys.argv[1]}/pypi/flask/{v}/json", timeout=10)
audit: venv
	@if $(PY) -c '$(AUDIT_PROBE)' '$(AUDIT_INDEX)' 2>/dev/null; then \
	  $(VENV)/bin/pip-audit --strict --progress-spinner off --no-deps --disable-pip -r requirements.lock; \
	else \
	  case "$(AUDIT_REQUIRED)" in \
	    1|true|yes) echo "!! pip-audit FAILED: PyPI's advisory data ($(AUDIT_INDEX)/pypi/<name>/<version>/json) is not reachable, and AUDIT_REQUIRED is set"; exit 1;; \
	    *) echo "!! pip-audit SKIPPED: PyPI's advisory data ($(AUDIT_INDEX)/pypi/<name>/<version>/json) is not reachable from here; the lock was not checked for known vulnerabilities";; \
	  esac; \
	fi

# Every bench runs even when an earlier one misses its goal; the target fails at the end if any did.
BENCHES := bench/annex.py "bench/lists.py" "bench/lists.py --db postgres" "bench/load.py" "bench/load.py --db postgres"
bench: setup
	@failed=""; for b in $(BENCHES); do \
	  echo "== $$b  (load average: $$(cut -d' ' -f1-3 /proc/loadavg))"; \
	  $(PY) $$b || failed="$$failed [$$b]"; \
	done; \
	if [ -n "$$failed" ]; then echo "!! goals missed in:$$failed"; exit 1; fi

check-pdf: venv
	@$(VENV)/bin/vendorrisk check-pdf

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .cache
