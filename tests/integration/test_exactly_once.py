"""Integration, Apache Kafka with exactly_once: kill -9 the worker mid-stream, several times."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from app.demo_data import generate
from tests.integration.harness import Pipeline, diagnose
from tests.integration.test_pipeline import _messages

# Not part of `make test` yet: it fails in roughly half of the runs (a paid order whose
# command is lost or doubled after a kill). `make test-chaos` runs it; see
# docs/operations.md "Known limits".
pytestmark = [pytest.mark.chaos, pytest.mark.kafka_only]


async def test_kill9_mid_stream_commands_seen_exactly_once(broker, pipeline: Pipeline) -> None:  # type: ignore[no-untyped-def]
    assert broker.supports_transactions, "exactly_once needs a broker with transactions (Apache Kafka)"
    stories = generate(600, seed=31)
    paid = {s.oli for s in stories if s.fate == "paid"}
    messages = _messages(pipeline, stories)
    worker = await asyncio.to_thread(pipeline.start_worker, "w1")
    assert "exactly_once" in pipeline.log_tail(200)
    sending = asyncio.create_task(pipeline.produce(messages, pace_s=0.004))
    kills = 0
    for _ in range(3):
        await asyncio.sleep(2.0)
        pipeline.kill(worker)  # SIGKILL: no flush, no commit, open transactions left behind
        kills += 1
        worker = await asyncio.to_thread(pipeline.start_worker, "w1")  # same data dir
    await sending

    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: {r["oli"] for r in recs} >= paid,
                                      timeout=180, settle=5.0, strict=False)
    ships = Counter(c["command_id"] for c in commands if c["type"] == "SHIP")
    per_order = Counter(c["oli"] for c in commands if c["type"] == "SHIP")
    assert kills == 3
    missing = paid - set(per_order)
    if missing:
        report = await diagnose(pipeline, missing)
        raise AssertionError(f"{len(missing)} paid orders without a command, e.g. {sorted(missing)[:3]}\n{report}")
    assert set(per_order) == paid
    assert all(n == 1 for n in ships.values()), ships.most_common(5)
    assert all(n == 1 for n in per_order.values()), per_order.most_common(5)
