"""Pure: an adaptive request rate (AIMD) under a fixed ceiling.

The rate starts at the ceiling. The platform's rate-limit error halves it (never below
`floor`); every `recover_s` without one adds `step` back until the ceiling is reached
again. A ``Retry-After`` hint pauses the caller until then. The caller passes `now`.
"""

from __future__ import annotations

__all__ = ["AdaptiveRate"]


class AdaptiveRate:
    def __init__(self, ceiling: float, *, floor_share: float = 0.05, decrease: float = 0.5,
                 step_share: float = 0.1, recover_s: float = 1.0) -> None:
        if ceiling <= 0:
            raise ValueError("ceiling must be positive")
        self.ceiling = ceiling
        self.floor = ceiling * floor_share
        self.rate = ceiling
        self._decrease = decrease
        self._step = ceiling * step_share
        self._recover_s = recover_s
        self._last_change = float("-inf")
        self.paused_until = float("-inf")
        self.limited = 0  # rate-limit answers seen

    @property
    def lowered(self) -> bool:
        return self.rate < self.ceiling

    def on_rate_limited(self, now: float, retry_after_s: float | None = None) -> None:
        self.limited += 1
        self.rate = max(self.floor, self.rate * self._decrease)
        self._last_change = now
        if retry_after_s:
            self.paused_until = max(self.paused_until, now + retry_after_s)

    def on_success(self, now: float) -> None:
        if self.rate < self.ceiling and now - self._last_change >= self._recover_s:
            self.rate = min(self.ceiling, self.rate + self._step)
            self._last_change = now

    def spacing(self) -> float:
        """Seconds between two requests at the current rate."""
        return 1.0 / self.rate
