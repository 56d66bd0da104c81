# `make install` sets up the language server, `make test` everything the tests need, on a fresh Debian machine.
# Both install into a virtual environment: the active one ($VIRTUAL_ENV), else .venv here, created on first use.
VENV ?= $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)
PYTHON := $(VENV)/bin/python
# The tests start extexify-lsp and extexify-train from the environment.
export PATH := $(VENV)/bin:$(PATH)
# PyTorch's wheel index for the CPU-only build; empty: take torch from the usual index (and any local wheels).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH := torch==2.13.0

.PHONY: install install-dev system-deps torch test check lint vsix dist nvim-doc

$(PYTHON):
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --upgrade pip

torch: $(PYTHON)
	@$(PYTHON) -c "import torch" 2>/dev/null || \
		$(PYTHON) -m pip install $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) $(TORCH)

install: torch
	$(PYTHON) -m pip install ".[train]"

system-deps:
	@command -v chromium >/dev/null && command -v nvim >/dev/null && command -v pg_dump >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends chromium neovim postgresql-client)

install-dev: system-deps torch
	$(PYTHON) -m pip install -e ".[train,dev]"
	cd editors/pad && npm ci
	cd editors/vscode && npm ci && npm run build
	bash editors/vscode/scripts/install-code-server.sh
	cd editors/web && npm ci && npm run build

lint:
	ruff check .
	ruff format --check .
	mypy

# The fast tests: no browser, editor or long training run.
check: lint
	$(PYTHON) -m pytest -m "not slow"

test: install-dev lint
	$(PYTHON) -m pytest
