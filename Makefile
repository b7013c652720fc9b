# Everything a fresh machine needs: Python 3.11+ and make. `make install` bootstraps uv
# into .tools/ and syncs .venv/ from the committed uv.lock (idempotent).
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
ARGS ?=
PYTEST_ARGS ?=

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell command -v $(PYTHON))
# Machines that set PYTHONDONTWRITEBYTECODE would otherwise compile every module on every
# start (1.4 s per worker process here): install compiled, and compile our own sources.
export UV_COMPILE_BYTECODE := 1

.PHONY: install run test lint typecheck format clean bench bench-install system-deps

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

install: $(VENV)/.synced
	@$(VENV)/bin/python -m compileall -q src

run: install
	$(VENV)/bin/conveyor serve $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

# Debian packages the tests drive: nginx (the cluster test's gateway), Chromium (the
# dashboard's browser tests, through Playwright) and wrk (the bench's HTTP workload). Each
# is installed when its program is missing, without starting a service; skipped with a
# note where apt-get or root is missing.
SYSTEM_PACKAGES := nginx-light chromium wrk
system-deps:
	@missing=""; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing); status=$$?; \
		rm -f /usr/sbin/policy-rc.d; exit $$status; \
	else echo "note: install$$missing for the cluster and browser tests"; fi

test: lint typecheck bench-install system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Benchmarks run in their own environment: the peers (Celery, RQ, Dramatiq, Huey, arq,
# saq) at pinned versions next to this checkout of Conveyor. QUICK=1 runs tiny counts.
BENCH_VENV := bench/.venv
$(BENCH_VENV)/.synced: bench/requirements.txt pyproject.toml $(UV)
	$(UV) venv --quiet --allow-existing $(BENCH_VENV)
	$(UV) pip install --quiet --python $(BENCH_VENV)/bin/python -r bench/requirements.txt -e .
	touch $@

bench-install: $(BENCH_VENV)/.synced

bench: $(BENCH_VENV)/.synced system-deps
	$(BENCH_VENV)/bin/python -m bench $(if $(QUICK),--quick,)

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) $(TOOLS) $(BENCH_VENV) .mypy_cache .ruff_cache .pytest_cache
