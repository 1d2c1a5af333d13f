"""Integration, real broker: rules and SKUs published as data change routing without a restart.

Orders that arrive before a rule is published keep their decision; orders after it are
routed by it, and every decision records the rule ids and versions that fired.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from app.demo_data import _trade
from app.domain.identity import make_oli, source_key
from tests.integration.harness import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # broker-independent: runs once, on the embedded broker

URUMQI = ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "燕儿窝街道")
SKUS = "channel,sku_id,internal_sku,weight_g\ntaobao,5000000,RICE-5KG,5100\n"
RULES_V1 = """
- id: urumqi-heavy-ems
  priority: 10
  when: city.contains("乌鲁木齐") && weight_g > 2000
  then: [{set_carrier: EMS}, {add_tag: remote-heavy}]
"""


def _paid_orders(start: int, n: int) -> list[tuple[str, bytes, bytes]]:
    """(oli, key, envelope) for `n` paid Taobao orders to Urumqi, one 5.1 kg line each (sku 5000000)."""
    rng = random.Random(start)
    out = []
    for i in range(start, start + n):
        tid = str(3400000000000000000 + i)
        at = datetime(2026, 11, 11, 2, 0, tzinfo=UTC) + timedelta(seconds=i)
        trade = _trade(rng, tid, "WAIT_SELLER_SEND_GOODS", at, at, at, [("大米", 5900, 1, 5100)], URUMQI)
        value = orjson.dumps({"channel": "taobao", "shop_id": "shop-r", "received_at": at.isoformat(),
                              "payload": {"trade_fullinfo_get_response": {"trade": trade}}})
        out.append((make_oli("taobao", "shop-r", tid), source_key("taobao", "shop-r", tid).encode(), value))
    return out


def _cli(p: Pipeline, *args: str) -> str:
    env = p.env(p.tmp / "cli")
    result = subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"orderhub {' '.join(args)}: {result.stderr}"
    return result.stdout


async def _wait_for_log(p: Pipeline, text: str, count: int, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.log_path.exists() and p.log_path.read_text(errors="replace").count(text) >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"worker never logged {text!r} {count} times; tail:\n{p.log_tail()}")


async def _send_and_collect(p: Pipeline, batch: list[tuple[str, bytes, bytes]], seen: set[str]) -> dict:
    await p.produce([(p.names.channel_orders, key, value) for _, key, value in batch])
    wanted = seen | {oli for oli, _, _ in batch}
    commands = await p.collect(p.names.fulfillment_commands, timeout=90, settle=1.0,
                               until=lambda recs: {r["oli"] for r in recs} >= wanted)
    seen |= wanted
    return {c["oli"]: c for c in commands if c["type"] == "SHIP"} | {"_all": commands}


async def test_published_rule_changes_later_decisions_only(pipeline: Pipeline, tmp_path: Path) -> None:
    (tmp_path / "cli").mkdir()
    (tmp_path / "skus.csv").write_text(SKUS)
    (tmp_path / "rules.yaml").write_text(RULES_V1)
    pipeline.start_worker()
    await asyncio.to_thread(_cli, pipeline, "skus", "import", str(tmp_path / "skus.csv"))
    await _wait_for_log(pipeline, '"skus.updated"', 1)
    seen: set[str] = set()

    before = _paid_orders(0, 5)  # no rules yet: defaults
    got = await _send_and_collect(pipeline, before, seen)
    assert {got[o]["carrier"] for o, _, _ in before} == {"SF"}
    assert all(got[o]["rules_fired"] == [] for o, _, _ in before)
    assert all(got[o]["lines"][0]["weight_g"] == 5100 for o, _, _ in before)  # weighed from the catalog

    out = await asyncio.to_thread(_cli, pipeline, "rules", "apply", str(tmp_path / "rules.yaml"))
    assert "published  urumqi-heavy-ems v1" in out
    await _wait_for_log(pipeline, '"rules.updated"', 1)
    after = _paid_orders(100, 5)
    got = await _send_and_collect(pipeline, after, seen)
    assert {got[o]["carrier"] for o, _, _ in after} == {"EMS"}
    assert all(got[o]["rules_fired"] == [{"id": "urumqi-heavy-ems", "version": 1}] for o, _, _ in after)
    assert {got[o]["carrier"] for o, _, _ in before} == {"SF"}  # earlier decisions unchanged
    ships = [c["oli"] for c in got["_all"] if c["type"] == "SHIP"]
    assert len(ships) == len(set(ships)) == 10  # no order re-commanded by the rule change

    listed = await asyncio.to_thread(_cli, pipeline, "rules", "list", "--json")
    assert orjson.loads(listed.splitlines()[0])["version"] == 1
    out = await asyncio.to_thread(_cli, pipeline, "rules", "disable", "urumqi-heavy-ems")
    assert "disabled   urumqi-heavy-ems v2" in out
    await _wait_for_log(pipeline, '"rules.updated"', 2)
    last = _paid_orders(200, 3)
    got = await _send_and_collect(pipeline, last, seen)
    assert {got[o]["carrier"] for o, _, _ in last} == {"SF"}
    assert {got[o]["carrier"] for o, _, _ in after} == {"EMS"}

    events = await pipeline.collect(pipeline.names.order_events, timeout=30, settle=0.5,
                                    until=lambda recs: sum(r["type"] == "FulfillmentRequested" for r in recs) >= 13)
    requested = {e["oli"]: e for e in events if e["type"] == "FulfillmentRequested"}
    assert all(requested[o]["rules_fired"] == [{"id": "urumqi-heavy-ems", "version": 1}] for o, _, _ in after)
    assert all(requested[o]["order"]["fulfillment"]["carrier"] == "EMS" for o, _, _ in after)
    assert all(requested[o]["rules_fired"] == [] for o, _, _ in before + last)

    audit = await pipeline.collect(pipeline.names.audit, timeout=30,
                                   until=lambda recs: sum(r.get("rule_id") == "urumqi-heavy-ems" for r in recs) >= 2)
    changes = [(a["action"], a["version"], a["command"]) for a in audit if a.get("rule_id") == "urumqi-heavy-ems"]
    assert changes == [("rule_published", 1, "rules apply"), ("rule_disabled", 2, "rules disable")]
