# Two commands for a fresh clone (see README):
#   make run    install everything and start the web chat on http://127.0.0.1:7860
#   make test   install everything and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast install system-deps bench bench-long eval clean reader

run: install
	$(VENV)/bin/qa serve

test: install system-deps
	QA_ARTIFACTS=$(CURDIR)/artifacts $(PY) -m pytest -q

# The tests that need no model, reader, subprocess, server or browser: a quick check while editing.
test-fast: install
	QA_ARTIFACTS=$(CURDIR)/artifacts $(PY) -m pytest -q -m "not slow and not browser"

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

# The quick benchmarks (about 15 minutes); bench-long adds the 10-minute soak, the full fuzz and
# crash runs, a bigger file and the 10k/100k/1M scale runs (hours on two cores).
bench: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,bench]"
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/ingest.py --big-mb 1
	$(PY) benchmarks/crash.py --trials 10 --add-trials 10
	$(PY) benchmarks/fuzz.py --n 1000

bench-long: bench
	$(PY) benchmarks/fuzz.py --n 10000
	$(PY) benchmarks/crash.py --trials 50
	$(PY) benchmarks/soak.py --clients 32 --minutes 10
	$(PY) benchmarks/scale.py encode --real 50000
	$(PY) benchmarks/scale.py compare --n 100000
	$(PY) benchmarks/scale.py run

eval: install
	$(VENV)/bin/qa eval --out reports

clean:
	rm -rf $(VENV) artifacts reports .pytest_cache

# Fine-tune the span reader (training/README.md): hours on two cores; stop it at any time and run
# `make reader` again to resume from the last checkpoint in ~/.cache/qa/reader-train/. Then the soup
# of the trained reader with the first one (training/reader-v1), the shipped copy, and the
# answer/no-answer thresholds.
reader: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[train]"
	nice -n 10 $(PY) training/train.py
	$(PY) training/soup.py training/out --base training/reader-v1 --share 0.5 --out training/out/soup
	cp training/out/soup/reader.onnx training/out/soup/reader_config.json qa/data/reader/
	$(PY) training/calibrate.py
