"""The connectors of every configured shop in one process: pull loops, webhooks, stats.

`ConnectorService` creates the connectors' topics, loads the checkpointed cursors,
remembers what reached `channel-orders` after them (so that a restart after `kill -9`
does not produce the last window again), starts one pull loop per shop (shops with
``pull: false`` only hear webhooks), and serves ``POST /hooks/{channel}/{shop}`` and
``GET /connectors/stats`` on 127.0.0.1 (or ORDERHUB_WEB_HOST) unless told not to.
`stop()` lets running windows finish and checkpoints every shop, so a restart neither
misses nor repeats anything.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaProducer

from app.connectors.client import PlatformClient
from app.connectors.cursor import Cursor
from app.connectors.hooks import HookReceiver, stats_view
from app.connectors.kafka import CursorStore, Outbox, ensure_connector_topics, produced_since
from app.connectors.limiter import Pace
from app.connectors.puller import ShopConnector
from app.connectors.shops import ShopConfig
from app.logs import get_logger
from app.platforms import api_for
from app.topic_names import TopicNames

log = get_logger("orderhub.connectors")
#: envelopes are read back from this long before the oldest window start of a resumed shop
#: (the producer's clock may lag the platform's cursor by the clock skew the overlap covers)
RECOVERY_MARGIN_S = 5.0


@dataclass(frozen=True)
class ConnectorOptions:
    bootstrap: str
    names: TopicNames
    partitions: int = 4
    replication: int = 1
    headroom: float = 0.9
    settle_s: float = 1.0
    poll_s: float = 2.0
    lookback_s: float = 3600.0
    timeout_s: float = 5.0
    attempts: int = 6
    hook_max_age_s: float = 300.0
    web_host: str = "127.0.0.1"
    web_port: int | None = 6070  # None: no web server (mount `hook_routes()` elsewhere)
    client: tuple[tuple[str, Any], ...] = ()  # aiokafka security arguments


class ConnectorService:
    def __init__(self, shops: list[ShopConfig], options: ConnectorOptions) -> None:
        self.shops = shops
        self.options = options
        self.connectors: dict[tuple[str, str], ShopConnector] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._producer: AIOKafkaProducer | None = None
        self._session: aiohttp.ClientSession | None = None
        self.receiver: HookReceiver | None = None
        self.web_port: int | None = None

    async def start(self, *, pull: bool = True) -> None:
        o = self.options
        client = dict(o.client)
        await ensure_connector_topics(o.bootstrap, o.names, partitions=o.partitions, replication=o.replication,
                                      **client)
        self._producer = AIOKafkaProducer(bootstrap_servers=o.bootstrap, acks="all", linger_ms=5, **client)
        await self._producer.start()
        outbox = Outbox(self._producer, o.names)
        store = CursorStore(self._producer, o.bootstrap, o.names, **client)
        cursors = await store.load()
        self._session = aiohttp.ClientSession()
        app_paces: dict[tuple[str, str], Pace] = {}
        now = time.time()
        for shop in self.shops:
            app_pace = app_paces.setdefault(shop.app, Pace(f"{shop.channel}/{shop.app_key}", shop.app_rps, o.headroom))
            stats: Counter[str] = Counter()
            client_ = PlatformClient(shop, self._session, Pace(shop.shop_id, shop.rps, o.headroom), app_pace,
                                     attempts=o.attempts, timeout_s=o.timeout_s, stats=stats)
            key = f"{shop.channel}:{shop.shop_id}"
            cursor = cursors.get(key) or Cursor(now - o.lookback_s)
            self.connectors[(shop.channel, shop.shop_id)] = ShopConnector(
                shop, api_for(shop.channel), client_, outbox, store, cursor, settle_s=o.settle_s, poll_s=o.poll_s,
                stats=stats, keep_s=o.hook_max_age_s)
            log.info("connector.shop", shop=key, since=cursor.since, resumed=key in cursors, pull=shop.pull)
        if cursors:
            await self._remember_produced(cursors)
        self.receiver = HookReceiver(self.connectors, max_age_s=o.hook_max_age_s)
        if o.web_port is not None:
            app = web.Application(client_max_size=1024 * 1024)
            app.add_routes([*self.receiver.routes(), stats_view(self.stats)])
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, o.web_host, o.web_port)
            await site.start()
            self.web_port = self._runner.addresses[0][1]
            log.info("connector.web", url=f"http://{o.web_host}:{self.web_port}/hooks/{{channel}}/{{shop}}")
        if pull:
            for connector in self.connectors.values():
                if connector.shop.pull:
                    self._tasks.append(asyncio.create_task(connector.run(self._stop), name=connector.key))

    async def _remember_produced(self, cursors: dict[str, Cursor]) -> None:
        """Claim what reached `channel-orders` after the checkpoints: after `kill -9` the last
        window (and pushes since) are on the broker but not in the checkpoint, and the overlap
        lists them again. Without this they would be produced twice."""
        o = self.options
        overlap = max((s.overlap_s for s in self.shops), default=0.0)
        since = min(c.since for c in cursors.values()) - overlap - RECOVERY_MARGIN_S
        remembered = 0
        for envelope in await produced_since(o.bootstrap, o.names, since, **dict(o.client)):
            connector = self.connectors.get((envelope.get("channel"), envelope.get("shop_id")))
            if connector is None:
                continue
            ref = connector.api.ref(envelope["payload"])
            if ref.modified is not None and ref.status is not None:
                fresh, _previous = connector.seen.claim(ref.external_id, ref.modified, ref.status)
                remembered += fresh
        log.info("connector.remembered", since=since, envelopes=remembered)

    def hook_routes(self) -> list[web.RouteDef]:
        assert self.receiver is not None, "start() first"
        return self.receiver.routes()

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking webhooks, let the running windows finish, checkpoint every shop."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._stop.set()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
            for task in pending:  # their claims may not be on the broker: not checkpointed
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            finished = {t.get_name() for t in done}
        else:
            finished = set()
        if self._producer is not None:
            await self._producer.flush()
            for connector in self.connectors.values():
                if connector.key in finished or not connector.shop.pull:
                    try:
                        await connector.checkpoint()
                    except Exception as exc:  # noqa: BLE001 — the last window's checkpoint stands
                        log.warning("connector.checkpoint_failed", shop=connector.key, error=repr(exc))
            await self._producer.stop()
        if self._session is not None:
            await self._session.close()

    def stats(self) -> dict[str, Any]:
        """Counters per channel (summed over its shops); per shop the paces' current rates and the
        longest window."""
        channels: dict[str, Counter[str]] = {}
        rates: dict[str, dict[str, float]] = {}
        for (channel, shop_id), c in self.connectors.items():
            channels.setdefault(channel, Counter()).update(c.stats)
            shop_pace, app_pace = c.client.paces
            rates[f"{channel}/{shop_id}"] = {"shop_rps": round(shop_pace.adaptive.rate, 2),
                                             "app_rps": round(app_pace.adaptive.rate, 2),
                                             "max_window_s": round(c.max_window_s, 2)}
        return {"channels": {k: dict(v) for k, v in channels.items()}, "rates": rates}
