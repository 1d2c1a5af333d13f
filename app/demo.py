"""`orderhub demo`: the pipeline end to end on generated orders, with a summary.

Starts the embedded broker (or uses --broker) and one worker process, sends generated
channel orders and payments at a steady rate plus a few poison messages, answers SHIP
commands as a warehouse would (ACCEPTED, then SHIPPED), waits until every order reached
its end state and prints a summary whose last line is one JSON object.

Latency is payment → fulfillment command: from the moment the worker could decide (the
later of the payment and the order's creation reaching Kafka) to the command's timestamp.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from app import tracing
from app.admin import all_topics, ensure_topics
from app.demo_data import generate, poison_messages
from app.settings import Settings
from app.topic_names import TopicNames


@dataclass(frozen=True)
class DemoOptions:
    orders: int = 2000
    broker: str | None = None
    seed: int = 7
    timeout_s: float = 120.0
    partitions: int = 4
    rate: float = 100.0  # orders per second


@dataclass
class Observed:
    created: set[str] = field(default_factory=set)
    shipped: set[str] = field(default_factory=set)
    cancelled: set[str] = field(default_factory=set)
    ship_commands: int = 0
    ship_command_ids: set[str] = field(default_factory=set)
    cancel_commands: int = 0
    command_ts: dict[str, float] = field(default_factory=dict)
    dlq: list[dict[str, Any]] = field(default_factory=list)
    events: int = 0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def worker_env(bootstrap: str, prefix: str, data_dir: Path, partitions: int,
               log_level: str = "WARNING") -> dict[str, str]:
    """The environment of a worker subprocess isolated by `prefix` (topics, group, changelogs)."""
    env = dict(os.environ)
    env.update({
        "ORDERHUB_BROKER": bootstrap, "ORDERHUB_TOPIC_PREFIX": prefix, "ORDERHUB_APP_ID": prefix,
        "ORDERHUB_DATA_DIR": str(data_dir), "ORDERHUB_PARTITIONS": str(partitions),
        "ORDERHUB_LOG_FORMAT": "json", "ORDERHUB_SESSION_TIMEOUT_S": "6",
        "ORDERHUB_LOG_LEVEL": env.get("ORDERHUB_LOG_LEVEL", log_level),
    })
    return env


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--without-web"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(proc: subprocess.Popen[bytes], data_dir: Path, log_path: Path, timeout: float = 90.0) -> None:
    ready = data_dir / "ready"
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError("worker exited during start-up:\n" + "\n".join(tail))
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker not ready after {timeout:.0f} s; see {log_path}")
        time.sleep(0.1)


def stop_worker(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


async def _observe(consumer: AIOKafkaConsumer, names: TopicNames, producer: AIOKafkaProducer,
                   seen: Observed, stop: asyncio.Event) -> None:
    """Read outputs; answer SHIP commands as the warehouse (ACCEPTED, SHIPPED) and cancels."""
    dlq_topics = {names.dlq(t) for t in names.inputs}
    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=200, max_records=2000)
        for tp, records in batch.items():
            for rec in records:
                value = orjson.loads(rec.value)
                if tp.topic == names.order_events:
                    seen.events += 1
                    kind, oli = value["type"], value["oli"]
                    if kind == "OrderCreated":
                        seen.created.add(oli)
                    elif kind == "OrderShipped":
                        seen.shipped.add(oli)
                    elif kind == "OrderCancelled":
                        seen.cancelled.add(oli)
                elif tp.topic == names.fulfillment_commands:
                    at = value["requested_at"]
                    # a warehouse that propagates trace context: its answers join the command's trace
                    context = [(k, v) for k, v in rec.headers or () if k == "traceparent"]
                    if value["type"] == "SHIP":
                        seen.ship_commands += 1
                        seen.ship_command_ids.add(value["command_id"])
                        seen.command_ts.setdefault(value["oli"], rec.timestamp / 1000)
                        for event in ("ACCEPTED", "SHIPPED"):
                            await producer.send(names.wms_events, key=value["oli"].encode(), value=orjson.dumps({
                                "command_id": value["command_id"], "oli": value["oli"], "event": event,
                                "carrier": value["carrier"], "tracking_no": "SF" + value["command_id"][-8:],
                                "at": at, "reason": ""}), headers=context)
                    else:
                        seen.cancel_commands += 1
                        await producer.send(names.wms_events, key=value["oli"].encode(), value=orjson.dumps({
                            "command_id": value["command_id"], "oli": value["oli"], "event": "INTERCEPTED",
                            "at": at}), headers=context)
                elif tp.topic in dlq_topics:
                    seen.dlq.append(value)


async def _drive(opts: DemoOptions, bootstrap: str, names: TopicNames) -> dict[str, Any]:
    from tqdm import tqdm

    stories = generate(opts.orders, seed=opts.seed)
    poison = poison_messages()
    expected_paid = {s.oli for s in stories if s.fate == "paid"}
    expected_cancelled = {s.oli for s in stories if s.fate == "cancelled"}
    all_olis = {s.oli for s in stories}
    topic_for = {"channel_order": names.channel_orders, "payment": names.payments}

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_request_size=8 * 1024 * 1024)
    consumer = AIOKafkaConsumer(names.order_events, names.fulfillment_commands,
                                *(names.dlq(t) for t in names.inputs), bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", isolation_level="read_committed",
                                fetch_max_wait_ms=50, max_partition_fetch_bytes=16 * 1024 * 1024)
    await producer.start()
    await consumer.start()
    seen = Observed()
    stop = asyncio.Event()
    observer = asyncio.create_task(_observe(consumer, names, producer, seen, stop))
    decided_at: dict[str, float] = {}  # oli -> when the worker had order + payment
    order_seen_at: dict[str, float] = {}
    payment_seen_at: dict[str, float] = {}
    try:
        timeline = sorted(((i / opts.rate + send.at, i, send) for i, story in enumerate(stories)
                           for send in story.sends), key=lambda x: (x[0], x[1]))
        t0 = time.monotonic()
        for _kind, key, value in poison:
            await producer.send(names.channel_orders, key=key, value=value)
        bar = tqdm(total=len(all_olis), desc="orders settled", unit="order", file=sys.stderr,
                   dynamic_ncols=True, mininterval=0.5)
        settled = 0
        for at, i, send in timeline:
            delay = t0 + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            with tracing.producing(f"orderhub.{send.kind}", topic_for[send.kind], oli=stories[i].oli,
                                   event_type=send.kind) as headers:  # each send starts a trace
                await producer.send(topic_for[send.kind], key=send.key, value=send.value, headers=headers)
            oli = stories[i].oli
            now = time.time()
            if send.kind == "payment":
                payment_seen_at.setdefault(oli, now)
            else:
                order_seen_at.setdefault(oli, now)
            if oli in payment_seen_at and oli in order_seen_at:
                decided_at.setdefault(oli, max(payment_seen_at[oli], order_seen_at[oli]))
            new_settled = _settled(seen, expected_paid, expected_cancelled, all_olis)
            bar.update(new_settled - settled)
            settled = new_settled
        await producer.flush()
        deadline = time.monotonic() + opts.timeout_s
        while time.monotonic() < deadline:
            new_settled = _settled(seen, expected_paid, expected_cancelled, all_olis)
            bar.update(new_settled - settled)
            settled = new_settled
            if settled == len(all_olis) and len(seen.dlq) >= len(poison):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a late duplicate command would show up here
        bar.close()
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        await observer
        await consumer.stop()
        await producer.stop()

    latencies = [(seen.command_ts[o] - decided_at[o]) * 1000 for o in seen.command_ts if o in decided_at]
    complete = _settled(seen, expected_paid, expected_cancelled, all_olis) == len(all_olis)
    return {
        "orders": len(stories),
        "paid": len(expected_paid),
        "cancelled": len(expected_cancelled),
        "fulfillment_commands": seen.ship_commands,
        "distinct_command_ids": len(seen.ship_command_ids),
        "shipped": len(seen.shipped & expected_paid),
        "duplicates": sum(s.duplicates for s in stories),
        "dlq": len(seen.dlq),
        "dlq_reasons": sorted({d["error_type"] for d in seen.dlq}),
        "order_events": seen.events,
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p99": round(percentile(latencies, 99), 1)},
        "elapsed_s": round(elapsed, 1),
        "complete": complete,
    }


def _settled(seen: Observed, paid: set[str], cancelled: set[str], all_olis: set[str]) -> int:
    return (len(seen.shipped & paid) + len(seen.cancelled & cancelled)
            + len((seen.created & all_olis) - paid - cancelled))


def open_broker(spec_text: str | None) -> tuple[Any, str]:
    """The demo's broker: a given host:port (nothing to stop), or one started here."""
    from app.brokers import parse_broker_spec, start_broker, start_embedded

    spec = parse_broker_spec(spec_text) if spec_text else None
    if spec is not None and spec.bootstrap:
        print(f"using broker {spec.bootstrap}", file=sys.stderr)
        return None, spec.bootstrap
    if spec is not None:
        print(f"starting a {spec.kind} broker ...", file=sys.stderr)
        broker = start_broker(spec.kind)
    else:
        print("starting the embedded broker ...", file=sys.stderr)
        broker = start_embedded()
    return broker, broker.bootstrap


