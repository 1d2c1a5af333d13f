# orderhub — `make demo` runs the pipeline on the embedded broker; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo bench test test-unit test-embedded test-kafka test-chaos test-e2e browser lint broker-embedded broker-kafka clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/orderhub demo

# throughput, latency, RSS and state size against a bare aiokafka baseline (BENCH_ARGS="--events 20000 ...")
bench: $(STAMP)
	$(VENV)/bin/orderhub bench $(BENCH_ARGS)

# Unit tests, then the integration tests on the embedded broker (at-least-once) and on
# Apache Kafka from Maven Central jars (exactly_once), side by side, each split over two
# pytest processes (pytest-xdist, one test file per process at a time; each process starts
# its own broker). Their time goes mostly into waiting (broker start, group joins, settle
# periods), so four of them share two cores well. Then the browser test. Each suite's
# output is printed when it ends.
# A test of broker-independent behaviour runs once: the adapters, merges, tracing, DLQ replay and
# topic pause on the embedded broker; the watchdog and channel pause on Apache Kafka.
# Chaos tests: test-embedded runs a lean DLQ burst; test-kafka two workers with one killed again
# and again, a WMS losing commands, the channel pause, 1,000 poison among 10,000 good messages, a
# stalled committer's lag alert, the broker stopped for 20 s mid-stream and the single-worker
# kill -9 test.
test: test-unit
	$(MAKE) --no-print-directory -j2 --output-sync=target test-embedded test-kafka
	$(MAKE) --no-print-directory test-e2e

test-unit: $(STAMP)
	$(PY) -m pytest -n 2 tests/unit

XDIST := -n 2 --dist loadfile
# the longest files first, so that the two processes end at about the same time (pytest
# collects files in the order given; a directory argument would sort them by name)
IT := tests/integration
IT_FILES := $(sort $(wildcard $(IT)/test_*.py))
EMBEDDED_FIRST := $(IT)/test_connectors.py $(IT)/test_console.py $(IT)/test_bench.py
KAFKA_FIRST := $(IT)/test_two_workers.py $(IT)/test_dlq_burst.py $(IT)/test_broker_outage.py \
	$(IT)/test_exactly_once.py $(IT)/test_pipeline.py

test-embedded: $(STAMP)
	ORDERHUB_TEST_BROKER=embedded $(PY) -m pytest $(XDIST) $(EMBEDDED_FIRST) $(filter-out $(EMBEDDED_FIRST),$(IT_FILES)) -m "integration and not kafka_only" --durations=15

test-kafka: $(STAMP)
	ORDERHUB_TEST_BROKER=kafka $(PY) -m pytest $(XDIST) $(KAFKA_FIRST) $(filter-out $(KAFKA_FIRST),$(IT_FILES)) -m "integration and not embedded_only" --durations=15

# the chaos tests that need Apache Kafka on their own (part of test-kafka): two workers, one
# killed with SIGKILL again and again, exactly_once, a warehouse answering, the watchdog on
test-chaos: $(STAMP)
	ORDERHUB_TEST_BROKER=kafka $(PY) -m pytest tests/integration -m chaos

# The dashboard in headless Chromium (Debian's package; Playwright never downloads a browser).
# Screenshots land in artifacts/screenshots/.
test-e2e: $(STAMP) browser
	ORDERHUB_TEST_BROKER=embedded $(PY) -m pytest tests/e2e -m e2e

browser:
	@command -v chromium >/dev/null && fc-list | grep -qi wqy || \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei)

lint: $(STAMP)
	$(VENV)/bin/ruff check app agents tables tests bench scripts

broker-embedded: $(STAMP)
	$(VENV)/bin/orderhub broker --kind embedded --port 9092

broker-kafka: $(STAMP)
	$(VENV)/bin/orderhub broker --kind kafka --port 9092

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis data *.egg-info
