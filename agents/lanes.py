"""Faust wiring: hold this worker's unpaid lane back while paid orders wait (app/operations/paid_first.py).

The backlog is read from the worker's own consumer, no broker call: for each assigned
partition of the paid lane, channel orders and payments, the high watermark of its last
fetch minus the committed offset. The hold itself is a partition
pause, applied with the operator's pauses (agents/control.py).
"""

from __future__ import annotations

import time
from typing import Any

from aiokafka import TopicPartition

from app import metrics
from app.logs import get_logger
from app.main import settings, topic_names
from app.operations.paid_first import LaneState, PaidFirstPolicy, step

log = get_logger("orderhub.lanes")

policy = PaidFirstPolicy(threshold=settings.paid_first_backlog, max_pause_s=float(settings.paid_first_max_pause_s))
FEEDS = frozenset({topic_names.order_inputs_paid, topic_names.channel_orders, topic_names.payments})
UNPAID_LANE = topic_names.order_inputs


class PaidFirst:
    def __init__(self) -> None:
        # held from the start: a worker that starts after an outage must not fill its buffers
        # with unpaid orders before the first count says whether there is a backlog
        self.state = LaneState(paused=True, since=time.monotonic())
        self._counted = False

    def held(self, consumer: Any, assigned: set[TopicPartition]) -> set[TopicPartition]:
        """The partitions of the unpaid lane to hold back now (empty when the policy is off)."""
        if policy.threshold <= 0:
            return set()
        counted = unread(consumer, [tp for tp in assigned if tp.topic in FEEDS])
        # not every partition fetched or committed yet: keep the current state (within max_pause_s)
        backlog = counted if counted is not None else (policy.threshold + 1 if self.state.paused else 0)
        before, self.state = self.state, step(self.state, backlog, time.monotonic(), policy)
        if counted is None:
            return {tp for tp in assigned if tp.topic == UNPAID_LANE} if self.state.paused else set()
        if not self._counted:  # the first count: say whether the start-up hold stays or ends
            self._counted = True
            before = LaneState(paused=not self.state.paused)
        metrics.paid_first_backlog.set(backlog)
        metrics.unpaid_lane_held.set(1 if self.state.paused else 0)
        if self.state.paused != before.paused:
            log.info("paid_first.hold" if self.state.paused else "paid_first.release", backlog=backlog,
                     threshold=policy.threshold, forced=self.state.forced_run)
        return {tp for tp in assigned if tp.topic == UNPAID_LANE} if self.state.paused else set()


def unread(consumer: Any, tps: list[TopicPartition]) -> int | None:
    """Messages not processed yet: the high watermark of the last fetch minus the committed
    offset (Faust commits every second). Not Faust's read offset: that moves when a record
    is handed to an agent's buffer (thousands of records), long before it is processed.
    None while a partition's high watermark or committed offset is not known yet."""
    committed_offsets = getattr(consumer, "_committed_offset", {})
    total = 0
    for tp in tps:
        try:
            end = consumer.highwater(tp)
        except Exception:  # noqa: BLE001 — not assigned any more (a rebalance): nothing to count
            continue
        committed = committed_offsets.get(tp)
        if end is None or (committed is None and end > 0):
            return None
        total += max(0, end - (committed or 0))
    return total


paid_first = PaidFirst()
