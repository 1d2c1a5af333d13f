"""Pure: the pull cursor, the next modified-time window, and dedup of unchanged orders.

A shop's `Cursor` says "every change modified up to `since` has been produced". The next
window starts `overlap_s` before it (platform clocks drift and some writes show up late:
the overlap must exceed both) and ends `settle_s` before now, at most `max_span_s` wide.
`seen` remembers, per order, the (modified, status) last produced, for the orders the
overlap will list again: an order listed again unchanged is not produced again, also
after a restart (the cursor, with `seen`, is checkpointed). Older entries are dropped when
the cursor moves past them: a window can list an order again only with a newer modified.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from app.platforms.base import Window

__all__ = ["Cursor", "MessageIds", "Seen", "next_window"]


class Seen:
    """external_id → (modified, status) of what was produced. Check-and-claim is synchronous,
    so a push and a pull of the same change cannot both produce it."""

    def __init__(self, entries: dict[str, tuple[float, str]] | None = None) -> None:
        self._entries: dict[str, tuple[float, str]] = dict(entries or {})

    def claim(self, external_id: str, modified: float, status: str) -> tuple[bool, tuple[float, str] | None]:
        """(True, previous) if this state is new and is now claimed; (False, current) if it was
        produced already or is older than what was produced."""
        current = self._entries.get(external_id)
        if current is not None and (modified < current[0] or (modified, status) == current):
            return False, current
        self._entries[external_id] = (modified, status)
        return True, current

    def is_new(self, external_id: str, modified: float, status: str) -> bool:
        current = self._entries.get(external_id)
        return current is None or not (modified < current[0] or (modified, status) == current)

    def release(self, external_id: str, previous: tuple[float, str] | None) -> None:
        """Undo a claim whose produce failed, so the next try produces it."""
        if previous is None:
            self._entries.pop(external_id, None)
        else:
            self._entries[external_id] = previous

    def release_claim(self, external_id: str, claimed: tuple[float, str], previous: tuple[float, str] | None) -> None:
        """Undo `claimed` unless a newer claim replaced it meanwhile."""
        if self._entries.get(external_id) == claimed:
            self.release(external_id, previous)

    def prune(self, older_than: float) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[0] >= older_than}

    def snapshot(self) -> dict[str, tuple[float, str]]:
        return dict(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Cursor:
    since: float  # epoch seconds, platform time
    seen: dict[str, tuple[float, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "seen": {k: [m, s] for k, (m, s) in self.seen.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cursor:
        seen = {str(k): (float(v[0]), str(v[1])) for k, v in (data.get("seen") or {}).items()}
        return cls(float(data["since"]), seen)

    def advanced(self, end: float, seen: Seen, overlap_s: float, keep_s: float = 0.0) -> Cursor:
        """The cursor after every change of a window ending at `end` was produced. The live
        memory keeps `keep_s` (a late push of a change already produced must still be
        recognised); the checkpoint keeps what the overlap can list again."""
        since = max(self.since, end)
        seen.prune(since - max(overlap_s, keep_s))
        horizon = since - overlap_s
        return Cursor(since, {k: v for k, v in seen.snapshot().items() if v[0] >= horizon})


def next_window(cursor: Cursor, *, now: float, overlap_s: float, settle_s: float, max_span_s: float,
                resolution_s: float = 1.0) -> Window | None:
    """The next window to list, on the platform's time grid, or None when nothing new can
    be listed yet (the cursor is within `settle_s` of now)."""
    start = cursor.since - overlap_s
    end = min(now - settle_s, start + max_span_s)
    if end <= cursor.since:
        return None
    window = Window(start, end).aligned(resolution_s)
    return window if window.end >= window.start else None


class MessageIds:
    """The last `size` push message ids per shop: a message id seen twice was handled already."""

    def __init__(self, size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._ids

    def add(self, msg_id: str) -> None:
        """Remember a message once it was handled (a failed one may be delivered again)."""
        self._ids[msg_id] = None
        self._ids.move_to_end(msg_id)
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
