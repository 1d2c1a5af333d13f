"""Pure: when a worker holds its unpaid lane back so paid orders in a backlog are routed first.

Each second the worker counts, over the partitions it is assigned, the messages not yet
read on the paid lane (`order-inputs-paid`) and on the topics that feed the lanes
(`channel-orders`, `payments`: a backlog there holds paid orders that have not reached
their lane yet). Over `threshold` the unpaid lane (`order-inputs`) is paused, so the
worker's time goes to ingesting and to paid orders; under half of it the lane flows again.
A pause lasts at most `max_pause_s`; then the unpaid lane flows for `run_s` before it
can be paused again, so a backlog that never clears cannot starve it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaidFirstPolicy:
    #: backlog (messages) over which the unpaid lane is paused; 0 turns the policy off
    threshold: int = 500
    max_pause_s: float = 120.0
    run_s: float = 10.0


@dataclass(frozen=True, slots=True)
class LaneState:
    paused: bool = False
    #: when the current pause (or run after a pause) started, monotonic seconds
    since: float = 0.0
    #: the unpaid lane was paused for max_pause_s and must flow until since + run_s
    forced_run: bool = False


def step(state: LaneState, backlog: int, now: float, policy: PaidFirstPolicy) -> LaneState:
    """The lane's state after a sample of `backlog` at `now`."""
    if policy.threshold <= 0:
        return LaneState() if state.paused or state.forced_run else state
    if state.forced_run:
        if now - state.since < policy.run_s:
            return state
        state = LaneState()
    if state.paused:
        if backlog <= policy.threshold // 2:
            return LaneState(paused=False, since=now)
        if now - state.since >= policy.max_pause_s:
            return LaneState(paused=False, since=now, forced_run=True)
        return state
    if backlog > policy.threshold:
        return LaneState(paused=True, since=now)
    return state
