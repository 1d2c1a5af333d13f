"""Webhook receivers: ``POST /hooks/{channel}/{shop}`` for the platforms' push messages.

The message is verified with the shop's secret by the platform's own scheme
(app/platforms); a bad signature, a body that does not match it, another secret, a
signed timestamp outside ``ORDERHUB_HOOK_MAX_AGE_S`` is answered 401 and raised as an
alert on `<prefix>.alerts` (kind ``webhook_rejected``); nothing is produced. A message id
handled before (the platform retrying after a slow answer) is acknowledged and not
produced again. A verified message is produced as an envelope (deduplicated with
the shop's pull) and answered once the broker has it: a few milliseconds, well inside
the platforms' push deadlines (a few seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from app.connectors.cursor import MessageIds
from app.connectors.puller import ShopConnector
from app.domain.errors import OrderhubError
from app.logs import get_logger
from app.platforms.base import ApiCall, SignatureError

log = get_logger("orderhub.hooks")
MAX_BODY_BYTES = 512 * 1024
ROUTE = "/hooks/{channel}/{shop}"


class HookReceiver:
    def __init__(self, shops: dict[tuple[str, str], ShopConnector], *, max_age_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._shops = shops
        self._max_age_s = max_age_s
        self._clock = clock
        self._ids: dict[tuple[str, str], MessageIds] = {key: MessageIds() for key in shops}

    def routes(self) -> list[web.RouteDef]:
        return [web.post(ROUTE, self.handle)]

    async def _reject(self, connector: ShopConnector, reason: str) -> web.Response:
        connector.stats["pushes_rejected"] += 1
        detail = f"{connector.shop.channel}/{connector.shop.shop_id}: {reason}"
        log.warning("webhook.rejected", channel=connector.shop.channel, shop=connector.shop.shop_id, reason=reason)
        await connector.outbox.alert("webhook_rejected", detail)
        return web.json_response({"code": 401, "msg": reason}, status=401)

    async def handle(self, request: web.Request) -> web.Response:
        key = (request.match_info["channel"], request.match_info["shop"])
        connector = self._shops.get(key)
        if connector is None:
            return web.json_response({"code": 404, "msg": f"no shop {key[0]}/{key[1]} here"}, status=404)
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"code": 413, "msg": "message too large"}, status=413)
        raw = await request.read()
        call = ApiCall(request.method, request.path, query=dict(request.query), headers=dict(request.headers), raw=raw)
        shop = connector.shop
        try:
            pushed = connector.api.read_push(call, app_key=shop.app_key, secret=shop.app_secret,
                                             now=self._clock(), max_age_s=self._max_age_s)
        except SignatureError as exc:
            return await self._reject(connector, str(exc))
        if pushed.msg_id and pushed.msg_id in self._ids[key]:
            # the platform retrying a message whose answer it did not get in time (or a replay
            # inside the age window): it was produced once, so acknowledge it and produce nothing
            connector.stats["pushes_repeated"] += 1
            return web.json_response({"code": 0, "msg": "success"})
        try:
            ref = connector.api.ref(pushed.payload)
        except (KeyError, TypeError, ValueError, OrderhubError) as exc:
            connector.stats["pushes_unreadable"] += 1
            return web.json_response({"code": 400, "msg": f"not an order: {exc}"}, status=400)
        future = await connector.offer(ref, pushed.payload, None, "push")
        if future is not None:
            await future
        if pushed.msg_id:
            self._ids[key].add(pushed.msg_id)
        connector.stats["pushes_accepted"] += 1
        return web.json_response({"code": 0, "msg": "success"})


def stats_view(stats: Callable[[], dict[str, Any]]) -> web.RouteDef:
    async def view(request: web.Request) -> web.Response:
        return web.json_response(stats())

    return web.get("/connectors/stats", view)
