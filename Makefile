# tenantkit: two commands on a fresh machine.
#   make demo   the whole platform locally: stack, traffic, compaction, tenant tables, dashboard
#   make test   install everything, lint, sam validate/build, terraform checks, pytest
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
# No test or tool talks to AWS: SAM and boto3 get fake credentials and no metadata lookups.
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help setup demo test lint sam-validate sam-build terraform-check pytest gates bench clean \
	template-smoke template-smoke-full layer-lock least-privilege

help:
	@echo "make demo   - the whole platform locally: stack up, traffic, compaction, tenant tables, dashboard"
	@echo "make test   - set up, lint, sam validate/build, terraform checks, tests"
	@echo "make bench  - print performance figures against their budgets"
	@echo "make template-smoke       - fast template checks: terraform fmt/validate/test, sam validate --lint"
	@echo "make template-smoke-full  - release checks: + checkov, gitlab-ci schema, sam build, backend keys, mock plans"

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# aws-sam-cli pins boto3 and friends: it lives in its own virtual environment.
$(SAM_VENV)/bin/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet "aws-sam-cli>=1.120,<2"
	touch $@

# checkov (and check-jsonschema, for the GitLab CI example) pin their own dependencies, which
# conflict with aws-sam-cli's: a third virtual environment, used by template-smoke-full only.
$(CHECKOV_VENV)/bin/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov>=3.2,<4" "check-jsonschema>=0.29,<1"
	touch $@

setup: $(BIN)/.installed $(SAM_VENV)/bin/.installed

demo: $(BIN)/.installed
	$(BIN)/tenantkit demo

# mypy --strict (settings in pyproject.toml): the layer as a package, then each handler on its
# own (the four functions/*/app.py share a module name).
lint: $(BIN)/.installed
	$(BIN)/ruff check layers functions local tests bench
	$(BIN)/mypy -p tenantkit
	for handler in functions/*/app.py; do $(BIN)/mypy $$handler || exit 1; done

sam-validate: $(SAM_VENV)/bin/.installed
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml

# The Lambda runtime and architecture of the functions and layers (template parameters Runtime,
# Architecture); the layers are installed for them from their lock files without that interpreter,
# whose bytecode they ship is compiled by it (LAYER_PYTHON, or LAYER_BYTECODE=none: docs/runtime.md).
# --no-cached: SAM's build cache (samconfig.toml) does not key a makefile layer on LAYER_ARCH and
# would hand back the previous architecture's layer (the layer check catches it).
RUNTIME ?= python3.13
ARCH ?= x86_64

sam-build: $(BIN)/.installed $(SAM_VENV)/bin/.installed
	LAYER_RUNTIME=$(RUNTIME) LAYER_ARCH=$(ARCH) PIP="$(abspath $(BIN))/python -m pip" \
		$(SAM_VENV)/bin/sam build --no-cached --template template.yaml --build-dir .aws-sam/build \
		--parameter-overrides Runtime=$(RUNTIME) Architecture=$(ARCH)
	$(BIN)/python -m tenantkit_local.release.layer_check .aws-sam/build --runtime $(RUNTIME) --arch $(ARCH)

# Rewrite layers/*/requirements.lock (hashes for every runtime x architecture) after editing a
# layer's requirements.txt.
layer-lock: $(BIN)/.installed
	$(BIN)/python -m tenantkit_local.release.layer_lock

# Rewrite layers/*/cold_start.txt (the files each layer ships compiled: what the handlers load at
# cold start, read off the layers built from their locks) after a lock or a handler's imports change.
.PHONY: layer-bytecode
layer-bytecode: $(BIN)/.installed
	$(BIN)/python -m tenantkit_local.release.layer_bytecode

# Regenerate the least-privilege ledger (docs/least-privilege.md and the observed operations it is
# built from): the whole suite, recording every AWS call each function makes.
least-privilege: $(BIN)/.installed
	TENANTKIT_LEAST_PRIVILEGE=write $(BIN)/pytest -q -p no:randomly

terraform-check:
	@if [ -d terraform ]; then $(MAKE) --no-print-directory -C terraform check; else echo "terraform/: not present yet, skipped"; fi

# The run records which gate evidence passed, so `gates` needs no second test run.
GATES_REPORT := .tenantkit/gates-report.json

pytest: $(BIN)/.installed
	mkdir -p .tenantkit
	TENANTKIT_GATES_REPORT=$(GATES_REPORT) $(BIN)/pytest -q

gates: $(BIN)/.installed
	$(BIN)/tenantkit gates --report $(GATES_REPORT)

# The dashboard e2e test opens the page in a real headless Chromium (and fails without one):
# install it with apt-get when it is missing and apt-get is there (CI: Debian, root).
.PHONY: chromium
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium || command -v chromium-browser)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "chromium: not found and no apt-get; install Chromium yourself (tests/e2e/test_dashboard_chromium.py fails without it)" >&2; \
	fi

test: setup chromium lint sam-validate sam-build terraform-check pytest gates

# Template/scaffold smoke checks (docs/release-governance.md, ADR 0016). Not part of `make test`:
# template-smoke repeats its terraform/SAM checks, template-smoke-full adds minutes of release checks.
template-smoke: $(BIN)/.installed $(SAM_VENV)/bin/.installed
	$(BIN)/python -m tenantkit_local.release.smoke

template-smoke-full: $(BIN)/.installed $(SAM_VENV)/bin/.installed $(CHECKOV_VENV)/bin/.installed
	$(BIN)/python -m tenantkit_local.release.smoke --full

bench: $(BIN)/.installed
	$(BIN)/python bench/authorizer.py
	$(BIN)/python bench/bff.py
	$(BIN)/python bench/identity_names.py
	$(BIN)/python bench/abac.py
	$(BIN)/python bench/audit_sink.py
	$(BIN)/python bench/audit_compaction.py
	$(BIN)/python bench/queries.py
	$(BIN)/python bench/tracing.py

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache .hypothesis
