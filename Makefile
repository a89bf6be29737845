# Two commands a user needs: `make run` starts the app, `make test` runs the tests.
# Both create .venv and install the pinned dependencies first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test test-fast venv dev-venv browser lint format format-check typecheck bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

venv: $(VENV)/.runtime
dev-venv: $(VENV)/.dev

# Serves on localhost only; see README to expose it on purpose.
run: venv
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--browser.gatherUsageStats false

# Debian's Chromium drives the browser tests; skipped quietly where apt is unavailable.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
				|| echo "could not install chromium: browser tests will be skipped"; \
		else echo "chromium not installed: browser tests will be skipped"; fi; }

test: dev-venv browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# The developer's loop: all but the tests marked slow (training, CLI subprocesses) or browser.
test-fast: dev-venv
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow and not browser"

lint: dev-venv
	$(BIN)/ruff check .

# The formatter's check (ruff is pinned in requirements-dev.txt); `make format` applies it.
format-check: dev-venv
	$(BIN)/ruff format --check .

format: dev-venv
	$(BIN)/ruff format .

# mypy over mtl_core, configured in pyproject.toml ([tool.mypy]).
typecheck: dev-venv
	$(BIN)/mypy

bench: venv
	$(BIN)/python -m mtl_core bench
