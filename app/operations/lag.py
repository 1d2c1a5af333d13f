"""Pure: consumer lag and consumption rate from offset snapshots, and when they call for an alert.

A snapshot holds, per (group, topic, partition), the group's committed offset and the
partition's log end offset at one moment. Two snapshots give the consumption rate (how
fast the committed offset moves). `LagEvaluator` watches successive snapshots and
decides alerts, per group and topic:

- ``consumer_lag_high``: the summed lag is over the threshold (raised once; re-armed
  when it falls back under);
- ``consumer_stalled``: some partition has had lag > 0 and a committed offset that did
  not move for `stall_s` seconds (the "offsets not committed" failure). Raised once per
  episode, re-armed when every partition moves again or catches up. Topics paused on
  purpose (`orderhub pause`) raise no stall alert; their lag still counts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

PartitionKey = tuple[str, str, int]  # group, topic, partition


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    committed: int | None  # None: the group never committed this partition
    end: int  # log end offset (next offset to be written)
    start: int = 0  # log start offset (after retention)
    #: only transaction markers lie between `committed` and `end`: nothing left to read
    markers_only: bool = False

    @property
    def lag(self) -> int:
        if self.markers_only:
            return 0
        position = self.start if self.committed is None else max(self.committed, self.start)
        return max(0, self.end - position)


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float  # seconds, any monotonic clock
    offsets: Mapping[PartitionKey, PartitionOffsets]


@dataclass(frozen=True, slots=True)
class LagRow:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int
    rate: float | None  # committed messages per second since the previous snapshot; None if unknown

    def as_dict(self) -> dict[str, object]:
        return {"group": self.group, "topic": self.topic, "partition": self.partition,
                "committed": self.committed, "end": self.end, "lag": self.lag,
                "rate": None if self.rate is None else round(self.rate, 2)}


def lag_rows(after: Snapshot, before: Snapshot | None = None) -> list[LagRow]:
    """One row per partition of `after`, sorted; rates need `before` (an earlier snapshot)."""
    rows = []
    for key in sorted(after.offsets):
        now = after.offsets[key]
        rate = None
        if before is not None and after.at > before.at:
            prev = before.offsets.get(key)
            if prev is not None and prev.committed is not None and now.committed is not None:
                rate = max(0, now.committed - prev.committed) / (after.at - before.at)
        rows.append(LagRow(*key, committed=now.committed, end=now.end, lag=now.lag, rate=rate))
    return rows


@dataclass(frozen=True, slots=True)
class LagAlert:
    kind: str  # consumer_lag_high | consumer_stalled
    group: str
    topic: str
    lag: int
    partitions: tuple[int, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class LagPolicy:
    threshold: int = 10_000
    stall_s: float = 30.0


@dataclass
class _TopicState:
    over_threshold: bool = False
    stalled: bool = False


@dataclass
class LagEvaluator:
    """Feed it snapshots in time order; it returns the alerts each one raises."""

    policy: LagPolicy = field(default_factory=LagPolicy)
    _last_committed: dict[PartitionKey, int | None] = field(default_factory=dict)
    _progress_at: dict[PartitionKey, float] = field(default_factory=dict)
    _topics: dict[tuple[str, str], _TopicState] = field(default_factory=dict)

    def observe(self, snapshot: Snapshot, paused: Collection[tuple[str, str]] = ()) -> list[LagAlert]:
        """`paused`: (group, topic) pairs paused on purpose (`orderhub pause`): no stall alerts for them."""
        now = snapshot.at
        by_topic: dict[tuple[str, str], list[tuple[int, PartitionOffsets]]] = {}
        for key, offsets in snapshot.offsets.items():
            group, topic, partition = key
            by_topic.setdefault((group, topic), []).append((partition, offsets))
            moved = key not in self._last_committed or self._last_committed[key] != offsets.committed
            # a paused topic's stall clock starts when it is resumed
            if moved or offsets.lag == 0 or (group, topic) in paused:
                self._progress_at[key] = now
            self._last_committed[key] = offsets.committed
        alerts: list[LagAlert] = []
        for (group, topic), parts in sorted(by_topic.items()):
            state = self._topics.setdefault((group, topic), _TopicState())
            total = sum(o.lag for _, o in parts)
            if total > self.policy.threshold and not state.over_threshold:
                alerts.append(LagAlert("consumer_lag_high", group, topic, total, tuple(sorted(p for p, _ in parts)),
                                       f"group {group} is {total} messages behind on {topic} "
                                       f"(threshold {self.policy.threshold})"))
            state.over_threshold = total > self.policy.threshold
            stalled = tuple(sorted(p for p, o in parts if o.lag > 0
                                   and now - self._progress_at[(group, topic, p)] >= self.policy.stall_s))
            if stalled and not state.stalled:
                stuck_lag = sum(o.lag for p, o in parts if p in stalled)
                alerts.append(LagAlert("consumer_stalled", group, topic, stuck_lag, stalled,
                                       f"group {group} has not committed on {topic} partitions "
                                       f"{', '.join(map(str, stalled))} for {self.policy.stall_s:.0f} s "
                                       f"with {stuck_lag} messages waiting"))
            state.stalled = bool(stalled)
        return alerts


def totals(rows: Iterable[LagRow]) -> dict[tuple[str, str], tuple[int, float | None]]:
    """Summed lag and rate per (group, topic)."""
    out: dict[tuple[str, str], tuple[int, float | None]] = {}
    for row in rows:
        lag, rate = out.get((row.group, row.topic), (0, None))
        if row.rate is not None:
            rate = (rate or 0.0) + row.rate
        out[(row.group, row.topic)] = (lag + row.lag, rate)
    return out
