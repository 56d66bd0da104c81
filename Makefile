# `make install` sets up the language server, `make test` everything the tests need, on a fresh Debian machine.
# Both install into a virtual environment: the active one ($VIRTUAL_ENV), else .venv here, created on first use.
VENV ?= $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)
PYTHON := $(VENV)/bin/python
# The tests start extexify-lsp and extexify-train from the environment.
export PATH := $(VENV)/bin:$(PATH)
# PyTorch's wheel index for the CPU-only build; empty: take torch from the usual index (and any local wheels).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH := torch==2.13.0

.PHONY: install install-dev dev system-deps postgres torch test check lint vsix dist nvim-doc codemirror-demo

# The Python that creates the virtualenv (3.11 or newer).
PYTHON3 ?= python3

# A failed venv (Debian without python3-venv) leaves no python behind, so the next run tries again.
$(PYTHON):
	$(PYTHON3) -m venv $(VENV) || { rm -f $(VENV)/bin/python $(VENV)/bin/python3; exit 1; }
	$(PYTHON) -m pip install --upgrade pip

# torch alone from TORCH_INDEX (so no other index's CUDA build can win), then its dependencies from the usual index.
torch: $(PYTHON)
	@$(PYTHON) -c "import torch" 2>/dev/null || { \
		$(PYTHON) -m pip install --no-deps $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH) && \
		$(PYTHON) -m pip install $(TORCH); }

install: torch
	$(PYTHON) -m pip install ".[train]"

# The editable install with the test, lint and training tools.
dev: torch
	$(PYTHON) -m pip install -e ".[train,dev]"

SYSTEM_DEPS := chromium neovim postgresql-client
system-deps:
	@command -v chromium >/dev/null && command -v nvim >/dev/null && command -v pg_dump >/dev/null || \
		{ [ "$$(id -u)" = 0 ] || { echo "make: the tests need $(SYSTEM_DEPS): run as root, or install them" \
			"first (sudo apt-get install $(SYSTEM_DEPS))" >&2; exit 1; }; \
		apt-get update && apt-get install -y --no-install-recommends $(SYSTEM_DEPS); }

# The tests create and drop databases on the PostgreSQL server that tests/postgres.py names (EXTEXIFY_TEST_POSTGRES).
postgres: dev
	@$(PYTHON) -c "import psycopg2; from tests.postgres import SERVER; psycopg2.connect(SERVER, connect_timeout=5)" \
		2>/dev/null || { echo "make: the tests need a running PostgreSQL server where they may create databases:" \
		"none answered at $${EXTEXIFY_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/postgres}. Start one" \
		"(apt-get install postgresql), or set EXTEXIFY_TEST_POSTGRES to the URL of one" >&2; exit 1; }

# Neovim's index for :help extexify. doc/tags is committed (plugin managers use the folder as it is): run this after
# editing doc/extexify.txt and commit the result; tests/editors/test_nvim_help.py fails while they differ.
nvim-doc:
	nvim --clean -es -c "helptags editors/nvim/doc" -c q

install-dev: system-deps dev
	cd editors/pad && npm ci
	cd editors/vscode && npm ci && npm run build
	bash editors/vscode/scripts/install-code-server.sh
	cd editors/web && npm ci && npm run build
	cd editors/codemirror && npm ci && npm run build

lint: dev
	ruff check .
	ruff format --check .
	mypy

# The fast tests: no browser, editor or long training run.
check: postgres lint
	$(PYTHON) -m pytest -m "not slow"

test: postgres install-dev lint
	$(PYTHON) -m pytest

# The VS Code extension, ready for `code --install-extension editors/vscode/extexify.vsix`.
vsix:
	cd editors/pad && npm ci
	cd editors/vscode && npm ci && npm run build && npm run package

# The CodeMirror demo editor: the server on ws://127.0.0.1:8765 and the page at http://127.0.0.1:8000/demo/ (Ctrl+C
# stops both). Installs the server first when the virtualenv has none.
codemirror-demo:
	@test -x $(VENV)/bin/extexify-lsp || $(MAKE) install
	cd editors/pad && npm ci
	cd editors/codemirror && npm ci && npm run build
	@echo "extexify demo: open http://127.0.0.1:8000/demo/"
	$(VENV)/bin/extexify-lsp --ws 127.0.0.1:8765 & trap 'kill $$!' EXIT INT TERM; \
		$(PYTHON) -m http.server --bind 127.0.0.1 --directory editors/codemirror 8000

# A wheel of the server and toolkit, with the shipped model: dist/extexify-VERSION-py3-none-any.whl.
dist: $(PYTHON)
	$(PYTHON) -m pip wheel --no-deps -w dist .
