"""The pull loop of one shop: list the next modified-time window, fetch details, produce, checkpoint.

Numbered pages of a live result shift while you page (an order modified meanwhile leaves
the window and the next one slides onto a page already read), so on "pages" platforms a
window that needs more than one page is split in halves until one page holds each part:
a single page is one snapshot. Keyset cursors are stable and are simply followed.
The cursor moves only when every envelope of the window is on the broker; a failed
window gives its dedup claims back and is listed again at the next poll. A push claims its
change before the broker has it: a window that skips that order as produced waits for the
push's delivery, a push that fails gives its claim back, and a checkpoint never holds a
claim still in flight (after `kill -9` the pull must list it again).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from app.connectors.client import PlatformClient
from app.connectors.cursor import Cursor, Seen, next_window
from app.connectors.errors import PushNotDelivered
from app.connectors.kafka import CursorStore, Outbox
from app.connectors.shops import ShopConfig
from app.logs import get_logger
from app.platforms.base import OrderRef, PlatformApi, Window

log = get_logger("orderhub.connectors")
DETAIL_CONCURRENCY = 4


class ShopConnector:
    """One shop: its pull loop and the dedup state its webhook shares."""

    def __init__(self, shop: ShopConfig, api: PlatformApi, client: PlatformClient, outbox: Outbox,
                 store: CursorStore, cursor: Cursor, *, settle_s: float, poll_s: float, stats: Counter[str],
                 keep_s: float = 0.0) -> None:
        self.shop = shop
        self.api = api
        self.client = client
        self.outbox = outbox
        self.store = store
        self.cursor = cursor
        self.seen = Seen(cursor.seen)
        self.settle_s = settle_s
        self.poll_s = poll_s
        self.keep_s = keep_s  # how long a produced change is remembered for late pushes
        self.stats = stats
        self._details = asyncio.Semaphore(DETAIL_CONCURRENCY)
        #: pushes produced but not yet on the broker: delivery → (external_id, claimed, previous)
        self._pushing: dict[asyncio.Future[Any], tuple[str, tuple[float, str], tuple[float, str] | None]] = {}
        self.max_window_s = 0.0  # the longest time one window took (listing, details, producing)

    @property
    def key(self) -> str:
        return f"{self.shop.channel}:{self.shop.shop_id}"

    # ------------------------------------------------------------------ producing (pull and push)
    async def offer(self, ref: OrderRef, payload: dict[str, Any], claims: list[Any] | None,
                    source: str) -> Awaitable[Any] | None:
        """Queue `payload` unless this (modified, status) was produced already. Returns the
        delivery future, or None when deduplicated. `claims` collects what to give back if
        the caller's batch fails: (external_id, previous, delivery future)."""
        assert ref.modified is not None and ref.status is not None
        fresh, previous = self.seen.claim(ref.external_id, ref.modified, ref.status)
        if not fresh:
            # unchanged, or older than what was produced (a push overtaken by a newer state)
            self.stats["unchanged" if previous is not None and ref.modified >= previous[0] else f"stale_{source}"] += 1
            return None
        try:
            future = await self.outbox.envelope(self.shop.channel, self.shop.shop_id, ref.external_id, payload)
        except BaseException:
            self.seen.release(ref.external_id, previous)
            raise
        if claims is not None:
            claims.append((ref.external_id, previous, future))
        else:
            delivery = asyncio.ensure_future(future)
            self._pushing[delivery] = (ref.external_id, (ref.modified, ref.status), previous)
            delivery.add_done_callback(self._push_done)
            future = delivery
        self.stats[f"produced_{source}"] += 1
        return future

    def _push_done(self, delivery: asyncio.Future[Any]) -> None:
        external_id, claimed, previous = self._pushing.pop(delivery)
        if delivery.cancelled() or delivery.exception() is not None:
            self.seen.release_claim(external_id, claimed, previous)  # the platform's retry or the pull brings it

    async def _pushes_delivered(self) -> None:
        """Wait for the pushes in flight now (the window may have skipped their orders as produced)."""
        results = await asyncio.gather(*self._pushing, return_exceptions=True)
        if any(isinstance(r, BaseException) for r in results):
            raise PushNotDelivered("a push did not reach the broker: its order is listed again")

    def _acknowledged(self, cursor: Cursor) -> Cursor:
        """`cursor` with the claims of pushes still in flight replaced by what was there before."""
        seen = dict(cursor.seen)
        for external_id, claimed, previous in self._pushing.values():
            if seen.get(external_id) == claimed:
                if previous is None:
                    seen.pop(external_id)
                else:
                    seen[external_id] = previous
        return Cursor(cursor.since, seen)

    # ------------------------------------------------------------------ pulling
    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await self.pull_once()
            except Exception as exc:  # noqa: BLE001 — a failed window is retried at the next poll
                self.stats["failed_windows"] += 1
                log.warning("connector.window_failed", shop=self.key, error=f"{type(exc).__name__}: {exc}"[:300])
                busy = False
            if not busy:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_s)
                except TimeoutError:
                    pass

    async def pull_once(self) -> bool:
        """List one window. False when the cursor is already within `settle_s` of now."""
        window = next_window(self.cursor, now=time.time(), overlap_s=self.shop.overlap_s, settle_s=self.settle_s,
                             max_span_s=self.api.max_span_s, resolution_s=self.api.resolution_s)
        if window is None:
            return False
        claims: list[Any] = []
        futures: list[Awaitable[Any]] = []
        began = time.monotonic()
        try:
            await self._list(window, futures, claims)
            await asyncio.gather(*futures)
            await self._pushes_delivered()
        except BaseException:
            # give back only the claims whose envelope did not reach the broker: the others
            # are produced, and the window's retry must not produce them again
            delivered = await asyncio.gather(*(f for _i, _p, f in claims), return_exceptions=True)
            for (external_id, previous, _f), result in reversed(list(zip(claims, delivered, strict=True))):
                if isinstance(result, BaseException):
                    self.seen.release(external_id, previous)
            raise
        self.stats["windows"] += 1
        self.max_window_s = max(self.max_window_s, time.monotonic() - began)
        self.cursor = self._acknowledged(self.cursor.advanced(window.end, self.seen, self.shop.overlap_s, self.keep_s))
        await self.store.save(self.key, self.cursor)
        # caught up: the next window would start inside the settle time
        return time.time() - self.settle_s - self.cursor.since > self.poll_s

    async def checkpoint(self) -> None:
        """Save the cursor with every claim made since (the caller made sure they are all on the broker)."""
        horizon = self.cursor.since - self.shop.overlap_s
        self.cursor = self._acknowledged(
            Cursor(self.cursor.since, {k: v for k, v in self.seen.snapshot().items() if v[0] >= horizon}))
        await self.store.save(self.key, self.cursor)

    async def _list(self, window: Window, futures: list[Awaitable[Any]], claims: list[Any]) -> None:
        api, shop = self.api, self.shop
        token: str | None = None
        first = True
        while first or token is not None:
            call = api.list_call(app_key=shop.app_key, token=shop.token, window=window, page_token=token,
                                 page_size=min(shop.page_size, api.max_page_size))
            page = await self.client.call(call, api.read_list)
            self.stats["pages"] += 1
            if first and api.paging == "pages" and page.next_token is not None and window.splittable(api.resolution_s):
                self.stats["splits"] += 1
                for half in window.split(api.resolution_s):
                    await self._list(half, futures, claims)
                return
            first = False
            await self._take(page.refs, futures, claims)
            token = page.next_token

    async def _take(self, refs: list[OrderRef], futures: list[Awaitable[Any]], claims: list[Any]) -> None:
        wanted: list[OrderRef] = []
        for ref in refs:
            if ref.modified is not None and ref.status is not None and not self.seen.is_new(
                    ref.external_id, ref.modified, ref.status):
                self.stats["unchanged"] += 1
                continue
            wanted.append(ref)
        if self.api.needs_detail:
            payloads = await asyncio.gather(*(self._detail(ref.external_id) for ref in wanted))
            wanted = [self.api.ref(p) for p in payloads]
        for ref in wanted:
            assert ref.payload is not None
            future = await self.offer(ref, ref.payload, claims, "pull")
            if future is not None:
                futures.append(future)

    async def _detail(self, external_id: str) -> dict[str, Any]:
        async with self._details:
            self.stats["details"] += 1
            call = self.api.detail_call(app_key=self.shop.app_key, token=self.shop.token, external_id=external_id)
            return await self.client.call(call, self.api.read_detail)
