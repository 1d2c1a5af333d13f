"""A platform API client for one shop: aiohttp, paced by the shop's and app's limits, retried.

Every call waits for the shop's and the app's `Pace`, then sends; the platform's
rate-limit answer slows both paces down (and honours ``Retry-After``); 5xx answers,
timeouts and connection errors are retried with jittered exponential backoff (tenacity)
up to ``ORDERHUB_CONNECTOR_ATTEMPTS`` tries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import aiohttp
import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from app.connectors.limiter import Pace, acquire
from app.connectors.shops import ShopConfig
from app.platforms.base import ApiCall, ApiError, RateLimitedError, Reply

T = TypeVar("T")
RETRIED = (ApiError, TimeoutError, aiohttp.ClientError)


class PlatformClient:
    def __init__(self, shop: ShopConfig, session: aiohttp.ClientSession, shop_pace: Pace, app_pace: Pace,
                 *, attempts: int, timeout_s: float, stats: Counter[str]) -> None:
        self.shop = shop
        self._session = session
        self._paces = (shop_pace, app_pace)
        self._attempts = attempts
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.stats = stats

    @property
    def paces(self) -> tuple[Pace, Pace]:
        """(shop, app)"""
        return self._paces

    async def _send(self, call: ApiCall) -> Reply:
        await acquire(*self._paces)
        self.stats["requests"] += 1
        async with self._session.request(
                call.method, self.shop.base_url + call.path, params=call.query or None,
                data=orjson.dumps(call.body) if call.body is not None else None,
                headers={**call.headers, **({"Content-Type": "application/json"} if call.body is not None else {})},
                timeout=self._timeout) as response:
            raw = await response.read()
            try:
                body: Any = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                body = {}
            return Reply(response.status, body, dict(response.headers))

    async def call(self, call: ApiCall, read: Callable[[Reply], T]) -> T:
        """Send `call` and read the reply with `read` (which raises the platform's errors)."""
        retrying = AsyncRetrying(stop=stop_after_attempt(self._attempts),
                                 wait=wait_random_exponential(multiplier=0.2, max=5.0),
                                 retry=retry_if_exception_type(RETRIED), reraise=True)
        async for attempt in retrying:
            with attempt:
                try:
                    result = read(await self._send(call))
                except RateLimitedError as exc:
                    self.stats["rate_limited"] += 1
                    for pace in self._paces:
                        pace.on_rate_limited(exc.retry_after_s)
                    raise
                except TimeoutError:
                    self.stats["timeouts"] += 1
                    raise
                except (ApiError, aiohttp.ClientError):
                    self.stats["errors"] += 1
                    raise
                for pace in self._paces:
                    pace.on_success()
                return result
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
