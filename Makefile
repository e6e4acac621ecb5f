# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := python3 -m uv
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
# Debian packages the product and its tests need (chromium: the review app's browser tests;
# postgresql: the second test pass, on a throw-away server the tests start themselves).
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie fonts-liberation2 fonts-dejavu-core chromium postgresql

.PHONY: install system-packages python-env demo test test-fast bench clean

install: system-packages python-env

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "Missing system packages:$$missing"; \
	    echo "Install them as root:  sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

python-env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install -q "uv==$(UV_VERSION)"
	$(UV) sync --frozen --extra dev -p python3.11 -q --compile-bytecode
	@touch $@

demo: install
	rm -rf demo-inbox && cp -r samples/inbox demo-inbox
	@# The copies are new files; date them back so intake does not wait for them to settle.
	find demo-inbox -type f -exec touch -d '1 minute ago' {} +
	$(VENV)/bin/petitions ingest demo-inbox
	$(VENV)/bin/petitions status

# Tests that never touch the database (or, for Dask, whose database side the others cover)
# run once, in the SQLite pass.
NO_DB_TESTS := tests/test_read.py tests/test_text.py tests/test_extract.py tests/test_classify.py tests/test_routing.py \
	tests/test_deadlines.py tests/test_dask.py

test: install
	$(VENV)/bin/pytest -q
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "== the same suite on PostgreSQL =="; \
	  PETITIONS_TEST_DB=postgresql $(VENV)/bin/pytest -q $(addprefix --ignore=,$(NO_DB_TESTS)); \
	else \
	  echo "!!!!! PostgreSQL is not installed: the PostgreSQL pass is SKIPPED. Install it with: apt-get install postgresql !!!!!"; \
	fi

test-fast: install
	$(VENV)/bin/pytest -q -m "not slow"

bench: install
	$(PY) bench/ocr_throughput.py

clean:
	rm -rf $(VENV) petitions-data demo-inbox
