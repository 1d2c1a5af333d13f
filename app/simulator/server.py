"""The platform simulator: the order APIs of every channel on one local aiohttp server.

``/{channel}/…`` answers that platform's list and detail calls over the `World` as it
stands at the moment of the request (orders appear, change and become visible over
time), with the platform's paging, its own rate-limit error above the per-app and
per-shop limits (counted over any one-second window, rejected calls included), a share
of 5xx answers and of calls that hang past the client's timeout, and pushes every
visible change (except the dropped share) to ``{hook_url}/hooks/{channel}/{shop}``
signed the platform's way. Faults are drawn from a hash of the seed and the request, so
a run's faults do not depend on timing. ``GET /_sim/truth`` is every order and change;
``GET /_sim/stats`` the counters and the highest request rates seen.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from app.logs import get_logger
from app.platforms import api_for
from app.platforms.base import ApiCall, ApiError, ListQuery, PlatformApi, Reply, Window
from app.simulator.render import modified_time, render
from app.simulator.world import SimOrder, World

log = get_logger("orderhub.simulator")
PUSH_CONCURRENCY = 128


@dataclass(frozen=True)
class SimOptions:
    app_rps: dict[str, float] = field(default_factory=dict)  # channel → limit over the app's shops
    shop_rps: dict[str, float] = field(default_factory=dict)  # channel → limit per shop
    error_share: float = 0.02
    timeout_share: float = 0.01
    hang_s: float = 6.0
    hook_url: str = ""
    push_delay_s: float = 0.0


def app_key(channel: str) -> str:
    return f"{channel}-app"


def app_secret(channel: str, seed: int) -> str:
    return f"{channel}-secret-{seed}"


class _Window1s:
    """Arrival times of the last second; the highest count ever seen."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.max = 0

    def arrive(self, now: float) -> int:
        self.times.append(now)
        while self.times and self.times[0] <= now - 1.0:
            self.times.popleft()
        self.max = max(self.max, len(self.times))
        return len(self.times)


def _route(api: PlatformApi, detail: bool) -> tuple[str, str | None]:
    if detail:
        call = api.detail_call(app_key="", token="", external_id="1")
    else:
        call = api.list_call(app_key="", token="", window=Window(0, 0), page_token=None, page_size=1)
    return call.path, call.query.get("method") or call.query.get("type")