def start_demo_worker(bootstrap: str, prefix: str, workdir: Path, partitions: int) -> subprocess.Popen[bytes]:
    """Create the demo's topics, start one worker in `workdir` and wait until it is ready."""
    asyncio.run(ensure_topics(bootstrap, all_topics(TopicNames(prefix)), partitions=partitions))
    data_dir = workdir / "worker"
    data_dir.mkdir()
    log_path = workdir / "worker.log"
    print(f"starting a worker (log: {log_path}) ...", file=sys.stderr)
    worker = start_worker(worker_env(bootstrap, prefix, data_dir, partitions), log_path)
    wait_ready(worker, data_dir, log_path)
    return worker


def run_demo(opts: DemoOptions) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-demo-"))
    prefix = f"demo-{uuid.uuid4().hex[:8]}"
    names = TopicNames(prefix)
    tracing.setup_tracing(Settings.from_env(), service="orderhub-demo", console_out=sys.stderr)  # stdout: the summary
    broker, bootstrap = open_broker(opts.broker)
    worker = None
    try:
        worker = start_demo_worker(bootstrap, prefix, workdir, opts.partitions)
        print(f"sending {opts.orders} orders at {opts.rate:.0f}/s ...", file=sys.stderr)
        summary = asyncio.run(_drive(opts, bootstrap, names))
    finally:
        if worker is not None:
            stop_worker(worker)
        if broker is not None:
            broker.stop()
    ok = (summary["complete"] and summary["fulfillment_commands"] == summary["distinct_command_ids"]
          == summary["paid"])
    print(f"""
orderhub demo ({'ok' if ok else 'INCOMPLETE'}) in {summary['elapsed_s']} s
  orders               {summary['orders']}  (paid {summary['paid']}, cancelled {summary['cancelled']})
  duplicate deliveries {summary['duplicates']}
  SHIP commands        {summary['fulfillment_commands']}  (distinct command ids {summary['distinct_command_ids']})
  shipped              {summary['shipped']}
  dead letters         {summary['dlq']}  ({', '.join(summary['dlq_reasons'])})
  payment → command    p50 {summary['latency_ms']['p50']} ms, p99 {summary['latency_ms']['p99']} ms
""", file=sys.stderr)
    public = {k: summary[k] for k in ("orders", "paid", "fulfillment_commands", "distinct_command_ids",
                                      "duplicates", "dlq", "latency_ms")}
    print(orjson.dumps(public).decode())
    return 0 if ok else 1
