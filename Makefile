# digitreader: `make run` installs and serves the web app; `make test` installs everything and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The genuine MNIST files sit beside the checkout here and in CI; elsewhere set DIGITREADER_DATA
# or let `digitreader data download` fetch them.
SHARED_MNIST := $(abspath ../shared/data/mnist)
ifeq ($(origin DIGITREADER_DATA), undefined)
  ifneq ($(wildcard $(SHARED_MNIST)/t10k-images-idx3-ubyte.gz),)
    export DIGITREADER_DATA := $(SHARED_MNIST)
  endif
endif

.PHONY: run test install install-dev system-deps lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Serving needs no torch: onnxruntime, numpy, OpenCV, Pillow, FastAPI.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[train,dev,scale]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Browser tests drive Debian's Chromium; the OCR comparison uses Tesseract.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v tesseract >/dev/null; then \
	  echo "installing chromium and tesseract-ocr (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium tesseract-ocr >/dev/null; \
	fi

run: install
	$(BIN)/digitreader serve --host $(HOST) --port $(PORT)

test: install-dev system-deps
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install-dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache test-output