class Simulator:
    def __init__(self, world: World, options: SimOptions, *, start: float | None = None) -> None:
        self.world = world
        self.options = options
        self.start = time.time() if start is None else start
        self.shops: dict[tuple[str, str], dict[str, SimOrder]] = {
            key: {o.external_id: o for o in orders} for key, orders in world.by_shop().items()}
        self.stats: dict[str, Counter[str]] = {c: Counter() for c in world.spec.channels}
        self._app_windows: dict[str, _Window1s] = {c: _Window1s() for c in world.spec.channels}
        self._shop_windows: dict[tuple[str, str], _Window1s] = {k: _Window1s() for k in self.shops}
        self._seen_requests: Counter[str] = Counter()
        self._routes = {}
        for channel in world.spec.channels:
            api = api_for(channel)
            self._routes[channel] = (_route(api, False), _route(api, True) if api.needs_detail else None)
        self._pusher: asyncio.Task[None] | None = None
        self.pushes_done = asyncio.Event()
        self._rendered: dict[tuple[int, int], dict[str, Any]] = {}
        self.push_delays: dict[str, list[float]] = {c: [] for c in world.spec.channels}  # visible → answered, s

    def render(self, order: SimOrder, index: int) -> dict[str, Any]:
        """The order's JSON at change `index` (rendered once: lists show the same states again and again)."""
        key = (order.number, index)
        payload = self._rendered.get(key)
        if payload is None:
            payload = self._rendered[key] = render(self.world, order, index, self.start)
            # rendered states live for the whole run: keep them out of the cyclic collector's full
            # passes, whose pauses (0.5 s at 5000 orders on a loaded machine) stall the loop, and
            # requests that queued meanwhile would be counted as one burst by the rate windows
            gc.freeze()
        return payload

    # ------------------------------------------------------------------ web app
    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.add_routes([web.get("/_sim/truth", self._truth), web.get("/_sim/stats", self._stats),
                        web.route("*", "/{channel}/{tail:.*}", self._api)])
        return app

    def start_pushing(self) -> None:
        if self.options.hook_url and self._pusher is None:
            self._pusher = asyncio.create_task(self._push_all())
        elif not self.options.hook_url:
            self.pushes_done.set()

    async def stop_pushing(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            await asyncio.gather(self._pusher, return_exceptions=True)

    def now(self) -> float:
        """Seconds since the run started (the world's clock)."""
        return time.time() - self.start

    # ------------------------------------------------------------------ API
    def _fault(self, call: ApiCall) -> str | None:
        identity = f"{call.path}?{sorted(call.query.items())}#{orjson.dumps(call.body).decode() if call.body else ''}"
        self._seen_requests[identity] += 1
        digest = hashlib.sha256(f"{self.world.spec.seed}|{identity}|{self._seen_requests[identity]}".encode()).digest()
        roll = int.from_bytes(digest[:8], "big") / 2**64
        if roll < self.options.timeout_share:
            return "timeout"
        if roll < self.options.timeout_share + self.options.error_share:
            return "error"
        return None

    def _shop_of(self, channel: str, token: str) -> str | None:
        return token if (channel, token) in self.shops else None

    async def _api(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        if channel not in self._routes:
            return web.json_response({"error": f"no platform {channel!r} here"}, status=404)
        api = api_for(channel)
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        call = ApiCall(request.method, "/" + request.match_info["tail"], query=dict(request.query),
                       headers=dict(request.headers), body=body)
        (list_path, list_method), detail_route = self._routes[channel]
        discriminator = call.query.get("method") or call.query.get("type")
        is_list = call.path == list_path and (list_method is None or discriminator == list_method)
        is_detail = detail_route is not None and call.path == detail_route[0] and (
            detail_route[1] is None or discriminator == detail_route[1])
        if not (is_list or is_detail):
            return web.json_response({"error": f"{channel}: unknown call {call.method} {call.path}"}, status=404)
        stats = self.stats[channel]
        try:
            if is_list:
                query = api.list_query(call)
                token = query.token
            else:
                token, external_id = api.detail_query(call)
        except ApiError as exc:
            stats["bad_requests"] += 1
            return web.json_response({"error": str(exc)}, status=400)
        shop_id = self._shop_of(channel, token)
        if shop_id is None:
            stats["unauthorized"] += 1
            return web.json_response({"error": "invalid access token / session"}, status=401)
        now = time.monotonic()
        stats["requests"] += 1
        over_app = self._app_windows[channel].arrive(now) > self.options.app_rps.get(channel, float("inf"))
        over_shop = self._shop_windows[(channel, shop_id)].arrive(now) > self.options.shop_rps.get(channel, float("inf"))
        if over_app or over_shop:
            stats["rate_limited"] += 1
            return self._respond(api.rate_limited_reply())
        fault = self._fault(call)
        if fault == "timeout":
            stats["timeouts"] += 1
            await asyncio.sleep(self.options.hang_s)
            return self._respond(api.server_error_reply(504))
        if fault == "error":
            stats["errors"] += 1
            return self._respond(api.server_error_reply((500, 502, 503)[stats["errors"] % 3]))
        if is_list:
            return self._respond(self._list(api, channel, shop_id, query))
        stats["details"] += 1
        return self._respond(self._detail(api, channel, shop_id, external_id))

    def _respond(self, reply: Reply) -> web.Response:
        return web.Response(status=reply.status, body=orjson.dumps(reply.body), headers=reply.headers,
                            content_type="application/json")

    def _visible(self, channel: str, shop_id: str, window: Window) -> list[tuple[float, str, SimOrder, int]]:
        t = self.now()
        found = []
        for order in self.shops[(channel, shop_id)].values():
            index = order.visible_index(t)
            if index is None:
                continue
            modified = modified_time(self.world, order, index, self.start)
            if window.contains(modified):
                found.append((modified, order.external_id, order, index))
        found.sort(key=lambda x: (x[0], x[1]))
        return found

    def _list(self, api: PlatformApi, channel: str, shop_id: str, query: ListQuery) -> Reply:
        self.stats[channel]["lists"] += 1
        found = self._visible(channel, shop_id, query.window)
        size = query.page_size
        if api.paging == "pages":
            first = getattr(api, "first_page", 1)
            page = int(query.page_token or first)
            chunk = found[(page - first) * size:(page - first + 1) * size]
            next_token = str(page + 1) if (page - first + 1) * size < len(found) else None
        else:  # keyset: the token is the last (modified, id) returned
            if query.page_token:
                at, _, last_id = query.page_token.partition(":")
                key = (float(at), last_id)
                found_after = [f for f in found if (f[0], f[1]) > key]
            else:
                found_after = found
            chunk = found_after[:size]
            next_token = f"{chunk[-1][0]!r}:{chunk[-1][1]}" if len(found_after) > size else None
        orders = [self.render(order, index) for _m, _id, order, index in chunk]
        return api.list_reply(orders, query=query, next_token=next_token, total=len(found))

    def _detail(self, api: PlatformApi, channel: str, shop_id: str, external_id: str) -> Reply:
        order = self.shops[(channel, shop_id)].get(external_id)
        index = order.visible_index(self.now()) if order is not None else None
        if order is None or index is None:
            return api.detail_reply(None)
        return api.detail_reply(self.render(order, index))

    # ------------------------------------------------------------------ pushes
    async def _push_all(self) -> None:
        """Push every change when it becomes visible (the dropped ones never)."""
        timeline = sorted(((c.visible_at + self.options.push_delay_s, o, c.seq) for o in self.world.orders
                           for c in o.changes), key=lambda x: (x[0], x[1].number, x[2]))
        semaphore = asyncio.Semaphore(PUSH_CONCURRENCY)
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession() as session:
            for at, order, seq in timeline:
                delay = at - self.now()
                if delay > 0:
                    await asyncio.sleep(delay)
                stats = self.stats[order.channel]
                if not order.changes[seq].pushed:
                    stats["pushes_dropped"] += 1
                    continue
                await semaphore.acquire()
                task = asyncio.create_task(self._push(session, order, seq))
                task.add_done_callback(lambda _t: semaphore.release())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
        self.pushes_done.set()

    async def _push(self, session: aiohttp.ClientSession, order: SimOrder, seq: int) -> None:
        api = api_for(order.channel)
        stats = self.stats[order.channel]
        payload = self.render(order, seq)
        url = f"{self.options.hook_url.rstrip('/')}/hooks/{order.channel}/{order.shop_id}"
        for attempt in range(4):  # platforms retry a failed push a few times
            call = api.push_call(payload, app_key=app_key(order.channel),
                                 secret=app_secret(order.channel, self.world.spec.seed),
                                 msg_id=f"{order.key}#{seq}", now=time.time())
            try:
                async with session.post(url, params=call.query or None, data=call.raw, headers=call.headers,
                                        timeout=aiohttp.ClientTimeout(total=5)) as response:
                    await response.read()
                    if response.status < 300:
                        stats["pushes_sent"] += 1
                        self.push_delays[order.channel].append(self.now() - order.changes[seq].visible_at)
                        return
                    if response.status < 500:
                        stats["pushes_refused"] += 1
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2 * 2**attempt)
        stats["pushes_failed"] += 1

    # ------------------------------------------------------------------ ground truth and stats
    def truth(self) -> dict[str, Any]:
        t = self.now()
        orders = []
        for o in self.world.orders:
            orders.append({
                "channel": o.channel, "shop_id": o.shop_id, "external_id": o.external_id, "key": o.key,
                "oli": o.oli, "changes": [
                    {"seq": c.seq, "state": c.state, "at": round(self.start + c.at, 3),
                     "visible_at": round(self.start + c.visible_at, 3),
                     "modified": modified_time(self.world, o, i, self.start), "pushed": c.pushed,
                     "made": c.at <= t} for i, c in enumerate(o.changes)]})
        spec = self.world.spec
        return {"start": self.start, "seed": spec.seed, "channels": list(spec.channels),
                "skew_s": spec.skew_s, "late_write_max_s": spec.late_write_max_s, "orders": orders}

    def stats_summary(self) -> dict[str, Any]:
        last = max((c.visible_at for o in self.world.orders for c in o.changes), default=0.0)
        channels = {}
        for channel in self.world.spec.channels:
            shop_windows = [w for (c, _s), w in self._shop_windows.items() if c == channel]
            channels[channel] = {
                **dict(self.stats[channel]),
                "max_rps": self._app_windows[channel].max,
                "limit_rps": self.options.app_rps.get(channel),
                "max_shop_rps": max((w.max for w in shop_windows), default=0),
                "shop_limit_rps": self.options.shop_rps.get(channel),
                "changes": sum(len(o.changes) for o in self.world.orders if o.channel == channel),
                "push_delay_ms": _percentiles(self.push_delays[channel]),
            }
        return {"elapsed_s": round(self.now(), 1), "world_done": self.now() > last,
                "pushes_done": self.pushes_done.is_set(), "channels": channels}

    async def _truth(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(self.truth()), content_type="application/json")

    async def _stats(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(self.stats_summary()), content_type="application/json")


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0}
    ordered = sorted(values)
    pick = lambda p: ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]  # noqa: E731
    return {"p50": round(pick(50) * 1000, 1), "p99": round(pick(99) * 1000, 1)}


def shops_file(world: World, base_url: str, options: SimOptions) -> str:
    """A shops file (YAML) for `orderhub connect` with every shop of this simulator."""
    lines = ["# written by `orderhub simulate`: every shop of the simulated platforms", "shops:"]
    for channel in world.spec.channels:
        for shop_id in world.spec.shops(channel):
            lines += [f"  - channel: {channel}", f"    shop_id: {shop_id}", f"    base_url: {base_url}/{channel}",
                      f"    app_key: {app_key(channel)}", f"    app_secret: {app_secret(channel, world.spec.seed)}",
                      f"    token: {shop_id}"]
            if channel in options.shop_rps:
                lines.append(f"    rps: {options.shop_rps[channel]:g}")
            if channel in options.app_rps:
                lines.append(f"    app_rps: {options.app_rps[channel]:g}")
    return "\n".join(lines) + "\n"
