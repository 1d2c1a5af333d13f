"""Integration, real broker: `orderhub pause` stops processing of a topic on a running worker,
its lag keeps being reported (and raises no stall alert), `orderhub resume` lets it catch up."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from app.demo_data import generate
from tests.integration.harness import Pipeline
from tests.integration.test_pipeline import _messages

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # the control topic: broker-independent, once (test_channel_pause pauses on Apache Kafka)


async def _wait_for_log(p: Pipeline, text: str, timeout: float = 20) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while text not in p.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} not in the worker log:\n{p.log_tail()}"
        await asyncio.sleep(0.2)


async def test_pause_holds_a_topic_and_resume_catches_up(pipeline: Pipeline) -> None:
    names = pipeline.names
    await asyncio.to_thread(pipeline.start_worker, extra_env={
        # a short stall time, so that the paused phase below lasts longer than it
        "ORDERHUB_LAG_INTERVAL_S": "1", "ORDERHUB_LAG_STALL_S": "10"})
    before, after = generate(40, seed=3), generate(40, seed=4)
    paid_before = {s.oli for s in before if s.fate == "paid"}
    paid_after = {s.oli for s in after if s.fate == "paid"} - paid_before
    await pipeline.produce(_messages(pipeline, before))
    await pipeline.collect(names.fulfillment_commands, until=lambda r: {c["oli"] for c in r} >= paid_before,
                           timeout=60, settle=0)

    out = await asyncio.to_thread(pipeline.cli, "pause", "--topic", "channel-orders", "--reason", "WMS fix")
    assert out.returncode == 0 and f"paused now: {names.channel_orders}" in out.stdout, (out.stdout, out.stderr)
    await _wait_for_log(pipeline, f'"paused": ["{names.channel_orders}:0"')

    await pipeline.produce(_messages(pipeline, after))
    held = await pipeline.collect(names.fulfillment_commands, until=lambda r: False, timeout=12, settle=0,
                                  strict=False)
    assert not ({c["oli"] for c in held} & paid_after), "a paused topic was processed"

    lag = await asyncio.to_thread(pipeline.cli, "lag", "--json", "--interval", "1")
    assert lag.returncode == 0, lag.stderr
    rows = [r for r in orjson.loads(lag.stdout)["partitions"] if r["topic"] == names.channel_orders]
    assert sum(r["lag"] for r in rows) > 0 and all(r["rate"] == 0 for r in rows)

    out = await asyncio.to_thread(pipeline.cli, "resume", "--topic", "channel-orders")
    assert out.returncode == 0 and "paused now: nothing" in out.stdout, (out.stdout, out.stderr)
    commands = await pipeline.collect(names.fulfillment_commands,
                                      until=lambda r: {c["oli"] for c in r} >= paid_before | paid_after,
                                      timeout=60, settle=0)
    assert {c["oli"] for c in commands} >= paid_after
    alerts = await pipeline.read_all(names.alerts)
    assert not [a for a in alerts if a["kind"] == "consumer_stalled" and a.get("group") == pipeline.prefix]
