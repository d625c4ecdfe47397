VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pyright (the npm package, pinned) for the typing test; installed beforehand so tests download nothing.
PYRIGHT_VERSION := 1.1.414
PYRIGHT_STAMP := $(VENV)/pyright/.installed-$(PYRIGHT_VERSION)

.PHONY: demo test lint bench clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(PYRIGHT_STAMP): | $(PY)
	@command -v npm >/dev/null || { echo "make: npm is needed to install pyright (apt-get install npm)" >&2; exit 1; }
	npm install --prefix $(VENV)/pyright --no-save --no-audit --no-fund --loglevel=error pyright@$(PYRIGHT_VERSION)
	touch $(PYRIGHT_STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

lint: $(STAMP)
	$(PY) -m ruff check src tests bench examples
	$(PY) -m ruff format --check src tests bench examples
	$(PY) -m mypy

test: lint $(PYRIGHT_STAMP)
	@command -v redis-server >/dev/null || { echo "make test: redis-server is not installed (the sidecar tests start a real one); install the Debian package: apt-get install redis-server" >&2; exit 1; }
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/latency.py
	$(PY) bench/validate.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
