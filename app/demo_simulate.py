"""`orderhub demo --source simulate`: platform simulator → connectors → worker → WMS, end to end.

Starts the broker (or uses --broker), one worker, `orderhub simulate` (pushing to the
connectors' webhooks, 2% 5xx, 1% hanging calls, clock skew, late writes) over the
channels the worker's adapter registry knows, and `orderhub connect` for every simulated
shop, each in its own process; answers SHIP commands as the warehouse would. When the
platforms are done and every change has reached `order-events` (or on timeout) it prints
a summary whose last line is JSON, with per channel under ``"connectors"``:

- ``platform_changes``: changes the simulator made (creations and status changes)
- ``events``: order events of the channel's orders on `order-events`
- ``missed``: platform changes with no order event of the same order at least as new
- ``duplicates``: envelopes produced twice for an unchanged order (``event_duplicates``:
  order events seen twice, the worker's at-least-once on a broker without transactions)
- ``max_rps`` / ``limit_rps``: the highest request count the simulator saw from the
  channel's app in any one second (rejected calls included) and the app's limit
- ``latency_ms``: platform change (the moment the simulator makes it) → its order event
- ``envelope_latency_ms``: the same change → its envelope on `channel-orders` (the connectors' part)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from app.brokers import free_port
from app.demo import (
    DemoOptions,
    Observed,
    _observe,
    open_broker,
    percentile,
    start_demo_worker,
    stop_worker,
)
from app.platforms import CHANNELS, api_for
from app.settings import Settings, parse_rates
from app.simulator.server import SimOptions, shops_file
from app.simulator.world import WorldSpec, generate_world
from app.topic_names import TopicNames


def demo_channels() -> tuple[str, ...]:
    """The channels the worker can ingest (its adapter registry) that the simulator serves."""
    import app.channels as channels

    build = getattr(channels, "builtin_registry", None) or channels.default_registry
    known = build().channels()
    return tuple(c for c in CHANNELS if c in known)


def _world_spec(opts: DemoOptions, channels: tuple[str, ...]) -> WorldSpec:
    return WorldSpec(channels=channels, orders=opts.orders, duration_s=max(10.0, opts.orders / opts.rate),
                     seed=opts.seed)


async def _start_simulator(opts: DemoOptions, channels: tuple[str, ...], port: int, hook_port: int, workdir: Path,
                           settings: Settings) -> tuple[asyncio.subprocess.Process, str]:
    spec = _world_spec(opts, channels)
    command = [sys.executable, "-m", "app.cli", "simulate", "--orders", str(opts.orders), "--channels",
               ",".join(channels), "--duration", f"{spec.duration_s:g}", "--seed", str(opts.seed), "--hook-url",
               f"http://127.0.0.1:{hook_port}", "--port", str(port), "--error-share", "0.02",
               "--timeout-share", "0.01", "--hang", "3", "--late-max", "0.5", "--push-drop", "0.02",
               "--app-rps", settings.connector_app_rps, "--shop-rps", settings.connector_shop_rps]
    with (workdir / "simulator.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=log)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    return proc, orjson.loads(line)["url"]


async def _start_connectors(bootstrap: str, names: TopicNames, opts: DemoOptions, shops_path: Path, hook_port: int,
                            workdir: Path) -> asyncio.subprocess.Process:
    """`orderhub connect` in its own process, as in production (its pacing clock undisturbed
    by this process's reading of the outputs)."""
    env = dict(os.environ)
    env.update({"ORDERHUB_BROKER": bootstrap, "ORDERHUB_TOPIC_PREFIX": names.prefix,
                "ORDERHUB_PARTITIONS": str(opts.partitions), "ORDERHUB_CONNECTOR_OVERLAP_S": "10",
                "ORDERHUB_CONNECTOR_POLL_MS": "1000", "ORDERHUB_CONNECTOR_SETTLE_MS": "1000",
                "ORDERHUB_CONNECTOR_LOOKBACK_S": "60", "ORDERHUB_CONNECTOR_TIMEOUT_MS": "1500",
                "ORDERHUB_CONNECTOR_ATTEMPTS": "8", "ORDERHUB_LOG_FORMAT": "json",
                "ORDERHUB_LOG_LEVEL": env.get("ORDERHUB_LOG_LEVEL", "WARNING")})
    with (workdir / "connect.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "connect", "--shops", str(shops_path), "--web-port", str(hook_port),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=log)
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    return proc


async def _get(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return orjson.loads(await response.read())


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def _drive(opts: DemoOptions, bootstrap: str, names: TopicNames, workdir: Path) -> dict[str, Any]:
    settings = Settings.from_env()
    channels = demo_channels()
    hook_port, sim_port = free_port(), free_port()
    # the connectors first, so that the platforms' first pushes find them listening
    shops_path = workdir / "shops.yaml"
    options = SimOptions(app_rps=parse_rates(settings.connector_app_rps, "app"),
                         shop_rps=parse_rates(settings.connector_shop_rps, "shop"))
    shops_path.write_text(shops_file(generate_world(_world_spec(opts, channels)), f"http://127.0.0.1:{sim_port}",
                                     options), encoding="utf-8")
    connect = await _start_connectors(bootstrap, names, opts, shops_path, hook_port, workdir)
    sim, sim_url = await _start_simulator(opts, channels, sim_port, hook_port, workdir, settings)
    truth = await _get(sim_url + "/_sim/truth")
    channel_of = {o["oli"]: o["channel"] for o in truth["orders"]}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    consumer = AIOKafkaConsumer(names.order_events, names.fulfillment_commands, names.channel_orders,
                                *(names.dlq(t) for t in names.inputs), bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", isolation_level="read_committed", fetch_max_wait_ms=50)
    await producer.start()
    await consumer.start()
    seen = Observed()
    stop = asyncio.Event()
    events: list[tuple[str, int, float, float]] = []  # oli, version, updated_at, broker timestamp
    envelopes: list[tuple[str, float, str, float]] = []  # key, modified, status, broker timestamp
    observer = asyncio.create_task(_observe_all(consumer, names, producer, seen, stop, events, envelopes))
    t0 = time.monotonic()
    complete = False
    try:
        while time.monotonic() - t0 < opts.timeout_s + max(10.0, opts.orders / opts.rate) * 1.5:
            await asyncio.sleep(1.0)
            stats = await _get(sim_url + "/_sim/stats")
            newest = _newest(events)
            missed = sum(1 for o in truth["orders"] for c in o["changes"]
                         if newest.get(o["oli"], 0.0) < c["modified"] - 1e-3)
            if sys.stderr.isatty():
                print(f"\rplatform changes made: {stats['elapsed_s']:>6.1f} s, envelopes {len(envelopes)}, "
                      f"order events {len(events)}, not yet there {missed}   ", end="", file=sys.stderr, flush=True)
            if stats["world_done"] and stats["pushes_done"] and missed == 0:
                complete = True
                break
        await asyncio.sleep(1.5)  # a late duplicate would show up here
        print(file=sys.stderr)
        stats = await _get(sim_url + "/_sim/stats")
    finally:
        stop.set()
        await observer
        await consumer.stop()
        await producer.stop()
        for proc in (connect, sim):
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
    elapsed = time.monotonic() - t0
    return _summary(truth, channel_of, stats, seen, events, envelopes, complete, elapsed, channels)


async def _observe_all(consumer: AIOKafkaConsumer, names: TopicNames, producer: AIOKafkaProducer, seen: Observed,
                       stop: asyncio.Event, events: list[tuple[str, int, float, float]],
                       envelopes: list[tuple[str, float, str, float]]) -> None:
    """The spine demo's observer (it answers SHIP commands as the WMS), plus the records the
    connector figures need. The spine's observer reads the same consumer: records are copied
    to it through a queue-less wrapper."""

    class _Tee:
        async def getmany(self, **kwargs: Any) -> Any:
            batch = await consumer.getmany(**kwargs)
            for tp, records in batch.items():
                for r in records:
                    if tp.topic == names.order_events:
                        value = orjson.loads(r.value)
                        events.append((value["oli"], value["version"], _epoch(value["order"]["updated_at"]),
                                       r.timestamp / 1000))
                    elif tp.topic == names.channel_orders:
                        envelope = orjson.loads(r.value)
                        ref = api_for(envelope["channel"]).ref(envelope["payload"])
                        envelopes.append((r.key.decode(), round(ref.modified or 0.0, 3), str(ref.status),
                                          r.timestamp / 1000))
            return {tp: rs for tp, rs in batch.items() if tp.topic != names.channel_orders}

    await _observe(_Tee(), names, producer, seen, stop)  # type: ignore[arg-type]


def _newest(events: list[tuple[str, int, float, float]]) -> dict[str, float]:
    newest: dict[str, float] = {}
    for oli, _version, updated_at, _ts in events:
        newest[oli] = max(newest.get(oli, 0.0), updated_at)
    return newest


def _summary(truth: dict[str, Any], channel_of: dict[str, str], stats: dict[str, Any], seen: Observed,
             events: list[tuple[str, int, float, float]], envelopes: list[tuple[str, float, str, float]],
             complete: bool,
             elapsed: float, channels: tuple[str, ...]) -> dict[str, Any]:
    newest = _newest(events)
    first_event: dict[tuple[str, float], float] = {}
    for oli, _version, updated_at, ts in events:
        first_event.setdefault((oli, round(updated_at, 3)), ts)
    event_dups = Counter((oli, version) for oli, version, _u, _t in events)
    envelope_dups = Counter((key, modified, status) for key, modified, status, _t in envelopes)
    # the worker's at-least-once on a broker without transactions: recognisable by oli@version
    first_envelope: dict[tuple[str, float], float] = {}
    for key, modified, _status, ts in envelopes:
        first_envelope.setdefault((key, modified), ts)
    per: dict[str, dict[str, Any]] = {}
    latencies_all: list[float] = []
    for channel in channels:
        orders = [o for o in truth["orders"] if o["channel"] == channel]
        olis = {o["oli"] for o in orders}
        keys = {o["key"] for o in orders}
        changes = [(o["oli"], c) for o in orders for c in o["changes"]]
        latencies = [(first_event[(oli, round(c["modified"], 3))] - c["at"]) * 1000 for oli, c in changes
                     if (oli, round(c["modified"], 3)) in first_event]
        latencies_all += latencies
        ingest = [(first_envelope[(o["key"], round(c["modified"], 3))] - c["at"]) * 1000 for o in orders
                  for c in o["changes"] if (o["key"], round(c["modified"], 3)) in first_envelope]
        s = stats["channels"][channel]
        per[channel] = {
            "orders": len(orders),
            "platform_changes": len(changes),
            "events": sum(1 for oli, *_ in events if oli in olis),
            "missed": sum(1 for oli, c in changes if newest.get(oli, 0.0) < c["modified"] - 1e-3),
            "duplicates": sum(n - 1 for (k, *_), n in envelope_dups.items() if k in keys),
            "event_duplicates": sum(n - 1 for (oli, _v), n in event_dups.items() if oli in olis),
            "max_rps": s["max_rps"], "limit_rps": s["limit_rps"],
            "max_shop_rps": s["max_shop_rps"], "shop_limit_rps": s["shop_limit_rps"],
            "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p99": round(percentile(latencies, 99), 1)},
            "envelope_latency_ms": {"p50": round(percentile(ingest, 50), 1), "p99": round(percentile(ingest, 99), 1)},
            "push_delay_ms": s["push_delay_ms"],
            "faults": {k: s.get(k, 0) for k in ("errors", "timeouts", "rate_limited", "pushes_dropped")},
        }
    return {
        "orders": len(truth["orders"]),
        "fulfillment_commands": seen.ship_commands,
        "distinct_command_ids": len(seen.ship_command_ids),
        "duplicates": sum(c["duplicates"] for c in per.values()),
        "event_duplicates": sum(c["event_duplicates"] for c in per.values()),
        "dlq": len(seen.dlq),
        "dlq_reasons": sorted({d["error_type"] for d in seen.dlq}),
        "order_events": len(events),
        "latency_ms": {"p50": round(percentile(latencies_all, 50), 1),
                       "p99": round(percentile(latencies_all, 99), 1)},
        "elapsed_s": round(elapsed, 1),
        "complete": complete,
        "connectors": per,
    }


def run_simulated_demo(opts: DemoOptions) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-demo-"))
    prefix = f"demo-{uuid.uuid4().hex[:8]}"
    names = TopicNames(prefix)
    broker, bootstrap = open_broker(opts.broker)
    worker = None
    try:
        worker = start_demo_worker(bootstrap, prefix, workdir, opts.partitions)
        print(f"simulating {opts.orders} orders on {', '.join(demo_channels())} at {opts.rate:g}/s "
              f"(logs in {workdir}) ...", file=sys.stderr)
        summary = asyncio.run(_drive(opts, bootstrap, names, workdir))
    finally:
        if worker is not None:
            stop_worker(worker)
        if broker is not None:
            broker.stop()
    connectors = summary["connectors"]
    honoured = all(c["max_rps"] <= c["limit_rps"] and c["max_shop_rps"] <= c["shop_limit_rps"]
                   for c in connectors.values())
    ok = (summary["complete"] and summary["duplicates"] == 0 and honoured
          and all(c["missed"] == 0 for c in connectors.values())
          and summary["fulfillment_commands"] == summary["distinct_command_ids"])
    rows = "\n".join(
        f"  {ch:<9} changes {c['platform_changes']:>5}  events {c['events']:>5}  missed {c['missed']}  "
        f"dups {c['duplicates']} (events {c['event_duplicates']})  rps {c['max_rps']}/{c['limit_rps']:g} (shop {c['max_shop_rps']}/"
        f"{c['shop_limit_rps']:g})\n            change → envelope p50 {c['envelope_latency_ms']['p50']} ms "
        f"p99 {c['envelope_latency_ms']['p99']} ms, → order event p50 {c['latency_ms']['p50']} ms "
        f"p99 {c['latency_ms']['p99']} ms"
        for ch, c in connectors.items())
    print(f"""
orderhub demo --source simulate ({'ok' if ok else 'INCOMPLETE'}) in {summary['elapsed_s']} s
  platform orders      {summary['orders']}
  SHIP commands        {summary['fulfillment_commands']}  (distinct command ids {summary['distinct_command_ids']})
  dead letters         {summary['dlq']}  ({', '.join(summary['dlq_reasons'])})
  change → order event p50 {summary['latency_ms']['p50']} ms, p99 {summary['latency_ms']['p99']} ms
{rows}
""", file=sys.stderr)
    public = {k: summary[k] for k in ("orders", "fulfillment_commands", "distinct_command_ids", "duplicates",
                                      "event_duplicates", "dlq", "latency_ms", "connectors")}
    print(orjson.dumps(public).decode())
    return 0 if ok else 1
