"""Integration, real broker: the spine end to end with a worker subprocess."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from app.demo_data import OrderStory, generate, poison_messages
from tests.integration.harness import PARTITIONS, Pipeline, duplicate_report, wait_inputs_consumed

pytestmark = pytest.mark.integration


def _messages(p: Pipeline, stories: list[OrderStory], seed: int = 3) -> list[tuple[str, bytes, bytes]]:
    topic = {"channel_order": p.names.channel_orders, "payment": p.names.payments}
    sends = [(topic[s.kind], s.key, s.value) for story in stories for s in story.sends]
    random.Random(seed).shuffle(sends)  # payments before, after and twice; updates out of order
    return sends


def _ship_ids(commands: list[dict]) -> Counter[str]:
    return Counter(c["command_id"] for c in commands if c["type"] == "SHIP")


async def test_500_orders_one_command_per_paid_order(broker, pipeline: Pipeline) -> None:  # type: ignore[no-untyped-def]
    stories = generate(500, seed=11)
    paid = {s.oli for s in stories if s.fate == "paid"}
    assert sum(s.duplicates for s in stories) >= 50  # at least 10% duplicate deliveries
    pipeline.start_worker()
    messages = _messages(pipeline, stories)
    inputs = (pipeline.names.channel_orders, pipeline.names.payments)
    if broker.supports_transactions:
        # each input partition: its first record at offset 0, then an aborted transaction (what a
        # killed producer leaves): the worker must commit past the hole (finding 14)
        head = _first_per_partition(messages, inputs)
        await pipeline.produce(messages[i] for i in head)
        for topic in inputs:
            await pipeline.produce_aborted(topic)
        messages = [m for i, m in enumerate(messages) if i not in head]
    await pipeline.produce(messages)

    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: len({r["oli"] for r in recs}) >= len(paid),
                                      timeout=120, settle=3.0)
    ships = _ship_ids(commands)
    assert {c["oli"] for c in commands} == paid  # none for unpaid or cancelled orders
    assert all(n == 1 for n in ships.values()), ships.most_common(3)
    assert len(ships) == len(paid)
    assert all(c["command_id"].startswith(c["oli"] + "@") for c in commands)
    if broker.supports_transactions:
        left = await wait_inputs_consumed(pipeline, inputs)
        assert not left, f"inputs not committed to their end behind an aborted transaction: {left}"


def _first_per_partition(messages: list[tuple[str, bytes, bytes]], topics: tuple[str, ...]) -> set[int]:
    """The indexes of the first message of each partition of `topics` (Kafka's default partitioner)."""
    partitioner = DefaultPartitioner()
    partitions = list(range(PARTITIONS))
    first: dict[tuple[str, int], int] = {}
    for i, (topic, key, _) in enumerate(messages):
        if topic in topics:
            first.setdefault((topic, partitioner(key, partitions, partitions)), i)
    assert len(first) == len(topics) * PARTITIONS
    return set(first.values())


async def test_poison_messages_go_to_dlq_with_reasons_and_neighbours_are_processed(pipeline: Pipeline) -> None:
    stories = generate(30, seed=5)
    poison = poison_messages()
    good = _messages(pipeline, stories)
    mixed: list[tuple[str, bytes | None, bytes]] = []
    for i, (_kind, key, value) in enumerate(poison):  # poison between valid messages
        mixed += good[i * 10:(i + 1) * 10] + [(pipeline.names.channel_orders, key, value)]
    mixed += good[len(poison) * 10:]
    mixed.append((pipeline.names.payments, b"bad-payment", b'{"payment_id": "x"}'))
    mixed.append((pipeline.names.wms_events, b"tb-x-y", orjson.dumps(
        {"command_id": "tb-x-y@1", "oli": "tb-x-y", "event": "ACCEPTED", "at": "2026-11-11T00:00:00+00:00"})))
    pipeline.start_worker()
    await pipeline.produce(mixed)

    dlq = await pipeline.collect(pipeline.names.dlq(pipeline.names.channel_orders),
                                 until=lambda recs: len(recs) >= len(poison), timeout=90)
    reasons = {d["key"]: (d["error_type"], d["error"]) for d in dlq}
    assert reasons["garbage"][0] == "decode_error" and "too large" in reasons["garbage"][1]
    assert reasons["bad-utf8"][0] == "decode_error" and "UTF-8" in reasons["bad-utf8"][1]
    assert reasons["wrong-shape"][0] == "invalid_message" and "payload" in reasons["wrong-shape"][1]
    assert reasons["unknown-channel"][0] == "unknown_channel" and "myspace" in reasons["unknown-channel"][1]
    assert reasons["unknown-status"][0] == "unknown_status" and "NO_SUCH_STATUS" in reasons["unknown-status"][1]
    assert len({e for e, _ in reasons.values()}) == 4 and len(dlq) == len(poison)
    entry = next(d for d in dlq if d["key"] == "garbage")
    assert len(entry["value_b64"]) > 1_000_000  # the original bytes are kept
    for field in ("topic", "partition", "offset", "headers", "stage", "attempts", "first_failed_at",
                  "last_failed_at"):
        assert field in entry

    payment_dlq = await pipeline.collect(pipeline.names.dlq(pipeline.names.payments),
                                         until=lambda recs: len(recs) >= 1)
    assert payment_dlq[0]["error_type"] == "invalid_message"
    wms_dlq = await pipeline.collect(pipeline.names.dlq(pipeline.names.wms_events),
                                     until=lambda recs: len(recs) >= 1)
    assert wms_dlq[0]["error_type"] == "unknown_order"

    paid = {s.oli for s in stories if s.fate == "paid"}
    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: {r["oli"] for r in recs} >= paid)
    assert {c["oli"] for c in commands} == paid


