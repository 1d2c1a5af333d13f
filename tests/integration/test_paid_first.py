"""Integration, real broker: after an outage, paid orders in the backlog are routed first.

The backlog: ~2,000 orders waiting for payment, then ~50 paid orders, all on
`channel-orders` before any worker runs. With paid-first on (`ORDERHUB_PAID_FIRST_BACKLOG`:
paid orders on their own lane, the unpaid lane held back while they wait) every paid order
is commanded while most unpaid orders still wait. With it off (one lane, arrival order:
how orderhub worked before), in the same run on another prefix, the paid orders wait
behind the unpaid ones. The figure: the share of unpaid orders processed before the last
paid order's command went out.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from app.demo_data import generate
from tests.integration.harness import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # the lanes run in every Kafka test too

UNPAID, PAID = 1200, 60


def _backlog(p: Pipeline) -> tuple[list[tuple[str, bytes, bytes]], set[str], set[str]]:
    waiting = generate(UNPAID, seed=41)
    paid = [s for s in generate(PAID, seed=42) if s.fate == "paid"]
    # each waiting order's first envelope (WAIT_BUYER_PAY); each paid order's last (paid, with pay_time)
    first = [(p.names.channel_orders, s.sends[0].key, s.sends[0].value) for s in waiting
             if s.sends[0].kind == "channel_order"]
    paid_envelopes = [next(x for x in s.sends if b"WAIT_SELLER_SEND_GOODS" in x.value) for s in paid]
    last = [(p.names.channel_orders, x.key, x.value) for x in paid_envelopes]
    unpaid_olis = {s.oli for s in waiting if s.sends[0].kind == "channel_order"}
    return first + last, unpaid_olis, {s.oli for s in paid}


async def _share_processed_before_paid(p: Pipeline, env: dict[str, str]) -> tuple[float, int, int]:
    messages, unpaid, paid = _backlog(p)
    await p.produce(messages)  # the backlog is there before any worker
    await asyncio.to_thread(p.start_worker, extra_env=env)
    commands = await p.collect(p.names.fulfillment_commands, until=lambda r: {c["oli"] for c in r} >= paid,
                               timeout=240, idle_timeout=90, settle=0)
    last_paid = max(datetime.fromisoformat(c["requested_at"]) for c in commands if c["oli"] in paid)
    events = await p.collect(p.names.order_events, until=lambda r: {e["oli"] for e in r} >= unpaid,
                             timeout=240, idle_timeout=90, settle=0)
    done_before = {e["oli"] for e in events if e["oli"] in unpaid and datetime.fromisoformat(e["at"]) <= last_paid}
    assert {c["oli"] for c in commands if c["type"] == "SHIP"} == paid  # nothing unpaid was commanded
    return len(done_before) / len(unpaid), len(unpaid), len(paid)


async def test_paid_orders_in_a_backlog_are_routed_before_most_unpaid_ones(broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    on, off = Pipeline(broker.bootstrap, tmp_path / "on"), Pipeline(broker.bootstrap, tmp_path / "off")
    try:
        for p in (on, off):
            p.tmp.mkdir(parents=True, exist_ok=True)
            await p.create_topics()
        share_off, unpaid, paid = await _share_processed_before_paid(off, {"ORDERHUB_PAID_FIRST_BACKLOG": "0"})
        off.stop_all()
        share_on, _, _ = await _share_processed_before_paid(on, {"ORDERHUB_PAID_FIRST_BACKLOG": "50"})
        held = on.log_entries("paid_first.")  # the whole log: a traced run writes thousands of lines after it
    finally:
        on.stop_all()
        off.stop_all()
    print(f"\n[paid first] {paid} paid orders behind {unpaid} unpaid ones: unpaid processed before the last paid "
          f"command: {share_on:.0%} with the paid lane first, {share_off:.0%} without")
    assert held, "the paid-first policy never counted the backlog"
    assert share_on < 0.5, f"{share_on:.0%} of the unpaid backlog went before the paid orders"
    assert share_off > 0.5, f"without paid-first only {share_off:.0%} of the unpaid orders went first"  # the control
