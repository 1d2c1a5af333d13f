"""Backlog catch-up progress: how far behind the workers' own group is, how fast it catches up.

After an outage the workers find a backlog on their input topics. Each lag sample gives
the group's summed lag and the committed rate; this turns consecutive samples into a
progress report (backlog, rate, estimated time to catch up) while the backlog is above
a threshold, and one "cleared" report when it falls back under it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.operations.lag import LagRow


@dataclass(frozen=True, slots=True)
class CatchUp:
    state: str  # "catching_up" while over the threshold, "cleared" once when back under it
    backlog: int  # messages between the group's committed offsets and the log ends
    rate: float | None  # committed messages per second over the last sample interval
    eta_s: float | None  # backlog / rate; None while the rate is unknown or zero
    peak: int  # the largest backlog seen during this episode


class CatchUpTracker:
    """Feed it lag rows of every sample; it answers with a report or None (nothing to say)."""

    def __init__(self, group: str, topics: Iterable[str], threshold: int) -> None:
        self.group = group
        self.topics = frozenset(topics)
        self.threshold = threshold
        self._peak = 0

    def observe(self, rows: Iterable[LagRow]) -> CatchUp | None:
        mine = [r for r in rows if r.group == self.group and r.topic in self.topics]
        backlog = sum(r.lag for r in mine)
        rates = [r.rate for r in mine if r.rate is not None]
        rate = sum(rates) if rates else None
        if backlog > self.threshold:
            self._peak = max(self._peak, backlog)
            eta = backlog / rate if rate else None
            return CatchUp("catching_up", backlog, rate, eta, self._peak)
        if self._peak:
            peak, self._peak = self._peak, 0
            return CatchUp("cleared", backlog, rate, 0.0, peak)
        return None
