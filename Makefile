# volatility-slo — SLO-as-code. `make generate` and `make test` are the two entry points.
SHELL := /bin/bash
.DEFAULT_GOAL := generate

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SLOGEN := $(BIN)/slogen
SLO_DIR := slo
GEN_FLAGS := -i $(SLO_DIR) -o alerts --tests-out alerts/tests --dashboards-out dashboards --docs-out docs/slo.md \
             --dashboards-docs-out docs/dashboards.md

.PHONY: venv generate generate-check validate test test-fast promtool-test lint bench bench-rules docs \
        install-system-deps train drift stack stack-down snapshot import-dashboards clean install-browser dotenv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[services,test,dev]'
	@touch $(STAMP)

## Compile slo/ into alerts/ (rules + promtool tests), dashboards/ and docs/slo.md.
generate: $(STAMP)
	$(SLOGEN) generate $(GEN_FLAGS)

## Fail when the committed generated files differ from a fresh generation (CI runs this).
generate-check: $(STAMP)
	$(SLOGEN) generate $(GEN_FLAGS) --check

validate: $(STAMP)
	$(SLOGEN) validate -i $(SLO_DIR)

## Debian's prometheus brings promtool and the server, prometheus-alertmanager the end-to-end test's Alertmanager;
## installed only when missing and we are root.
install-system-deps:
	@if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      prometheus prometheus-alertmanager >/dev/null; \
	  else echo "promtool missing: install Debian's 'prometheus' and 'prometheus-alertmanager' (as root)" >&2; exit 2; fi; \
	fi

promtool-test: install-system-deps
	promtool check rules $$(find alerts -maxdepth 1 -name '*.yaml' -o -maxdepth 1 -name '*.yml' | sort)
	promtool test rules $$(find alerts/tests tests/promtool -name '*_test.yaml' 2>/dev/null | sort)

## The whole suite: promtool checks and tests, then pytest (real services included).
test: $(STAMP) install-system-deps promtool-test
	$(BIN)/pytest -q

## Everything but the end-to-end and slow tests (markers e2e, slow): the edit-test loop (1 min 50 s on 2 cores with a
## benchmark holding one of them, 2026-12-02; 2 min 52 s before issue 13's cuts, under similar load).
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not e2e and not slow"

lint: $(STAMP) install-system-deps
	$(BIN)/ruff check codegen services stack tests bench
	$(BIN)/mypy codegen services stack bench tests
	$(BIN)/lint-imports  # the layering contracts in pyproject.toml [tool.importlinter]
	promtool check rules $$(find alerts -maxdepth 1 -name '*.yaml' | sort)

bench: $(STAMP)
	$(BIN)/python -m bench

## Rule evaluation cost and SLI accuracy of Sloth's, today's and the tiled rules on a real Prometheus with 31 days
## of backfilled counters (~4 minutes; not part of `make test` or `make bench`). See bench/README.md.
bench-rules: $(STAMP) install-system-deps
	$(BIN)/python -m bench.bench_rules

clean:
	rm -rf $(VENV) .work site

## Train the z-score baseline and the logistic-regression model on simulated ticks; log to MLflow
## ($MLFLOW_TRACKING_URI, default sqlite in .work/mlflow), register volatility-spike, move @champion on improvement.
train: $(STAMP)
	$(BIN)/python -m services.ml.training

## Evidently drift report (training vs drift-mode features): reports/ (ignored) and docs/drift_summary.md.
drift: $(STAMP)
	$(BIN)/python -m services.ml.drift

## Docs site (mkdocs, material theme) into site/ (ignored); --strict fails on any broken link or nav entry.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

## .env for docker compose: .env.example with a generated Grafana admin password (mode 600); never overwrites an
## existing file. ENV_FILE=path writes elsewhere.
ENV_FILE ?= .env
dotenv:
	@test ! -e "$(ENV_FILE)" && test ! -L "$(ENV_FILE)" || { echo "$(ENV_FILE) exists: not overwritten" >&2; exit 1; }
	@umask 077 && secret=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))') \
	  && sed "s/^GRAFANA_ADMIN_PASSWORD=.*/GRAFANA_ADMIN_PASSWORD=$$secret/" .env.example > "$(ENV_FILE).tmp" \
	  && grep -q "^GRAFANA_ADMIN_PASSWORD=$$secret$$" "$(ENV_FILE).tmp" \
	  && mv "$(ENV_FILE).tmp" "$(ENV_FILE)" || { rm -f "$(ENV_FILE).tmp"; exit 1; }
	@echo "wrote $(ENV_FILE) with a generated Grafana admin password (user and password are in it)"