async def test_restart_recovers_state_from_changelog_and_own_data_dir_without_repeating_commands(pipeline: Pipeline) -> None:
    stories = generate(120, seed=21)
    paid = {s.oli for s in stories if s.fate == "paid"}
    unpaid = [s for s in stories if s.fate == "unpaid"]
    messages = _messages(pipeline, stories)
    worker = pipeline.start_worker("w1")
    await pipeline.produce(messages)
    await pipeline.collect(pipeline.names.fulfillment_commands,
                           until=lambda recs: {r["oli"] for r in recs} >= paid, timeout=90)
    assert pipeline.stop(worker) == 0

    # a new worker with an empty data dir: its state can only come from the changelog
    worker = pipeline.start_worker("w2")
    await pipeline.produce(messages)  # every old message again: nothing new to decide
    await asyncio.sleep(3.0)
    assert pipeline.stop(worker) == 0

    # the same worker again on its own data dir (the local state is kept), then new payments
    pipeline.start_worker("w2")
    late_payments = [(pipeline.names.payments, s.oli.encode(), orjson.dumps({
        "payment_id": f"late-{s.oli}", "channel": s.oli.split("-")[0] == "tm" and "tmall" or "taobao",
        "shop_id": _shop(s), "external_id": _tid(s), "amount": 100, "currency": "CNY",
        "paid_at": "2026-11-12T00:00:00+00:00"})) for s in unpaid]
    await pipeline.produce(messages + late_payments)  # every old message once more, then new payments

    expected = paid | {s.oli for s in unpaid}
    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: {r["oli"] for r in recs} >= expected,
                                      timeout=90, settle=3.0)
    ships = _ship_ids(commands)
    twice = {command_id for command_id, n in ships.items() if n > 1}
    assert not twice, f"{ships.most_common(3)}\n{await duplicate_report(pipeline, twice)}"
    assert len(ships) == len(expected), f"{len(ships)} SHIP commands for {len(expected)} paid orders"


def _envelope(story: OrderStory) -> dict:
    first = next(s for s in story.sends if s.kind == "channel_order")
    return orjson.loads(first.value)


def _shop(story: OrderStory) -> str:
    return _envelope(story)["shop_id"]


def _tid(story: OrderStory) -> str:
    return _envelope(story)["payload"]["trade_fullinfo_get_response"]["trade"]["tid_str"]
