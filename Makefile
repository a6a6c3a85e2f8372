# Two commands: `make demo` and `make test`. Both create .venv and install what they need.
SHELL := /bin/bash
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-12)

export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test check bench mutations crash install lock clean test-tools

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q uv==0.13.9
	$(VENV)/bin/uv pip install -q --python $(PY) --compile-bytecode -r requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --compile-bytecode --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(VENV)/bin/bumpline demo

test: $(STAMP) test-tools check
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

# Lint, types and the import layering (pyproject.toml says which rules, and why each exception).
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo

# Debian's tools the tests drive: Chromium for the browser test (a test tool's own browser download
# fails here), docker-compose to validate deploy/compose.yaml (no Docker engine is needed for that),
# systemd-analyze to verify deploy/systemd's units.
test-tools:
	@command -v chromium >/dev/null || (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium))
	@command -v docker-compose >/dev/null || (apt-get install -y -q docker-compose || (apt-get update -q && apt-get install -y -q docker-compose))
	@command -v systemd-analyze >/dev/null || (apt-get install -y -q systemd || (apt-get update -q && apt-get install -y -q systemd))

# Benchmarks print figures; they are not tests. bench/RESULTS.md holds a dated run.
bench: $(STAMP)
	$(PY) -m bench

# The mutation oracle in full: every step deletion and adjacent swap of every shipped route is refused
# on paper or, run on the simulated line, builds its product (`make test` runs a sample).
mutations: $(STAMP)
	$(VENV)/bin/bumpline recipe mutate --simulate

# The crash-point harness in full: every kind's reference step killed after each of its writes, with
# the tool kept and restarted, then resumed — on the mock tool and on its simulator over the real
# protocol, on SQLite and PostgreSQL (~12 min; `make test` runs one kind per tier).
crash: $(STAMP)
	BUMPLINE_CRASH_FULL=1 $(VENV)/bin/pytest -q -s tests/crash

# Re-resolve the lock file after changing a pin in pyproject.toml.
lock:
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra test --extra bench -o requirements.lock

clean:
	rm -rf $(VENV) .bumpline
