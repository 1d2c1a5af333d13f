"""Alert delivery: forward alerts to a webhook (generic JSON, DingTalk or WeCom robot).

A storm must not flood the channel, so each alert passes two gates:
1. de-duplication: the same subject (kind + order, or kind + group + topic) at most once
   per `ORDERHUB_ALERT_DEDUP_S`;
2. a rate limit (aiolimiter, `ORDERHUB_ALERT_RATE_PER_MIN`): alerts over it are not
   queued up but counted, and one summary message ("N more alerts were not forwarded")
   goes out as soon as the limit allows.
A failed POST is retried three times with backoff, then counted and logged. Delivery is
best effort: the alerts topic stays the record of every alert.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson
from aiolimiter import AsyncLimiter

from app import metrics
from app.logs import get_logger
from app.operations.alert_formats import dingtalk_signed_url, render, subject, suppressed_summary
from app.operations.alert_gate import Deduplicator
from app.settings import Settings

log = get_logger("orderhub.alerts")

Post = Callable[[str, bytes], Awaitable[None]]
QUEUE_SIZE = 1000
RETRY_DELAYS_S = (0.5, 1.0, 2.0)


class WebhookError(Exception):
    """The webhook refused or did not answer."""


class AlertForwarder:
    def __init__(self, settings: Settings, *, post: Post | None = None,
                 clock: Callable[[], float] = time.monotonic, limiter: AsyncLimiter | None = None) -> None:
        self.url = settings.alert_webhook_url
        self.format = settings.alert_webhook_format
        self.secret = settings.alert_webhook_secret
        self._dedup = Deduplicator(float(settings.alert_dedup_s))
        self._limiter = limiter or AsyncLimiter(settings.alert_rate_per_min, 60)
        self._clock = clock
        self._post = post
        self._session: aiohttp.ClientSession | None = None
        self._queue: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._suppressed: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    def submit(self, alert: Mapping[str, Any]) -> None:
        """Take one alert (never blocks); it is forwarded, de-duplicated or counted as suppressed."""
        if not self._dedup.admit(subject(alert), self._clock()):
            metrics.alert_deliveries.labels("deduplicated").inc()
            return
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self._suppress(alert)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="alert-forwarder")

    def _suppress(self, alert: Mapping[str, Any]) -> None:
        self._suppressed[str(alert.get("kind", "alert"))] += 1
        metrics.alert_deliveries.labels("rate_limited").inc()

    async def _run(self) -> None:
        while True:
            try:
                alert = await asyncio.wait_for(self._queue.get(), timeout=1.0)
            except TimeoutError:
                alert = None
            if alert is not None:
                if self._limiter.has_capacity():
                    await self._limiter.acquire()
                    await self._deliver(alert)
                else:
                    self._suppress(alert)
            if self._suppressed and self._limiter.has_capacity():
                await self._limiter.acquire()
                summary, self._suppressed = suppressed_summary(self._suppressed), Counter()
                await self._deliver(summary)

    async def _deliver(self, alert: Mapping[str, Any]) -> None:
        body = orjson.dumps(render(alert, self.format))
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None), start=1):
            try:
                await self._send(body)
                metrics.alert_deliveries.labels("sent").inc()
                return
            except (WebhookError, aiohttp.ClientError, TimeoutError) as exc:
                if delay is None:
                    metrics.alert_deliveries.labels("failed").inc()
                    log.warning("alert.webhook_failed", kind=alert.get("kind"), attempts=attempt, error=str(exc))
                    return
                await asyncio.sleep(delay)

    async def _send(self, body: bytes) -> None:
        url = self.url
        if self.format == "dingtalk" and self.secret:
            url = dingtalk_signed_url(url, self.secret, int(time.time() * 1000))
        if self._post is not None:
            await self._post(url, body)
            return
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        async with self._session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
            text = await resp.text()
            if resp.status >= 300:
                raise WebhookError(f"HTTP {resp.status}: {text[:200]}")
            if self.format in ("dingtalk", "wecom"):
                try:
                    answer = orjson.loads(text or "{}")
                except orjson.JSONDecodeError:
                    raise WebhookError(f"not a robot answer: {text[:200]}") from None
                if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
                    raise WebhookError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
