VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The editable install compiles the engine extension; QuickJS-NG itself is compiled once into
# build/quickjs-cache (see build_support/) and reused by every later build, the wheel check's included.
ENGINE_SOURCES := setup.py build_support/quickjs_source.py build_support/quickjs_build.py \
	src/enclave_vm/engine/_engine.c
# pyright (the npm package, pinned) for the typing test; installed beforehand so tests download nothing.
PYRIGHT_VERSION := 1.1.414
PYRIGHT_STAMP := $(VENV)/pyright/.installed-$(PYRIGHT_VERSION)

.PHONY: demo test lint bench wheel-check clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml $(ENGINE_SOURCES)
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
	$(PY) -m ruff check src tests bench examples build_support setup.py
	$(PY) -m ruff format --check src tests bench examples build_support setup.py
	$(PY) -m mypy

test: lint $(PYRIGHT_STAMP)
	@command -v redis-server >/dev/null || { echo "make test: redis-server is not installed (the sidecar tests start a real one); install the Debian package: apt-get install redis-server" >&2; exit 1; }
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/latency.py
	$(PY) bench/validate.py
	$(PY) bench/engine.py

# Build the wheel (sharing the compiled QuickJS-NG with the editable install), install it into a clean
# venv outside the repo and run a script there.
wheel-check: $(STAMP)
	$(PY) build_support/wheel_check.py

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
	rm -f src/enclave_vm/engine/_engine*.so
