"""Unit: lag and rate from offset snapshots, and when the evaluator raises lag alerts."""

from __future__ import annotations

import pytest

from app.operations.lag import LagEvaluator, LagPolicy, PartitionOffsets, Snapshot, lag_rows, totals

G, T = "wms", "orderhub.fulfillment-commands"


def snap(at: float, *parts: tuple[int, int | None, int]) -> Snapshot:
    return Snapshot(at, {(G, T, p): PartitionOffsets(committed, end) for p, committed, end in parts})


def test_lag_is_end_minus_committed_and_never_negative() -> None:
    assert PartitionOffsets(committed=40, end=100).lag == 60
    assert PartitionOffsets(committed=100, end=100).lag == 0
    assert PartitionOffsets(committed=None, end=100, start=30).lag == 70  # never committed: from the log start
    assert PartitionOffsets(committed=10, end=100, start=30).lag == 70  # committed before retention removed it
    assert PartitionOffsets(committed=99, end=100, markers_only=True).lag == 0


def test_rate_is_committed_progress_per_second_between_two_snapshots() -> None:
    rows = lag_rows(snap(12.0, (0, 300, 500), (1, 10, 10)), snap(10.0, (0, 100, 400), (1, 10, 10)))
    assert [(r.partition, r.lag, r.rate) for r in rows] == [(0, 200, 100.0), (1, 0, 0.0)]
    assert totals(rows) == {(G, T): (200, 100.0)}
    assert lag_rows(snap(1.0, (0, 5, 9)))[0].rate is None  # one snapshot: no rate


def test_a_group_that_stops_committing_is_alerted_once_after_the_stall_time() -> None:
    ev = LagEvaluator(LagPolicy(threshold=10_000, stall_s=30))
    assert ev.observe(snap(0, (0, 100, 150), (1, 50, 50))) == []
    assert ev.observe(snap(10, (0, 100, 300), (1, 50, 50))) == []
    assert ev.observe(snap(20, (0, 100, 500), (1, 50, 50))) == []
    [alert] = ev.observe(snap(30, (0, 100, 700), (1, 50, 50)))
    assert (alert.kind, alert.group, alert.topic, alert.partitions, alert.lag) == ("consumer_stalled", G, T, (0,), 600)
    assert "not committed" in alert.detail
    assert ev.observe(snap(40, (0, 100, 900), (1, 50, 50))) == []  # once per episode
    assert ev.observe(snap(50, (0, 900, 900), (1, 50, 50))) == []  # caught up: re-armed
    ev.observe(snap(60, (0, 900, 950), (1, 50, 50)))
    assert [a.kind for a in ev.observe(snap(90, (0, 900, 990), (1, 50, 50)))] == ["consumer_stalled"]


def test_a_slow_but_moving_consumer_is_not_stalled() -> None:
    ev = LagEvaluator(LagPolicy(threshold=10_000, stall_s=30))
    for i in range(10):
        assert ev.observe(snap(i * 10.0, (0, 100 + i, 5000))) == []


def test_an_idle_group_with_no_lag_is_not_stalled() -> None:
    ev = LagEvaluator(LagPolicy(threshold=10_000, stall_s=30))
    for i in range(10):
        assert ev.observe(snap(i * 10.0, (0, 500, 500))) == []


def test_a_group_that_never_committed_with_waiting_messages_is_stalled() -> None:
    ev = LagEvaluator(LagPolicy(threshold=10_000, stall_s=20))
    ev.observe(snap(0, (0, None, 10)))
    assert [a.kind for a in ev.observe(snap(20, (0, None, 10)))] == ["consumer_stalled"]


def test_lag_over_the_threshold_alerts_once_until_it_falls_back() -> None:
    ev = LagEvaluator(LagPolicy(threshold=1000, stall_s=300))
    assert ev.observe(snap(0, (0, 0, 600), (1, 0, 300))) == []
    [alert] = ev.observe(snap(5, (0, 100, 900), (1, 100, 400)))
    assert alert.kind == "consumer_lag_high" and alert.lag == 1100 and alert.partitions == (0, 1)
    assert ev.observe(snap(10, (0, 200, 1200), (1, 200, 400))) == []
    assert ev.observe(snap(15, (0, 1200, 1200), (1, 400, 400))) == []
    assert [a.kind for a in ev.observe(snap(20, (0, 1200, 3000), (1, 400, 400)))] == ["consumer_lag_high"]


@pytest.mark.parametrize("stall_s", [10.0, 30.0, 45.0])
def test_stall_is_detected_within_stall_time_plus_one_interval(stall_s: float) -> None:
    """With samples every 10 s, the alert comes at most stall_s + 2 x 10 s after the last commit
    (the commit is seen one interval late, the stall ends between two samples): 50 s by default."""
    ev = LagEvaluator(LagPolicy(threshold=10**9, stall_s=stall_s))
    last_commit_at = 3.0  # between two samples
    ev.observe(snap(0.0, (0, 10, 20)))
    ev.observe(snap(10.0, (0, 11, 30)))  # the commit at 3 s is first seen here
    t = 10.0
    while not ev.observe(snap(t, (0, 11, 30 + t))):
        t += 10.0
    assert t - last_commit_at <= stall_s + 20.0


def test_a_paused_topic_raises_no_stall_and_its_clock_restarts_on_resume() -> None:
    ev = LagEvaluator(LagPolicy(threshold=10_000, stall_s=30))
    paused = {(G, T)}
    for t in range(0, 100, 10):
        assert ev.observe(snap(float(t), (0, 100, 200 + t)), paused) == []
    assert ev.observe(snap(100.0, (0, 100, 300))) == []  # resumed at 90-100: not stalled at once
    assert ev.observe(snap(110.0, (0, 100, 300))) == []
    assert [a.kind for a in ev.observe(snap(120.0, (0, 100, 300)))] == ["consumer_stalled"]
