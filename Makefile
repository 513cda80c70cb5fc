# Two commands for a fresh clone (see README):
#   make run    install everything and start the web chat on http://127.0.0.1:7860
#   make test   install everything and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install system-deps bench eval clean

run: install
	$(VENV)/bin/qa serve

test: install system-deps
	QA_ARTIFACTS=$(CURDIR)/artifacts $(PY) -m pytest -q

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

# Debian's Chromium (driven by Playwright in the browser tests) and CJK fonts for its screenshots.
system-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then :; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium fonts-noto-cjk; \
	else echo "note: install Chromium at /usr/bin/chromium for the browser tests (they skip without it)"; fi

bench: install
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/load.py

eval: install
	$(VENV)/bin/qa eval --out reports

clean:
	rm -rf $(VENV) artifacts reports .pytest_cache
