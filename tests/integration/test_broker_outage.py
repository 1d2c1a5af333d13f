"""Integration, Apache Kafka with exactly_once: the broker stops for 20 s while a worker is in the
middle of a backlog, and starts again on the same port and data dir. The worker recovers by
itself (no restart), every paid order gets exactly one command, nothing is lost and the
group's lag returns to zero. Prints the recovery time.

The embedded broker keeps its log in memory, so stopping it loses everything: this test
needs ORDERHUB_TEST_BROKER=kafka. It stops and restarts the session's broker (tests run one
at a time; nothing else uses it meanwhile)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import orjson
import pytest

from app.brokers import RunningBroker
from app.demo_data import generate
from tests.integration.harness import Pipeline
from tests.integration.test_exactly_once import assert_exactly_once
from tests.integration.test_pipeline import _messages

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]

OUTAGE_S = 20.0


@pytest.fixture
def kafka(broker) -> Iterator[RunningBroker]:  # type: ignore[no-untyped-def]
    if broker.kind != "kafka" or broker.running is None:
        pytest.fail("the broker outage test needs ORDERHUB_TEST_BROKER=kafka (the embedded broker keeps its "
                    "data in memory only; an external broker cannot be stopped by the test)", pytrace=False)
    yield broker.running
    if broker.running.process.poll() is not None:  # the test failed during the outage: later tests need it
        broker.running.restart()


async def _commands_so_far(p: Pipeline) -> int:
    """The commands written so far; callers poll it, so it paces them (half a second)."""
    await asyncio.sleep(0.5)
    return len(await p.read_all(p.names.fulfillment_commands))


async def test_broker_stopped_20s_mid_stream_worker_recovers_nothing_lost(kafka: RunningBroker,
                                                                        pipeline: Pipeline) -> None:
    await _scenario(pipeline, kafka)


async def _scenario(pipeline: Pipeline, kafka: RunningBroker) -> None:
    names = pipeline.names
    worker = await asyncio.to_thread(pipeline.start_worker, "w1")
    assert "exactly_once" in pipeline.log_tail(200)
    stories = generate(1000, seed=51)
    first, second = stories[:700], stories[700:]
    paid = {s.oli for s in stories if s.fate == "paid"}
    await pipeline.produce(_messages(pipeline, first))

    # stop the broker while the worker is still working through the first batch
    deadline = time.monotonic() + 60
    while (done := await _commands_so_far(pipeline)) < 50:
        assert time.monotonic() < deadline, pipeline.log_tail()
    halting = time.monotonic()
    await asyncio.to_thread(kafka.halt)
    stopped_at = time.monotonic()
    await asyncio.sleep(OUTAGE_S)
    assert worker.poll() is None, f"the worker exited during the outage:\n{pipeline.log_tail()}"
    await asyncio.to_thread(kafka.restart)
    back_at = time.monotonic()
    print(f"\n[outage] broker stopping {stopped_at - halting:.1f} s, stopped {OUTAGE_S:.0f} s, starting "
          f"{back_at - stopped_at - OUTAGE_S:.1f} s, with {done}+ of {len(paid)} commands written before")

    before = await _commands_so_far(pipeline)
    while (now := await _commands_so_far(pipeline)) <= before:
        assert time.monotonic() - back_at < 120, f"no progress after the restart:\n{pipeline.log_tail()}"
    first_progress_s = time.monotonic() - back_at

    await pipeline.produce(_messages(pipeline, second))
    figures = await assert_exactly_once(pipeline, stories)
    caught_up_s = time.monotonic() - back_at
    assert worker.poll() is None, "the worker was restarted or died: it must recover by itself"

    lag = await asyncio.to_thread(pipeline.cli, "lag", "--json", "--group", pipeline.prefix, "--interval", "0.5")
    assert lag.returncode == 0, lag.stderr
    inputs = (names.channel_orders, names.payments, names.order_inputs, names.order_inputs_paid)
    rows = [r for r in orjson.loads(lag.stdout)["partitions"] if r["topic"] in inputs]
    assert rows and sum(r["lag"] for r in rows) == 0, rows
    print(f"[outage] orders {figures['orders']}, paid {figures['paid']}: first new command "
          f"{first_progress_s:.1f} s after the broker was back ({now - before} new), every paid order "
          f"commanded and inputs consumed {caught_up_s:.1f} s after it, lost {figures['lost']}, "
          f"duplicates {figures['duplicates']}, lag 0; the worker was never restarted")
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert len(paid) == figures["paid"]
