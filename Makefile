# Citizen assistant: `make run` brings the whole system up, `make test` runs every test.
# Both install what they need first; a re-run with nothing changed skips straight through.
SHELL := bash
.DEFAULT_GOAL := help

VENV      := .venv
RASA_VENV := .venv-rasa
PY        := $(VENV)/bin/python
RASA      := $(RASA_VENV)/bin/rasa
PYTHON311 ?= $(shell command -v python3.11 >/dev/null 2>&1 && python3.11 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && command -v python3.11 || ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.11*/bin/python3.11 2>/dev/null | head -n1)
RASA_MODEL := models/assistant.tar.gz
BOT_FILES := config.yml $(shell find bot -name '*.yml' 2>/dev/null) $(wildcard bot/components/*.py)

export RASA_TELEMETRY_ENABLED := false
export OMP_WAIT_POLICY := PASSIVE
export TOKENIZERS_PARALLELISM := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install install-dev model index train run test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## create .venv (3.11) and .venv-rasa (3.10) with pinned packages, if missing or changed
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: install it (pyenv install 3.11.7) or pass PYTHON311=/path" >&2; exit 1; }
	@scripts/ensure-venv $(VENV) "$(PYTHON311)" requirements.txt
	@py310=$$(scripts/find-python310) && scripts/ensure-venv $(RASA_VENV) "$$py310" requirements-rasa.txt

install-dev: install ## also the test and lint tools, and Chromium for the browser tests
	@scripts/ensure-venv $(VENV) "$(PYTHON311)" requirements.txt requirements-dev.txt
	@scripts/ensure-browser

model: install ## convert the bundled embedding model once (or check the configured one)
	@$(PY) -m knowledge model >/dev/null

index: model ## build the knowledge index when the catalogue or model changed
	@$(PY) -m knowledge build

$(RASA_MODEL): $(BOT_FILES) | install
	@echo ">> training the Rasa model (inputs changed)"
	@ASSIST_ACTIONS_URL=http://127.0.0.1:5055 PYTHONWARNINGS=ignore $(RASA) train --config config.yml --domain bot/domain \
		--data bot/data --out models --fixed-model-name assistant --quiet

train: install $(RASA_MODEL) ## train the Rasa model when its inputs changed

run: install train index ## start Rasa, the action server and the web app; Ctrl-C stops all
	@$(PY) -m scripts.supervise

test: install-dev train index ## run the whole test suite (unit, Rasa, end-to-end)
	@$(PY) -m pytest

lint: install-dev ## ruff and mypy
	@$(VENV)/bin/ruff check knowledge actions web tests scripts
	@$(VENV)/bin/ruff format --check knowledge actions web tests scripts
	@$(VENV)/bin/mypy knowledge actions web

clean: ## remove trained models, the index and caches (keeps the environments)
	rm -rf models knowledge/data/index .cache var

bench: install train index ## retrieval quality and speed, NLU cross-validation, start-up, memory, latency, disk, load; writes results/
	@$(PY) -m scripts.bench_knowledge
	@$(PY) -m scripts.bench_nlu
	@$(PY) -m scripts.bench_platform
	@$(PY) -m scripts.bench_load
