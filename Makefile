VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

lint: $(STAMP)
	$(PY) -m ruff check src tests bench examples build_support setup.py
	$(PY) -m ruff format --check src tests bench examples build_support setup.py
	$(PY) -m mypy

test: lint
	@command -v redis-server >/dev/null || { echo "make test: redis-server is not installed (the sidecar tests start a real one); install the Debian package: apt-get install redis-server" >&2; exit 1; }
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/latency.py
	$(PY) bench/validate.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
