"""Request pacing for the connectors: per-shop and per-app limits, adaptive under the platform's errors.

Each shop and each app (channel + app key) has a `Pace`: an aiolimiter leaky bucket of
capacity one at `limit × headroom` requests per second, plus an `AdaptiveRate` that
slows it further after the platform's rate-limit error and recovers step by step. A
request takes its shop's and its app's pace *in the same instant* (`acquire`), so both
spacings hold at the moment the request leaves; taking one bucket and then waiting for
the other would let the first one's spacing shrink.
"""

from __future__ import annotations

import asyncio
import time

from aiolimiter import AsyncLimiter

from app.connectors.pacing import AdaptiveRate

__all__ = ["Pace", "acquire"]


class Pace:
    def __init__(self, name: str, limit_rps: float, headroom: float) -> None:
        self.name = name
        self.limit_rps = limit_rps
        ceiling = limit_rps * headroom
        self._bucket = AsyncLimiter(1, 1.0 / ceiling)
        self.adaptive = AdaptiveRate(ceiling)
        self._gate = 0.0  # monotonic time before which the adaptive rate holds the next request
        self.poll_s = min(0.02, 0.25 / ceiling)

    def ready(self, now: float) -> bool:
        return now >= self._gate and now >= self.adaptive.paused_until and self._bucket.has_capacity()

    async def take(self, now: float) -> None:
        await self._bucket.acquire()  # has capacity: returns without suspending
        if self.adaptive.lowered:
            self._gate = now + self.adaptive.spacing()

    def on_rate_limited(self, retry_after_s: float | None) -> None:
        self.adaptive.on_rate_limited(time.monotonic(), retry_after_s)

    def on_success(self) -> None:
        self.adaptive.on_success(time.monotonic())


async def acquire(*paces: Pace) -> None:
    """Wait until every pace lets a request through, then take them all at once."""
    poll = min(p.poll_s for p in paces)
    while True:
        now = time.monotonic()
        if all(p.ready(now) for p in paces):
            for p in paces:
                await p.take(now)
            return
        await asyncio.sleep(poll)