## Upsert dashboards/*.json into a running Grafana (exit 4 on failure). Credentials from the environment:
## GRAFANA_TOKEN (service-account token), or GRAFANA_USER and GRAFANA_PASSWORD. The URL reaches slogen through
## the environment too, never the echoed command line: a user:password@ in it must not be printed.
GRAFANA_URL ?= http://localhost:3000
GRAFANA_FOLDER ?= Volatility SLO
import-dashboards: export GRAFANA_URL := $(GRAFANA_URL)
import-dashboards: $(STAMP)
	$(SLOGEN) import-dashboards --folder "$(GRAFANA_FOLDER)" --dir dashboards

## The compact services (settings from the environment, see services/settings.py). A local Kafka-protocol
## broker (Tansu, in memory; stack/broker.py) with the service topics: `make broker`; then `make consumer`, `make producer`.
.PHONY: api consumer producer load-test broker
BROKER_PORT ?= 9092
API_URL ?= http://127.0.0.1:8000
LOAD_REQUESTS ?= 1000
LOAD_CONCURRENCY ?= 16
PRODUCER_ARGS ?= --seconds 600 --rate 50

api: $(STAMP)
	$(BIN)/python -m services.api

consumer: $(STAMP)
	$(BIN)/python -m services.consumer

producer: $(STAMP)
	$(BIN)/python -m services.producer $(PRODUCER_ARGS)

## Exits non-zero when p95 > 0.8 s or errors > 1% (the SLOs); loopback targets only.
load-test: $(STAMP)
	$(BIN)/python -m stack.load_test --url $(API_URL) --requests $(LOAD_REQUESTS) --concurrency $(LOAD_CONCURRENCY)

broker: $(STAMP)
	$(BIN)/python -m stack.broker --port $(BROKER_PORT)

## The whole system on 127.0.0.1 without Docker: Tansu broker + topics, Alertmanager, API, consumer, producer,
## drift job and Prometheus (Debian binaries) with the generated rules; prints the URLs, records PIDs and ports in
## .work/stack/. STACK_ARGS e.g. "--model-variant baseline --enable-faults --free-ports" (python -m stack up -h).
STACK_DIR := .work/stack
stack: $(STAMP) install-system-deps
	$(BIN)/python -m stack --state-dir $(STACK_DIR) up $(STACK_ARGS)

## Stop exactly the processes `make stack` started (by recorded PID and start time).
stack-down:
	$(BIN)/python -m stack --state-dir $(STACK_DIR) down

## Chromium for `make snapshot` (Debian's chromium runs headless here); installed only when missing, as root.
install-browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      chromium >/dev/null; \
	  else echo "chromium missing: install Debian's 'chromium' package (as root)" >&2; exit 2; fi; \
	fi

## Render dashboards/*.json from a running Prometheus (default: the one `make stack` started) into
## docs/img/<uid>.png, panels laid out as in Grafana. SNAPSHOT_ARGS e.g. "--minutes 60 --prometheus URL"; the
## SLO detail view is drawn for one SLO (SNAPSHOT_SERVICE, SNAPSHOT_SLO).
SNAPSHOT_SERVICE ?= volatility-api
SNAPSHOT_SLO ?= prediction-latency
snapshot: $(STAMP) install-browser
	$(BIN)/python -m stack.snapshot --dashboards dashboards --out docs/img \
	  --var slo-detail:service=$(SNAPSHOT_SERVICE) --var slo-detail:slo=$(SNAPSHOT_SLO) $(SNAPSHOT_ARGS)
# The snapshot test (tests/stack/test_snapshot.py) screenshots with chromium.
test: install-browser
