# Two commands matter: `make run` (the whole stack, app in the foreground) and `make test`.
# Everything else is a step of those two. All targets are idempotent.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup venv run up down status test test-only lint fmt clean bench bench-compare bench-outbox bench-http bench-multi-leg bench-lag bench-relays bench-memory bench-volume chaos screenshots docs client

help:
	@echo "make run    - install what is missing, start PostgreSQL, Redis, Kafka, run the app (Ctrl-C stops the app)"
	@echo "make test   - the full test suite against the real services"
	@echo "make setup  - the system packages the project needs (make run and make test call it)"
	@echo "make up / make down / make status - the stack in the background"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks (make bench-outbox: outbox relay throughput and on-commit cost)"
	@echo "make docs   - the documentation (docs/, MkDocs Material) built into site/, --strict: a broken link fails"
	@echo "make client - clients/python (the generated Python client) and clients/openapi.yaml, from this checkout's schema"
	@echo "make screenshots - PNGs of the main pages at 1366x768 in docs/screenshots/ (own demo database and web server)"

# System packages (Debian's python3.X-venv, docker-compose, prometheus for its promtool, chromium for
# the browser tests, PostgreSQL, Redis, a Java runtime, Maven), in one apt-get as root, none of their
# services started; otherwise the apt-get line is printed and setup fails. Silent when nothing is
# missing (scripts/stack setup).
setup:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; install with: sudo apt-get install -y python3"; exit 1; }
	@$(PYTHON) scripts/stack setup

# The virtualenv: created when missing, rebuilt from scratch when it has no working pip (what a
# failed or interrupted creation leaves), its packages installed again when a requirements file
# is newer than the last install.
venv: setup
	@if [ -e $(VENV) ] && ! $(BIN)/python -m pip --version >/dev/null 2>&1; then \
	  echo "$(VENV) has no working pip (a failed or interrupted creation?): rebuilding it"; rm -rf $(VENV); fi
	@test -e $(VENV) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	@test $(STAMP) -nt requirements.txt && test $(STAMP) -nt requirements-dev.txt || \
	{ echo "installing requirements-dev.txt into $(VENV)"; \
	  $(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt && touch $(STAMP); }

run: venv
	scripts/stack run

up: venv
	scripts/stack up

down:
	scripts/stack down

status:
	scripts/stack status

# Setup and the venv, infrastructure up (installed on first use), then pytest; prints how long the
# whole thing took.
test:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory venv && scripts/stack up --infra && $(BIN)/pytest; \
	status=$$?; echo "make test: $$(( $$(date +%s) - start ))s, exit $$status"; exit $$status

# pytest alone, for when the stack is already up.
test-only: venv
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check . scripts/stack
	$(BIN)/ruff format --check . scripts/stack
	$(BIN)/mypy . scripts/stack

# Benchmarks against the real services (infrastructure started if needed); results in bench/results/.
# Everything `make bench` measures runs against the live stack (`make up` is run first).
bench: bench-compare bench-http bench-multi-leg bench-lag bench-relays bench-memory bench-outbox bench-history bench-volume bench-webhooks
	$(BIN)/python bench/plot.py
	@echo "results: bench/results/*.md, *.json, *.png"

bench-http: up
	$(BIN)/python bench/http_bench.py --duration 10 --concurrency 1,4,16,64

# The previous release (a git worktree with its own virtualenv, database and ports) and this checkout
# benchmarked in turn, and the performance targets checked: bench/results/before_after.md.
bench-compare: up
	$(BIN)/python bench/before_after.py --duration 10 --rounds 2
	$(BIN)/python bench/transfer_cpu.py --rounds 6 --duration 15

# Split payments and batches against single transfers, rounds interleaved: bench/results/multi_leg.md.
bench-multi-leg: up
	$(BIN)/python bench/multi_leg.py --duration 10 --rounds 5 --concurrency 1,16

bench-lag: up
	$(BIN)/python bench/e2e_lag.py --duration 30

# Both relays in one run (Celery, Debezium on Kafka Connect), each on a stack of its own, against
# RELAY_BEFORE's relay and consumer in the same run: events/s, lag to Kafka and to the history at 50
# and 80 % load, CPU (idle too) and memory: bench/results/relays.md. What the wake-up trigger costs
# the writes (issue #37): bench/results/relay_wake.md.
RELAY_BEFORE ?= e3037f2
bench-relays: up
	$(BIN)/python bench/relays.py --before $(RELAY_BEFORE)
	$(BIN)/python bench/relay_wake.py --rounds 3 --duration 10

# Webhook delivery: deliveries/s to 1 and 50 endpoints, lag at half the transfer rate, CPU per
# delivery, on a database and topic of its own: bench/results/webhooks.md.
.PHONY: bench-webhooks
bench-webhooks:
	scripts/stack up --infra
	$(BIN)/python bench/webhook_delivery.py

bench-memory: up
	$(BIN)/python bench/memory.py --events 100000

# The bank workload under faults, long configuration (`make test` runs a short one).
chaos: up
	$(BIN)/python bench/chaos.py --duration 300 --fault-every 10

bench-outbox: venv
	scripts/stack up --infra
	$(BIN)/python bench/outbox_publish.py

# Ten minutes of transfers: the outbox holds only its backlog, and nothing after the drain.
.PHONY: bench-outbox-bounded
bench-outbox-bounded: up
	$(BIN)/python bench/outbox_bounded.py --duration 600

# 1 M and 10 M ledger entries with their history, each in a database and topic of its own
# (wallet_volume_1m, wallet_volume_10m; seeded in SQL, resumable, kept for reruns: VOLUME_ARGS=--drop
# drops them at the end); reconcile, rebuild_history, history pages, admin, transfers/s against an
# empty database: bench/results/volume.md.
bench-volume: venv
	scripts/stack up --infra
	$(BIN)/python bench/volume.py $(VOLUME_ARGS)
	$(BIN)/python bench/statements.py --sizes 1m,10m --migrate

.PHONY: bench-history
bench-history: venv
	scripts/stack up --infra
	$(BIN)/python bench/history_ingest.py

# The main pages (API root, a wallet, the transfer form, the admin's overview, lists, a wallet, an
# approval) at 1366x768 in docs/screenshots/: demo data in a database of its own (wallet_screenshots),
# this checkout's web server on free ports, Debian's chromium (scripts/screenshots.py).
screenshots: venv
	scripts/stack up --infra
	$(BIN)/python scripts/screenshots.py

fmt: venv
	$(BIN)/ruff check --fix . scripts/stack
	$(BIN)/ruff format . scripts/stack

clean: down
	rm -rf .stack

# The documentation into site/ (git-ignored; open site/index.html, it works offline). --strict:
# a broken link or anchor fails, as in .ci/run.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The Python client (clients/python, openapi-python-client) and the OpenAPI document it is made from
# (clients/openapi.yaml), regenerated from this checkout's schema; tests/test_client.py fails when
# they are stale. The generator runs from a virtualenv of its own, .stack/tools/openapi-python-client
# (every package pinned in clients/generator-requirements.txt), never from .venv.
client: venv
	$(BIN)/python clients/generate.py
