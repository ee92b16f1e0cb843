# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: demo test lint bench clean

# Offline preview of the embedded example stack: plan tree, policy verdicts and cost. No AWS calls.
demo: $(RUNTIME_STAMP)
	$(PY) -m preview --stack example

# The whole test suite (what .ci/run calls), on two worker processes (the machines have 2 cores; each worker
# plans its own session graphs: 235 s of CPU in all instead of 190 s, spread over both cores).
test: $(DEV_STAMP)
	$(PY) -m pytest -n 2

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

# Speed figures (printed, not asserted): the offline plan of 11 regions x 4 vaults, the engine's throughput
# (CPU only, and a whole backup against EBS/S3/DynamoDB fakes with per-call latency); the cost target of
# issue 14 (vault side against its storage floor).
bench: $(DEV_STAMP)
	$(PY) benchmarks/plan_benchmark.py
	$(PY) benchmarks/engine_throughput.py
	$(PY) benchmarks/engine_io_throughput.py
	$(PY) benchmarks/engine_memory.py --tib 1
	$(PY) benchmarks/engine_index_view.py
	$(PY) benchmarks/calibrate_engine.py
	$(PY) benchmarks/cost_targets.py

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24,<27"

# The locks carry hashes, so pip verifies every download.
$(RUNTIME_STAMP): requirements/runtime.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements/runtime.txt
	touch $@

$(DEV_STAMP): requirements/runtime.txt requirements/dev.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements/runtime.txt -r requirements/dev.txt
	touch $(RUNTIME_STAMP) $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
