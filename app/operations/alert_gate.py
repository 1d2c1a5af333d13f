"""Pure: alert de-duplication. The same subject is let through at most once per window."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Deduplicator:
    window_s: float
    max_subjects: int = 10_000
    _seen: dict[str, float] = field(default_factory=dict)

    def admit(self, subject: str, now: float) -> bool:
        """True if `subject` was not let through in the last `window_s` seconds (and records it)."""
        last = self._seen.get(subject)
        if last is not None and now - last < self.window_s:
            return False
        self._seen[subject] = now
        if len(self._seen) > self.max_subjects:
            self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        self._seen = {s: t for s, t in self._seen.items() if now - t < self.window_s}
        while len(self._seen) > self.max_subjects:  # a storm of distinct subjects: forget the oldest
            del self._seen[next(iter(self._seen))]
