"""Unit: the lane of an order input, and when the unpaid lane is held back (no broker)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiokafka import TopicPartition

from app.domain.lanes import OTHER, PAID, lane_of_order
from app.domain.model import OrderStatus
from app.operations.paid_first import LaneState, PaidFirstPolicy, step
from tests.unit.rules_fixtures import order

POLICY = PaidFirstPolicy(threshold=100, max_pause_s=60, run_s=5)


@pytest.mark.parametrize(("status", "paid_at", "lane"), [
    (OrderStatus.PENDING_PAYMENT, None, OTHER),
    (OrderStatus.CANCELLED, None, OTHER),
    (OrderStatus.PAID, "yes", PAID),
    (OrderStatus.SHIPPED, "yes", PAID),
    (OrderStatus.CLOSED, "yes", PAID),  # refunded after payment: may need a CANCEL_SHIPMENT
    (OrderStatus.CLOSED, None, PAID),  # closed is only reached after payment
])
def test_paid_or_later_orders_take_the_paid_lane(status: OrderStatus, paid_at: str | None, lane: str) -> None:
    o = order()
    o = replace(o, status=status, paid_at=o.paid_at if paid_at else None)
    assert lane_of_order(o) == lane


def test_held_over_the_threshold_released_under_half_of_it() -> None:
    s = step(LaneState(), 100, 0.0, POLICY)
    assert not s.paused  # at the threshold: not over it
    s = step(s, 101, 1.0, POLICY)
    assert s.paused and s.since == 1.0
    s = step(s, 51, 2.0, POLICY)
    assert s.paused  # hysteresis: still over half
    s = step(s, 50, 3.0, POLICY)
    assert not s.paused and not s.forced_run


def test_a_hold_ends_after_max_pause_and_the_lane_flows_for_run_s() -> None:
    s = step(LaneState(), 1000, 0.0, POLICY)
    s = step(s, 1000, 59.9, POLICY)
    assert s.paused
    s = step(s, 1000, 60.0, POLICY)
    assert not s.paused and s.forced_run
    s = step(s, 1000, 64.9, POLICY)
    assert not s.paused  # forced run: the backlog does not matter
    s = step(s, 1000, 65.0, POLICY)
    assert s.paused and s.since == 65.0 and not s.forced_run


def test_threshold_zero_turns_the_policy_off() -> None:
    off = PaidFirstPolicy(threshold=0)
    assert step(LaneState(paused=True, since=1.0), 10**6, 2.0, off) == LaneState()
    assert not step(LaneState(), 10**6, 2.0, off).paused


class _Consumer:
    """What `unread` reads of Faust's consumer: highwaters and the committed offsets."""

    def __init__(self, ends: dict[TopicPartition, int | None], committed: dict[TopicPartition, int]) -> None:
        self.ends, self._committed_offset = ends, committed

    def highwater(self, tp: TopicPartition) -> int | None:
        if tp not in self.ends:
            raise AssertionError("not assigned")
        return self.ends[tp]


def test_unread_counts_from_the_committed_offset_to_the_high_watermark() -> None:
    from agents.lanes import unread

    a, b, c, d, e = (TopicPartition("t", i) for i in range(5))
    consumer = _Consumer({a: 100, b: 10, c: None, d: 5, e: 0}, {a: 50, b: 10, c: 3})
    # a: 50 to process; b: all processed; e: empty; gone: no longer assigned
    assert unread(consumer, [a, b, e, TopicPartition("t", 9)]) == 50
    assert unread(consumer, [a, c]) is None  # c: not fetched yet
    assert unread(consumer, [a, d]) is None  # d: nothing committed yet
