# `make test` installs what the tests need on a fresh Debian machine, then runs them.
PYTHON ?= python3

.PHONY: install install-dev system-deps test lint

install:
	$(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install .

system-deps:
	@command -v chromium >/dev/null && command -v nvim >/dev/null && command -v pg_dump >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends chromium neovim postgresql-client)

install-dev: system-deps
	$(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e ".[dev]"
	cd editors/pad && npm ci
	cd editors/vscode && npm ci && npm run build
	bash editors/vscode/scripts/install-code-server.sh
	cd editors/web && npm ci && npm run build

lint:
	ruff check .
	ruff format --check .

test: install-dev lint
	$(PYTHON) -m pytest
