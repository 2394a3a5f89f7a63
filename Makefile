# tenantkit: two commands on a fresh machine.
#   make demo   the whole platform locally: stack, traffic, compaction, tenant tables, dashboard
#   make test   install everything, lint, sam validate/build, terraform checks, pytest
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
# No test or tool talks to AWS: SAM and boto3 get fake credentials and no metadata lookups.
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help setup demo test lint sam-validate sam-build terraform-check pytest gates bench clean

help:
	@echo "make demo   - the whole platform locally: stack up, traffic, compaction, tenant tables, dashboard"
	@echo "make test   - set up, lint, sam validate/build, terraform checks, tests"
	@echo "make bench  - print performance figures against the DESIGN.md budgets"

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

setup: $(BIN)/.installed $(SAM_VENV)/bin/.installed

demo: $(BIN)/.installed
	$(BIN)/tenantkit demo

lint: $(BIN)/.installed
	$(BIN)/ruff check layers functions local tests bench

sam-validate: $(SAM_VENV)/bin/.installed
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml

sam-build: $(SAM_VENV)/bin/.installed
	$(SAM_VENV)/bin/sam build --template template.yaml --build-dir .aws-sam/build

terraform-check:
	@if [ -d terraform ]; then $(MAKE) --no-print-directory -C terraform check; else echo "terraform/: not present yet, skipped"; fi

# The run records which gate evidence passed, so `gates` needs no second test run.
GATES_REPORT := .tenantkit/gates-report.json

pytest: $(BIN)/.installed
	mkdir -p .tenantkit
	TENANTKIT_GATES_REPORT=$(GATES_REPORT) $(BIN)/pytest -q

gates: $(BIN)/.installed
	$(BIN)/tenantkit gates --report $(GATES_REPORT)

test: setup lint sam-validate sam-build terraform-check pytest gates

bench: $(BIN)/.installed
	$(BIN)/python bench/authorizer.py
	$(BIN)/python bench/bff.py
	$(BIN)/python bench/abac.py
	$(BIN)/python bench/audit_sink.py
	$(BIN)/python bench/audit_compaction.py

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache .hypothesis
