"""Connectors against the platform simulator and a real broker (no Kafka mocks).

`orderhub simulate` and `orderhub connect` run as their own processes, as in production:
the simulator counts requests per second on its own clock and the connectors pace on
theirs, undisturbed by this test's reading of ~20,000 envelopes. The test compares the
simulator's ground truth (`GET /_sim/truth`) with what reached `channel-orders`.

The first test is the issue's full size: ORDERHUB_CONNECTOR_TEST_ORDERS (default 5000)
orders over every channel, created within ORDERHUB_CONNECTOR_TEST_DURATION seconds
(default 60: time is compressed, the order count is not; changes go on to 1.5x). The
others use a fifth of the orders. Connectors only produce (no transactions), so the
file runs on the embedded broker only (`embedded_only`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from aiokafka import AIOKafkaConsumer

from app.admin import topic_partitions
from app.brokers import free_port
from app.platforms import CHANNELS, api_for
from app.simulator.render import render
from app.simulator.server import SimOptions, app_key, app_secret, shops_file
from app.simulator.world import WorldSpec, generate_world
from app.topic_names import TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]

ORDERS = int(os.environ.get("ORDERHUB_CONNECTOR_TEST_ORDERS", "5000"))
DURATION = float(os.environ.get("ORDERHUB_CONNECTOR_TEST_DURATION", "60"))
#: channels whose list names orders only (a detail call per changed order; WeChat: per listed id)
DETAILED = ("taobao", "tmall", "wechat")
SHOP_RPS = {c: 4.0 for c in CHANNELS} | {"taobao": 10.0, "tmall": 10.0, "wechat": 16.0}
APP_RPS = {c: 6.0 for c in CHANNELS} | {"taobao": 16.0, "tmall": 16.0, "wechat": 24.0}
#: WeChat re-fetches every id the overlap lists again: a shorter overlap (it has no clock skew)
OVERLAP_S = {c: 8.0 for c in CHANNELS} | {"wechat": 4.0}
#: The connectors send at most this share of a limit. Requests leave evenly spaced, but on a
#: loaded 2-core machine the processes stall, and requests delayed on the way arrive bunched:
#: at 90% (the default) one second holds limit + 1 arrivals after 0.11 s of bunching, at 80%
#: after 0.25 s, at 70% after 0.43 s. At 90% the test passed at load average 11, with seconds at
#: exactly the limit; at 80% it failed once (7 of 6) with the integration stages side by side
#: (four pytest processes on two cores): 70% (docs/connectors.md, "Limits").
HEADROOM_PCT = 70


class Rig:
    """`orderhub simulate` and `orderhub connect` in their own processes, and a reader of the topics."""

    def __init__(self, bootstrap: str, tmp: Path, *, orders: int, duration: float, seed: int,
                 skew: str = "", late_max: float = 2.0, push_drop: float = 0.0, error_share: float = 0.0,
                 timeout_share: float = 0.0, hang: float = 1.5, app_rps: dict[str, float] | None = None,
                 shop_rps: dict[str, float] | None = None, hooks: bool = False, sim_pushes: bool = True,
                 page_size: int = 100, connector_app_rps: dict[str, float] | None = None) -> None:
        self.bootstrap = bootstrap
        self.tmp = tmp
        self.seed = seed
        self.names = TopicNames(f"it-conn-{uuid.uuid4().hex[:8]}")
        self.app_rps = app_rps or APP_RPS
        self.shop_rps = shop_rps or SHOP_RPS
        self.web_port = free_port()  # connect's webhooks and /connectors/stats
        self.sim_port = free_port()
        self.page_size = page_size
        self.connector_app_rps = connector_app_rps or {}
        self.shops_path = tmp / f"shops-{seed}.yaml"
        self.connect_log = tmp / f"connect-{seed}.log"
        self.spec = WorldSpec(channels=CHANNELS, orders=orders, duration_s=duration, seed=seed)
        rates = lambda r: ",".join(f"{c}={v:g}" for c, v in r.items())  # noqa: E731
        self.command = [sys.executable, "-m", "app.cli", "simulate", "--orders", str(orders), "--duration",
                        str(duration), "--seed", str(seed), "--skew", skew, "--late-max", str(late_max),
                        "--push-drop", str(push_drop), "--error-share", str(error_share),
                        "--timeout-share", str(timeout_share), "--hang", str(hang), "--app-rps",
                        rates(self.app_rps), "--shop-rps", rates(self.shop_rps), "--port", str(self.sim_port)]
        if hooks and sim_pushes:
            self.command += ["--hook-url", f"http://127.0.0.1:{self.web_port}"]
        self.url = f"http://127.0.0.1:{self.sim_port}"
        self.proc: asyncio.subprocess.Process | None = None
        self.connect: asyncio.subprocess.Process | None = None
        self.envelopes: list[tuple[str, dict[str, Any], float]] = []  # key, envelope, broker timestamp
        self._produced: dict[str, list[tuple[float, str]]] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._write_shops()

    def _write_shops(self) -> None:
        """The simulator's shops file (written before it starts, so that the connectors listen
        before its first push), with this test's page size, overlaps and connector-side limits."""
        text = shops_file(generate_world(dataclasses.replace(self.spec, orders=0)), self.url,
                          SimOptions(app_rps=self.app_rps, shop_rps=self.shop_rps))
        doc = yaml.safe_load(text)
        for shop in doc["shops"]:
            shop["page_size"] = self.page_size
            shop["overlap_s"] = OVERLAP_S[shop["channel"]]
            shop["app_rps"] = self.connector_app_rps.get(shop["channel"], shop["app_rps"])
        self.shops_path.write_text(yaml.safe_dump(doc), encoding="utf-8")

    async def start_simulator(self) -> None:
        with (self.tmp / "sim.log").open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(*self.command, stdout=asyncio.subprocess.PIPE,
                                                             stderr=log)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=60)
        assert orjson.loads(line)["url"] == self.url
        self.truth = await self._get("/_sim/truth")
        self.orders = self.truth["orders"]
        self.changes = sum(len(o["changes"]) for o in self.orders)

    async def start_connect(self, *, pull: bool = True) -> None:
        env = {**os.environ, "ORDERHUB_BROKER": self.bootstrap, "ORDERHUB_TOPIC_PREFIX": self.names.prefix,
               "ORDERHUB_PARTITIONS": "4", "ORDERHUB_CONNECTOR_POLL_MS": "1000",
               "ORDERHUB_CONNECTOR_SETTLE_MS": "1000", "ORDERHUB_CONNECTOR_LOOKBACK_S": "30",
               "ORDERHUB_CONNECTOR_TIMEOUT_MS": "1000", "ORDERHUB_CONNECTOR_ATTEMPTS": "8",
               "ORDERHUB_CONNECTOR_HEADROOM_PCT": str(HEADROOM_PCT),
               "ORDERHUB_LOG_FORMAT": "json", "ORDERHUB_LOG_LEVEL": "INFO"}
        command = [sys.executable, "-m", "app.cli", "connect", "--shops", str(self.shops_path), "--web-port",
                   str(self.web_port), *(() if pull else ("--push-only",))]
        with self.connect_log.open("ab") as log:
            self.connect = await asyncio.create_subprocess_exec(*command, env=env, stdout=asyncio.subprocess.PIPE,
                                                                stderr=log)
        assert self.connect.stdout is not None
        line = await asyncio.wait_for(self.connect.stdout.readline(), timeout=60)
        assert line, f"orderhub connect did not start:\n{self.connect_log.read_text()[-2000:]}"

    async def stop_connect(self, sig: signal.Signals = signal.SIGTERM) -> None:
        assert self.connect is not None
        if self.connect.returncode is None:
            self.connect.send_signal(sig)
            try:
                await asyncio.wait_for(self.connect.wait(), timeout=40)
            except TimeoutError:
                self.connect.kill()
                await self.connect.wait()
        self.connect = None

    async def _get(self, path: str, base: str | None = None) -> Any:
        async with aiohttp.ClientSession() as session, session.get((base or self.url) + path) as response:
            return orjson.loads(await response.read())

    async def stats(self) -> dict[str, Any]:
        return await self._get("/_sim/stats")  # type: ignore[no-any-return]

    async def connector_stats(self) -> dict[str, Any]:
        return await self._get("/connectors/stats", f"http://127.0.0.1:{self.web_port}")  # type: ignore[no-any-return]

    async def read(self, topic: str) -> list[tuple[str, dict[str, Any], float]]:
        """Everything on `topic` now."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            return await self._drain(consumer, topic)
        finally:
            await consumer.stop()

    async def _drain(self, consumer: AIOKafkaConsumer, topic: str, *, assign: bool = True
                     ) -> list[tuple[str, dict[str, Any], float]]:
        if assign:
            tps = await topic_partitions(consumer, [topic])  # full metadata: Apache Kafka answers
            assert tps, f"topic {topic} does not exist"  # only for topics a client already tracks
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
        tps = list(consumer.assignment())
        ends = await consumer.end_offsets(tps)
        out = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend((r.key.decode(), orjson.loads(r.value), r.timestamp / 1000) for r in records)
        return out

    async def poll(self) -> None:
        """Read what reached `channel-orders` since the last poll."""
        first = self._consumer is None
        if first:
            self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
            await self._consumer.start()
        assert self._consumer is not None
        for key, envelope, ts in await self._drain(self._consumer, self.names.channel_orders, assign=first):
            self.envelopes.append((key, envelope, ts))
            ref = api_for(envelope["channel"]).ref(envelope["payload"])
            assert ref.modified is not None and ref.status is not None
            self._produced.setdefault(key, []).append((round(ref.modified, 3), ref.status))

    async def wait_cursors(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until every shop's cursor is on `connector-cursors`."""
        wanted = {f"{c}:{shop}" for c in self.spec.channels for shop in self.spec.shops(c)}
        deadline = time.monotonic() + timeout
        while True:
            cursors = {k for k, _v, _t in await self.read(self.names.connector_cursors)}
            if cursors >= wanted:
                return
            assert time.monotonic() < deadline, f"no cursor yet for {sorted(wanted - cursors)}"
            await asyncio.sleep(1.0)

    def missed(self) -> list[str]:
        """Changes with no envelope of the same order at least as new (a later state covers an
        intermediate one that changed again before anyone could list it)."""
        out = []
        for order in self.orders:
            newest = max((m for m, _ in self._produced.get(order["key"], [])), default=None)
            out += [f"{order['key']}#{c['seq']}" for c in order["changes"]
                    if newest is None or newest < round(c["modified"], 3)]
        return out

    def exact(self) -> set[tuple[str, int]]:
        return {(o["key"], c["seq"]) for o in self.orders for c in o["changes"]
                if round(c["modified"], 3) in {m for m, _ in self._produced.get(o["key"], [])}}

    def duplicates(self) -> list[tuple[str, float, str]]:
        """(key, modified, status) produced more than once."""
        counts = Counter((k, m, s) for k, v in self._produced.items() for m, s in v)
        return [state for state, n in counts.items() if n > 1]

    async def wait_complete(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until the platforms are done and every change is covered; the simulator's stats."""
        deadline = time.monotonic() + timeout
        while True:
            await self.poll()
            stats = await self.stats()
            if stats["world_done"] and stats["pushes_done"] and not self.missed():
                await asyncio.sleep(1.5)  # a late duplicate would show up here
                await self.poll()
                return stats
            if time.monotonic() > deadline:
                missed = self.missed()
                connectors = (await self.connector_stats())["channels"] if self.connect else None
                raise AssertionError(f"{len(missed)} changes never reached the topic, e.g. {missed[:5]}; "
                                     f"connectors: {connectors}")
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self.connect is not None:
            await self.stop_connect()
        if self._consumer is not None:
            await self._consumer.stop()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest.fixture
async def rigs(broker, tmp_path: Path):  # type: ignore[no-untyped-def]
    made: list[Rig] = []

    def make(**kwargs: Any) -> Rig:
        rig = Rig(broker.bootstrap, tmp_path, **kwargs)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.close()


async def test_every_change_of_5000_orders_reaches_the_topic_once_within_the_limits_despite_5xx_and_timeouts(rigs) -> None:  # type: ignore[no-untyped-def]
    """The issue's full run: pull only, limits that bite, pages small enough to split windows,
    2% 5xx, 1% hanging calls, clock skew; JD's platform limit is lower than the connectors
    were told, so its rate-limit answer must slow them down."""
    rig = rigs(orders=ORDERS, duration=DURATION, seed=11, skew="douyin=2,jd=-3,kuaishou=1", error_share=0.02,
               timeout_share=0.01, app_rps={**APP_RPS, "jd": 3.0}, page_size=50, connector_app_rps={"jd": 6.0})
    await rig.start_connect()
    await rig.start_simulator()
    sim = await rig.wait_complete(timeout=DURATION * 1.5 + 90)

    assert rig.duplicates() == [], rig.duplicates()[:5]  # an unchanged order is never produced again
    stats = sim["channels"]
    for channel in CHANNELS:
        s = stats[channel]
        assert s["max_shop_rps"] <= SHOP_RPS[channel], (channel, s)
        if channel != "jd":
            assert s["max_rps"] <= APP_RPS[channel], (channel, s)
            assert s.get("rate_limited", 0) == 0, (channel, s)
    total: Counter[str] = Counter()
    for s in stats.values():
        total.update({k: v for k, v in s.items() if isinstance(v, int)})
    assert total["errors"] > 0 and total["timeouts"] > 0
    assert stats["jd"]["rate_limited"] > 0  # the platform's limit was lower than configured
    connectors = (await rig.connector_stats())["channels"]
    assert connectors["jd"]["rate_limited"] > 0
    assert sum(c.get("splits", 0) for c in connectors.values()) > 0  # windows wider than one page were split
    # the limits bit: the detail channels (a call per changed order) ran at their pace
    for channel in DETAILED:
        assert stats[channel]["max_rps"] >= 0.8 * HEADROOM_PCT / 100 * APP_RPS[channel], (channel, stats[channel])
    # every order's last state arrived as itself; an intermediate state that changed again before
    # a list could show it is covered by the later one (pushes carry those: the next test)
    assert {(o["key"], len(o["changes"]) - 1) for o in rig.orders} <= rig.exact()
    assert rig.changes > 2.5 * ORDERS  # orders changed status over time


async def test_push_and_pull_together_every_change_once_and_dropped_pushes_caught_within_a_window(rigs) -> None:  # type: ignore[no-untyped-def]
    rig = rigs(orders=ORDERS // 5, duration=DURATION / 5, seed=12, skew="douyin=2,jd=-3", push_drop=0.1,
               error_share=0.02, hooks=True)
    await rig.start_connect()
    await rig.start_simulator()
    await rig.wait_complete(timeout=DURATION / 5 * 1.5 + 90)

    assert rig.duplicates() == [], rig.duplicates()[:5]
    exact = rig.exact()
    pushed = {(o["key"], c["seq"]) for o in rig.orders for c in o["changes"] if c["pushed"]}
    service = await rig.connector_stats()
    # every pushed change arrived as itself, unless its push came after a newer state of the
    # order was produced (then it is stale and dropped: the workers would ignore it anyway)
    stale = sum(c.get("stale_push", 0) for c in service["channels"].values())
    assert len(pushed - exact) <= stale
    # a dropped push is caught by the pull: a change that becomes visible while a window runs is
    # listed by the next one, so within settle + poll + two windows (on WeChat every listed id
    # costs a detail call under the limit: its windows are the longest)
    windows = service["rates"]
    arrival = {}
    for key, envelope, ts in rig.envelopes:
        ref = api_for(envelope["channel"]).ref(envelope["payload"])
        arrival[(key, round(ref.modified or 0, 3))] = ts
    late = []
    dropped = 0
    for order in rig.orders:
        for change in order["changes"]:
            if change["pushed"]:
                continue
            when = arrival.get((order["key"], round(change["modified"], 3)))
            if when is None:
                continue  # changed again before any list showed it: covered by the later state
            dropped += 1
            bound = 1.0 + 1.0 + 2 * windows[f"{order['channel']}/{order['shop_id']}"]["max_window_s"] + 1.0
            if when - change["visible_at"] > bound:
                late.append((order["key"], change["seq"], round(when - change["visible_at"], 1)))
    assert dropped > 0 and not late, late
    accepted = sum(c.get("pushes_accepted", 0) for c in service["channels"].values())
    assert accepted >= len(pushed)  # platform retries of slow answers are accepted and deduplicated


async def test_a_connector_killed_mid_run_resumes_from_its_cursor_without_gap_or_flood(rigs) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL `orderhub connect` while orders are created and changed, restart it: the cursor
    resumes every shop (no gap), and what the killed process produced after its last checkpoint
    is read back from the topic instead of being produced again (no flood, no duplicate)."""
    duration = max(20.0, DURATION / 3)
    rig = rigs(orders=ORDERS // 5, duration=duration, seed=13, hooks=True)
    await rig.start_connect()
    await rig.start_simulator()
    await asyncio.sleep(duration / 3)
    await rig.wait_cursors(timeout=60)  # every shop has checkpointed (slow on a loaded machine)
    assert not (await rig.stats())["world_done"], "the kill came after the platforms were done"
    await rig.stop_connect(signal.SIGKILL)  # mid-run: no checkpoint, windows and pushes cut off
    await rig.poll()
    before = len(rig.envelopes)
    await asyncio.sleep(4.0)  # changes happen (and pushes fail) while no connector runs
    await rig.start_connect()
    await rig.wait_complete(timeout=duration * 1.5 + 90)
    assert before > 0 and len(rig.envelopes) > before
    assert rig.duplicates() == [], rig.duplicates()[:5]  # nothing produced twice across the kill
    assert {(o["key"], len(o["changes"]) - 1) for o in rig.orders} <= rig.exact()


async def test_webhooks_accept_the_valid_and_refuse_tampered_foreign_and_old_messages(rigs) -> None:  # type: ignore[no-untyped-def]
    spec = WorldSpec(channels=CHANNELS, orders=16, duration_s=1.0, seed=14)
    world = generate_world(spec)
    rig = rigs(orders=16, duration=1.0, seed=14, hooks=True, sim_pushes=False)
    await rig.start_connect(pull=False)  # what reaches the topic came by webhook
    await rig.start_simulator()
    url = f"http://127.0.0.1:{rig.web_port}"
    statuses: dict[str, list[int]] = {}
    async with aiohttp.ClientSession() as session:

        async def post(call, channel: str, shop: str) -> int:  # type: ignore[no-untyped-def]
            async with session.post(f"{url}/hooks/{channel}/{shop}", params=call.query or None, data=call.raw,
                                    headers=call.headers) as response:
                return response.status

        for channel in CHANNELS:
            order = next(o for o in world.orders if o.channel == channel)
            api = api_for(channel)
            payload = render(world, order, 0, time.time() + 1000)  # not a state the simulator pushes
            secret = app_secret(channel, spec.seed)

            def push(secret: str = secret, now: float | None = None, msg_id: str = f"{order.key}#test",
                     api=api, payload=payload, channel=channel):  # type: ignore[no-untyped-def]
                return api.push_call(payload, app_key=app_key(channel), secret=secret, msg_id=msg_id,
                                     now=time.time() if now is None else now)

            valid = push()
            assert valid.raw is not None
            tampered = dataclasses.replace(push(msg_id="t"), raw=valid.raw.replace(b"1", b"7", 1))
            statuses[channel] = [
                await post(valid, channel, order.shop_id),
                await post(tampered, channel, order.shop_id),
                await post(push(secret="not-the-secret", msg_id="w"), channel, order.shop_id),
                await post(push(now=time.time() - 3600, msg_id="o"), channel, order.shop_id),  # old timestamp
                await post(valid, channel, order.shop_id),  # the same message again (a retry)
            ]
    assert statuses == {c: [200, 401, 401, 401, 200] for c in CHANNELS}, statuses
    envelopes = [e for _k, e, _t in await rig.read(rig.names.channel_orders)]
    assert Counter(e["channel"] for e in envelopes) == Counter({c: 1 for c in CHANNELS})
    alerts = [a for _k, a, _t in await rig.read(rig.names.alerts)]
    assert len(alerts) == 3 * len(CHANNELS) and {a["kind"] for a in alerts} == {"webhook_rejected"}
