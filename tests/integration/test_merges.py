"""Integration, real broker, two workers: merge candidates across partitions, accept, undo, COD."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from app import codec
from app.brokers import free_port
from app.console.roles import hash_token
from app.domain.identity import make_oli
from app.domain.model import Address, Amounts, Buyer, Line, Order, OrderStatus, Receiver
from tests.integration.console_fixture import PEOPLE, Hub
from tests.integration.harness import PARTITIONS, Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # the merge window: broker-independent, once

T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)
#: long enough that nothing ships alone while a test accepts; COD orders never wait
MERGE_POLICY = "wait_minutes: 3\nwindow_hours: 24\n"


@pytest.fixture(scope="module")
def merge_hub(broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("merges")
    pipeline = Pipeline(broker.bootstrap, tmp)
    asyncio.run(pipeline.create_topics())
    tokens = {person: f"merge-token-{person}-{i:04d}" for i, person in enumerate(PEOPLE)}
    (tmp / "tokens.yaml").write_text("tokens:\n" + "".join(
        f"  - {{name: {p}, role: {PEOPLE[p]}, sha256: {hash_token(t)}}}\n" for p, t in tokens.items()))
    (tmp / "merge.yaml").write_text(MERGE_POLICY)
    env = {"ORDERHUB_TOKENS_FILE": str(tmp / "tokens.yaml"), "ORDERHUB_MERGE_POLICY_FILE": str(tmp / "merge.yaml")}
    try:
        ports = [free_port(), free_port()]
        pipeline.start_worker("w1", web_port=ports[0], extra_env=env)
        pipeline.start_worker("w2", web_port=ports[1], extra_env=env)
        yield Hub(pipeline, [f"http://127.0.0.1:{p}" for p in ports], [], tokens)
    finally:
        pipeline.stop_all()


def _partition(oli: str) -> int:
    return DefaultPartitioner()(oli.encode(), list(range(PARTITIONS)), list(range(PARTITIONS)))


def _two_olis(shop: str) -> list[str]:
    """Two OLIs of `shop` that land on different partitions (so, here, often on different workers)."""
    olis = [make_oli("taobao", shop, str(1000 + i)) for i in range(20)]
    first = olis[0]
    return [first, next(o for o in olis if _partition(o) != _partition(first))]


def _order(oli: str, buyer: str, minutes: int, tags: tuple[str, ...] = ()) -> Order:
    shop, external_id = oli.split("-")[1], oli.split("-")[2]
    paid = T0 + timedelta(minutes=minutes)
    return Order(oli=oli, version=0, channel="taobao", shop_id=shop, external_id=external_id,
                 status=OrderStatus.PAID, channel_status="WAIT_SELLER_SEND_GOODS", updated_at=paid,
                 created_at=paid, paid_at=paid, buyer=Buyer(buyer, buyer), tags=tags,
                 receiver=Receiver("张三", "13800000000", Address(province="浙江省", city="杭州市", district="西湖区",
                                                                 detail="文三路1号")),
                 lines=(Line("1", f"sku-{external_id}", quantity=1, unit_price=100, amount=100),),
                 amounts=Amounts(total=100, paid=100))


async def _send_orders(hub: Hub, *orders: Order) -> None:
    p = hub.pipeline
    await p.produce([(p.names.order_inputs, o.oli.encode(), codec.encode_order_input(o)) for o in orders])


async def _commands(hub: Hub, olis: set[str], until: Any, timeout: float = 90) -> list[dict[str, Any]]:  # noqa: ASYNC109
    p = hub.pipeline
    records = await p.collect(p.names.fulfillment_commands, timeout=timeout, settle=2.0,
                              until=lambda recs: until([r for r in recs if r["oli"] in olis]))
    return [r for r in records if r["oli"] in olis]


def _story(hub: Hub, commands: list[dict[str, Any]]) -> str:
    """The commands with their ids, and what the workers said about partitions moving."""
    sent = "\n".join(f"  {c['oli']} {c['type']} {c['command_id']} merged={len(c['merged'])}" for c in commands)
    log = hub.pipeline.log_tail(4000).splitlines()
    moves = [line for line in log if any(w in line.lower() for w in ("rebalanc", "revoked", "assigned", "error"))]
    return f"commands:\n{sent}\nworker lines on partitions and errors:\n" + "\n".join(moves[-40:])


async def _group_of(hub: Hub, oli: str) -> dict[str, Any]:
    body = await hub.wait_for("/api/merges", lambda b: any(oli in g["mergeable"] for g in b["merges"]),
                              person="vic", worker=1, timeout=90)
    return next(g for g in body["merges"] if oli in g["mergeable"])


async def test_two_orders_of_one_buyer_on_different_partitions_ship_as_one(merge_hub: Hub) -> None:
    hub = merge_hub
    a, b = _two_olis("mshopa")
    await _send_orders(hub, _order(a, "buyer-1", 0), _order(b, "buyer-1", 20))
    group = await _group_of(hub, a)
    assert group["mergeable"] == [a, b] and group["merge"] is None
    path = f"/api/merges/{group['id']}/accept"
    status, body = await hub.call("POST", path, "vic", body={})
    assert status == 403, body
    status, body = await hub.call("POST", path, "olga", body={"reason": "one parcel"}, worker=1)
    assert status == 202 and body["request_id"].startswith("req-"), body
    commands = await _commands(hub, {a, b}, lambda mine: len(mine) >= 1)
    assert [(c["type"], c["oli"], [m["oli"] for m in c["merged"]]) for c in commands] == [("SHIP", a, [b])]
    assert commands[0]["merged"][0]["lines"][0]["sku"] == f"sku-{b.split('-')[2]}"
    merged = await hub.wait_for(f"/api/merges/{group['id']}", lambda g: (g["merge"] or {}).get("state") == "merged", timeout=60)
    assert merged["merge"]["primary"] == a and merged["merge"]["actor"] == "olga"
    status, body = await hub.call("POST", path, "olga", body={})
    assert status == 409, body  # accepted already
    secondary = await hub.wait_for(f"/api/orders/{b}", lambda v: any(
        h["reason"] == "merged_into" for h in v["order"]["holds"]))
    assert secondary["order"]["fulfillment"]["state"] == "NONE"
    p = hub.pipeline
    audit = await p.collect(p.names.audit, timeout=30, until=lambda recs: {
        (r["oli"], r["command"]) for r in recs if r["action"] == "command_applied"} >= {(b, "merge_into"), (a, "merge")})
    steps = {(r["oli"], r["command"], r["actor"]) for r in audit if r["action"] == "command_applied"}
    assert {(b, "merge_into", "olga"), (a, "merge", "olga")} <= steps


async def test_undo_before_shipping_gives_two_ships(merge_hub: Hub) -> None:
    hub = merge_hub
    a, b = _two_olis("mshopb")
    await _send_orders(hub, _order(a, "buyer-2", 0), _order(b, "buyer-2", 5))
    group = await _group_of(hub, a)
    status, body = await hub.call("POST", f"/api/merges/{group['id']}/accept", "olga", body={})
    assert status == 202, body
    (ship,) = await _commands(hub, {a, b}, lambda mine: len(mine) >= 1)
    await hub.wait_for(f"/api/merges/{group['id']}", lambda g: (g["merge"] or {}).get("state") == "merged", timeout=60)
    status, body = await hub.call("POST", f"/api/merges/{group['id']}/undo", "ada", body={"reason": "buyer asked"},
                                  worker=1)
    assert status == 202, body
    commands = await _commands(hub, {a, b}, lambda mine: len(mine) >= 2)
    (cancel,) = [c for c in commands if c["type"] == "CANCEL_SHIPMENT"]
    assert (cancel["oli"], cancel["cancels"]) == (a, ship["command_id"])
    p = hub.pipeline
    await p.produce([(p.names.wms_events, a.encode(), orjson.dumps({
        "command_id": cancel["command_id"], "oli": a, "event": "INTERCEPTED", "at": T0.isoformat()}))])
    commands = await _commands(hub, {a, b}, lambda mine: len(mine) >= 4)
    # a and b are on different partitions: only each order's own commands have an order
    steps = {o: [(c["type"], len(c["merged"])) for c in commands if c["oli"] == o] for o in (a, b)}
    assert steps == {a: [("SHIP", 1), ("CANCEL_SHIPMENT", 1), ("SHIP", 0)], b: [("SHIP", 0)]}, _story(hub, commands)
    status, body = await hub.call("POST", f"/api/merges/{group['id']}/undo", "ada", body={})
    assert status in (404, 409), body  # nothing left to undo


async def test_cash_on_delivery_never_merges_nor_waits(merge_hub: Hub) -> None:
    hub = merge_hub
    cod, other = _two_olis("mshopc")
    await _send_orders(hub, _order(cod, "buyer-3", 0, tags=("COD",)), _order(other, "buyer-3", 1))
    (ship,) = await _commands(hub, {cod, other}, lambda mine: len(mine) >= 1, timeout=60)
    assert ship["oli"] == cod and ship["merged"] == []  # shipped at once, not held for the wait
    waiting = await hub.wait_for(f"/api/orders/{other}", lambda v: any(
        h["reason"] == "merge_wait" for h in v["order"]["holds"]))
    key = next(h["detail"] for h in waiting["order"]["holds"] if h["reason"] == "merge_wait")
    status, body = await hub.call("GET", f"/api/merges/{key}", "vic")
    assert status == 200 and [m["oli"] for m in body["members"]] == [other] and body["mergeable"] == []
    status, body = await hub.call("POST", f"/api/merges/{key}/accept", "olga", body={})
    assert status == 409 and "fewer than two" in body["error"]
    status, body = await hub.call("POST", "/api/merges/not-a-group/accept", "olga", body={})
    assert status == 404
