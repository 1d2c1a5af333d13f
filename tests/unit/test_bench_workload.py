"""The benchmark's workload and its figures' helpers (pure, no broker)."""

from __future__ import annotations

from collections import Counter

import orjson

from app.bench.probes import percentile
from app.bench.workload import ACK_EVENTS, baseline_messages, build_workload, wms_ack


def test_workload_has_the_requested_events_and_the_traffic_mix() -> None:
    workload = build_workload(2500, seed=3)
    assert 2500 <= workload.events < 2510  # whole orders: at most one story over
    kinds = Counter(kind for kind, _, _ in workload.messages)
    assert kinds["channel_order"] > kinds["payment"] > 0
    assert workload.acks == len(ACK_EVENTS) * len(workload.paid) > 0
    assert 0 < workload.poison <= 4  # small poison messages only
    channels = {orjson.loads(v)["channel"] for k, _, v in workload.messages if k == "channel_order"
                and v.startswith(b'{"channel":"t')}
    assert channels == {"taobao", "tmall"}
    duplicates = len(workload.messages) - len(set(workload.messages))
    assert duplicates > 0.02 * len(workload.messages)


def test_workload_is_deterministic_per_seed() -> None:
    assert build_workload(800, seed=5).messages == build_workload(800, seed=5).messages
    assert build_workload(800, seed=5).messages != build_workload(800, seed=6).messages


def test_baseline_gets_the_same_payloads_and_one_ack_per_expected_ack() -> None:
    workload = build_workload(1200)
    messages = baseline_messages(workload)
    assert messages[: len(workload.messages)] == workload.messages
    assert len(messages) == workload.events


def test_wms_ack_answers_the_command() -> None:
    command = {"command_id": "tb-s-1@2", "oli": "tb-s-1", "carrier": "SF", "requested_at": "2026-11-11T00:00:00+00:00"}
    ack = orjson.loads(wms_ack(command, "SHIPPED"))
    assert ack["command_id"] == "tb-s-1@2" and ack["oli"] == "tb-s-1" and ack["event"] == "SHIPPED"


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile(values, 100) == 100.0
    assert percentile([], 99) == 0.0
