"""Integration, Apache Kafka with exactly_once: workers killed with SIGKILL mid-stream.

What must hold after every kill and restart (read_committed, as other teams consume):
every paid order has exactly one SHIP command; every order's messages were all applied
(each order is known, cancelled ones end CANCELLED); the group has consumed its inputs to
the end, so nothing is stuck behind a skipped offset.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from app.demo_data import OrderStory, generate
from tests.integration.harness import (
    Pipeline,
    diagnose,
    duplicate_report,
    final_orders,
    lost_report,
    wait_inputs_consumed,
)
from tests.integration.test_pipeline import _messages

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]


async def assert_exactly_once(pipeline: Pipeline, stories: list[OrderStory]) -> dict[str, float]:
    """The figures of a run (orders, paid, commands, duplicates, lost, resent, ship_records and
    `commands_read_at`, the monotonic time when every paid order's command had been read)."""
    paid = {s.oli for s in stories if s.fate == "paid"}
    t0 = time.monotonic()
    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: {r["oli"] for r in recs} >= paid,
                                      timeout=900, idle_timeout=90, settle=5.0, strict=False)
    commands_read_at = time.monotonic()
    # a decision's command once (attempt 1); the watchdog may send it again, with the same command_id
    per_order = Counter(c["oli"] for c in commands if c["type"] == "SHIP" and c["attempt"] == 1)
    ships = Counter(c["command_id"] for c in commands if c["type"] == "SHIP" and c["attempt"] == 1)
    resent = {c["command_id"] for c in commands if c["type"] == "SHIP" and c["attempt"] > 1}
    assert resent <= set(ships), "a re-send of a command that was never sent"
    per_order_ids = Counter(c["oli"] for c in commands if c["type"] == "SHIP" and c["command_id"] in ships)
    missing = paid - set(per_order)
    if missing:
        report = await diagnose(pipeline, missing)
        raise AssertionError(f"{len(missing)} paid orders without a command, e.g. {sorted(missing)[:3]}\n{report}"
                             f"\nworker log tail:\n{pipeline.log_tail(80)}")
    assert set(per_order) == paid  # none for unpaid or cancelled orders
    problems = []  # checked at the end, so that a failing run still reports every figure
    if not all(n == 1 for n in ships.values()):
        twice = {command_id for command_id, n in ships.items() if n > 1}
        problems.append(f"a decision's command written more than once: {ships.most_common(3)}\n"
                        f"{await duplicate_report(pipeline, twice)}")
    if not all(n == 1 for n in per_order.values()):
        problems.append(f"an order decided more than once: {per_order.most_common(3)}")

    names = pipeline.names  # the lanes too: paid orders go first, the unpaid lane drains after them
    print(f"\n[exactly once] commands read after {time.monotonic() - t0:.0f} s", flush=True)
    left = await wait_inputs_consumed(pipeline, (names.channel_orders, names.payments, names.order_inputs,
                                                 names.order_inputs_paid))
    assert not left, f"inputs not consumed to the end (a skipped or stuck offset): {left}"
    print(f"[exactly once] inputs consumed after {time.monotonic() - t0:.0f} s", flush=True)
    events = await pipeline.read_all(pipeline.names.order_events)
    final = final_orders(events)
    lost = {s.oli for s in stories} - set(final)
    if lost:
        examples = sorted(lost)[:3]
        report = await lost_report(pipeline, [s for s in stories if s.oli in examples])
        raise AssertionError(f"{len(lost)} orders never reached order-events, e.g. {examples}\n{report}")
    not_cancelled = [s.oli for s in stories if s.fate == "cancelled" and final[s.oli]["status"] != "CANCELLED"]
    assert not not_cancelled, f"cancellations lost: {not_cancelled[:3]}"
    figures: dict[str, float] = {
        "orders": len(stories), "paid": len(paid), "commands": sum(per_order.values()),
        "duplicates": sum(n - 1 for n in ships.values()), "lost": len(lost), "resent": len(resent),
        "ship_records": sum(per_order_ids.values())}
    assert not problems, f"{problems}; figures: {figures}"
    return {**figures, "commands_read_at": commands_read_at}


async def test_kill9_mid_stream_commands_seen_exactly_once(broker, pipeline: Pipeline) -> None:  # type: ignore[no-untyped-def]
    assert broker.supports_transactions, "exactly_once needs a broker with transactions (Apache Kafka)"
    stories = generate(600, seed=31)
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
    assert kills == 3
    await assert_exactly_once(pipeline, stories)
