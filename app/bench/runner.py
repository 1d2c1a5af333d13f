"""`orderhub bench`: every phase in one run, a table for people and a JSON line for machines.

Baseline and pipeline are measured in the same run on the same broker and payloads, so
their ratio holds even on a busy machine where absolute figures move.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson

from app.bench.baseline import run_baseline
from app.bench.latency import LatencyRun, run_latency
from app.bench.pipeline import PipelineRun, preload, run_pipeline
from app.bench.probes import delete_topics_with_prefix
from app.bench.profile import render as render_profile
from app.bench.workload import Workload, baseline_messages, build_workload
from app.topic_names import TopicNames

MB = 1024 * 1024


@dataclass(frozen=True)
class BenchOptions:
    broker: str = "embedded"
    events: int = 100_000
    runs: int = 3
    rate: float = 1000.0  # orders per second for the fixed-load latency
    latency_seconds: float = 10.0
    partitions: int = 4
    seed: int = 7
    timeout_s: float = 300.0  # per phase
    skip_baseline: bool = False
    skip_latency: bool = False
    skip_scaling: bool = False
    skip_exactly_once: bool = False
    profile: Path | None = None  # py-spy raw output of the first at_least_once worker


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _baseline(bootstrap: str, workload: Workload, opts: BenchOptions) -> list[tuple[float, float]]:
    names = TopicNames(f"bench-{uuid.uuid4().hex[:8]}")
    messages = baseline_messages(workload)
    asyncio.run(preload(bootstrap, names, messages, opts.partitions))
    topics = [names.channel_orders, names.payments, names.wms_events]
    results = []
    try:
        for i in range(opts.runs):
            eps, cpu_eps = asyncio.run(run_baseline(bootstrap, topics, opts.partitions, len(messages),
                                                    opts.timeout_s))
            _say(f"  baseline run {i + 1}/{opts.runs}: {eps:,.0f} events/s, {cpu_eps:,.0f} events per CPU-second")
            results.append((eps, cpu_eps))
    finally:
        asyncio.run(delete_topics_with_prefix(bootstrap, names.prefix))
    return results


def _pipelines(bootstrap: str, workload: Workload, opts: BenchOptions, workdir: Path, *, guarantee: str,
               workers: int, runs: int) -> list[PipelineRun]:
    results = []
    for i in range(runs):
        label = f"{guarantee}, {workers} worker{'s' if workers > 1 else ''}, run {i + 1}/{runs}"
        profile = opts.profile if i == 0 and workers == 1 and guarantee == "at_least_once" else None
        run = run_pipeline(bootstrap, workload, guarantee=guarantee, workers=workers, partitions=opts.partitions,
                           workdir=workdir, timeout_s=opts.timeout_s, label=label, profile=profile)
        if profile is not None and profile.exists():
            _say(render_profile(profile))
        _say(f"  {label}: {run.eps:,.0f} events/s ({run.events:,} in {run.seconds:.1f} s), "
             f"{run.cpu_eps:,.0f} events per CPU-second ({run.busy_cpu_us_per_event:,.0f} µs/event without "
             f"idle polling of {run.idle_cpu_share:.0%} of a core), "
             f"peak RSS {run.peak_rss_bytes / MB:.0f} MB, SHIP commands {run.ship_commands:,} "
             f"({run.distinct_ship_commands:,} distinct)")
        results.append(run)
    return results


def _latency(bootstrap: str, opts: BenchOptions, workdir: Path, *, rate: float, guarantee: str) -> LatencyRun:
    run = run_latency(bootstrap, rate=rate, seconds=opts.latency_seconds, seed=opts.seed, guarantee=guarantee,
                      partitions=opts.partitions, workdir=workdir, timeout_s=opts.timeout_s)
    _say(f"  latency {guarantee} @ {rate:,.0f} orders/s (sent at {run.achieved_rate:,.0f}/s): "
         f"p50 {run.p50_ms:.1f} ms, p95 {run.p95_ms:.1f} ms, p99 {run.p99_ms:.1f} ms "
         f"({run.commanded:,} of {run.paid:,} paid orders commanded within the timeout)")
    return run


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "faust": version("faust-streaming"), "aiokafka": version("aiokafka")}


def _start_broker(spec_text: str) -> tuple[Any, str, str, bool]:
    """(running broker or None, bootstrap, kind, supports transactions)."""
    from app.brokers import parse_broker_spec, probe_transactions, start_broker, wait_until_ready

    spec = parse_broker_spec(spec_text)
    if spec.bootstrap is not None:
        wait_until_ready(spec.bootstrap, timeout=15.0, name=f"broker at {spec.bootstrap}")
        return None, spec.bootstrap, "external", probe_transactions(spec.bootstrap)
    _say(f"starting the {spec.kind} broker ...")
    broker = start_broker(spec.kind)
    return broker, broker.bootstrap, broker.kind, broker.supports_transactions


def _exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the workers and the broker this run started are stopped."""
    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def run_bench(opts: BenchOptions) -> int:
    started = time.monotonic()
    _exit_on_sigterm()
    broker, bootstrap, kind, transactions = _start_broker(opts.broker)
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-bench-"))
    try:
        result = _measure(opts, bootstrap, kind, transactions, workdir)
    except BaseException:
        _say(f"worker logs and data kept in {workdir}")
        raise
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        if broker is not None:
            broker.stop()
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    print(render_table(result))
    print(orjson.dumps(result).decode())
    return 0 if result["commands_ok"] else 1


def _measure(opts: BenchOptions, bootstrap: str, kind: str, transactions: bool, workdir: Path) -> dict[str, Any]:
    workload = build_workload(opts.events, seed=opts.seed)
    _say(f"workload: {workload.events:,} events ({len(workload.messages):,} preloaded, {workload.acks:,} WMS acks "
         f"answered during the run) for {workload.orders:,} orders, {len(workload.paid):,} paid")
    baseline: list[tuple[float, float]] = []
    if not opts.skip_baseline:
        _say(f"baseline: bare aiokafka consume → decode → encode → produce, {opts.runs} run(s)")
        baseline = _baseline(bootstrap, workload, opts)
    _say(f"pipeline: at_least_once, 1 worker, {opts.runs} run(s)")
    alos = _pipelines(bootstrap, workload, opts, workdir, guarantee="at_least_once", workers=1, runs=opts.runs)
    scaling: list[PipelineRun] = []
    if not opts.skip_scaling:
        _say("pipeline: at_least_once, 2 workers, 1 run")
        scaling = _pipelines(bootstrap, workload, opts, workdir, guarantee="at_least_once", workers=2, runs=1)
    eos: list[PipelineRun] = []
    if transactions and not opts.skip_exactly_once:
        _say(f"pipeline: exactly_once, 1 worker, {opts.runs} run(s)")
        eos = _pipelines(bootstrap, workload, opts, workdir, guarantee="exactly_once", workers=1, runs=opts.runs)

    throughput = _median([r.eps for r in alos])
    baseline_eps = _median([eps for eps, _ in baseline])
    baseline_cpu_eps = _median([cpu for _, cpu in baseline])
    cpu_eps = _median([r.cpu_eps for r in alos])
    events_per_order = workload.events / max(1, workload.orders)
    latency: LatencyRun | None = None
    saturation: LatencyRun | None = None
    eos_latency: LatencyRun | None = None
    if not opts.skip_latency:
        _say(f"latency: payment → command, {opts.latency_seconds:.0f} s of offered load")
        latency = _latency(bootstrap, opts, workdir, rate=opts.rate, guarantee="at_least_once")
        saturation = _latency(bootstrap, opts, workdir, rate=max(1.0, throughput / events_per_order),
                              guarantee="at_least_once")
        if eos:
            eos_latency = _latency(bootstrap, opts, workdir, rate=opts.rate, guarantee="exactly_once")

    all_runs = [*alos, *scaling, *eos]
    state_per_100k = _median([r.state_bytes / workload.orders * 100_000 for r in alos])
    result: dict[str, Any] = {
        "throughput_eps": round(throughput),
        "baseline_eps": round(baseline_eps),
        "ratio": round(throughput / baseline_eps, 3) if baseline_eps else None,
        "latency_ms": latency.as_dict() if latency else None,
        "rss_mb": round(max(r.peak_rss_bytes for r in alos) / MB, 1),
        "mode": "at_least_once",
        "broker": kind,
        "events": workload.events,
        "orders": workload.orders,
        "runs": opts.runs,
        "throughput_runs_eps": [round(r.eps) for r in alos],
        "baseline_runs_eps": [round(eps) for eps, _ in baseline],
        "throughput_cpu_eps": round(cpu_eps),
        "baseline_cpu_eps": round(baseline_cpu_eps),
        "cpu_ratio": round(cpu_eps / baseline_cpu_eps, 3) if baseline_cpu_eps else None,
        "worker_cpu_us_per_event": round(1e6 / cpu_eps) if cpu_eps else None,
        "worker_busy_cpu_us_per_event": round(_median([r.busy_cpu_us_per_event for r in alos])),
        "worker_idle_cpu_pct": round(100 * _median([r.idle_cpu_share for r in alos]), 1),
        "latency_rate": opts.rate,
        "latency_saturation_ms": saturation.as_dict() if saturation else None,
        "saturation_rate": round(saturation.offered_rate) if saturation else None,
        "latency_commanded": f"{latency.commanded}/{latency.paid}" if latency else None,
        "rocksdb_mb_per_100k_orders": round(state_per_100k / MB, 1),
        "workers_2_eps": round(scaling[0].eps) if scaling else None,
        "scaling_2_vs_1": round(scaling[0].eps / throughput, 2) if scaling and throughput else None,
        "exactly_once_eps": round(_median([r.eps for r in eos])) if eos else None,
        "exactly_once_ratio": round(_median([r.eps for r in eos]) / baseline_eps, 3) if eos and baseline_eps else None,
        "exactly_once_latency_ms": eos_latency.as_dict() if eos_latency else None,
        "commands_ok": all(r.ship_commands >= len(workload.paid) == r.distinct_ship_commands for r in all_runs)
        and all(r.ship_commands == r.distinct_ship_commands for r in [*alos, *eos]),
        "machine": _machine(),
    }
    return result


def render_table(r: dict[str, Any]) -> str:
    def lat(d: dict[str, float] | None) -> str:
        return f"p50 {d['p50']} / p95 {d['p95']} / p99 {d['p99']} ms" if d else "skipped"

    def num(x: float | None, unit: str = "") -> str:
        return f"{x:,}{unit}" if x is not None else "skipped"

    rows = [
        ("broker", f"{r['broker']} ({r['machine']['cpus']} cores, Python {r['machine']['python']}, "
                   f"faust {r['machine']['faust']}, aiokafka {r['machine']['aiokafka']})"),
        ("events / orders", f"{r['events']:,} / {r['orders']:,}  (medians of {r['runs']} runs)"),
        ("baseline (bare aiokafka)", num(r["baseline_eps"] or None, " events/s")),
        ("pipeline at_least_once", num(r["throughput_eps"], " events/s")),
        ("  ratio to baseline", num(r["ratio"])),
        ("per CPU-second: baseline", num(r["baseline_cpu_eps"] or None, " events")),
        ("per CPU-second: pipeline", num(r["throughput_cpu_eps"] or None,
                                         f" events ({r['worker_cpu_us_per_event']} µs of worker CPU per event)")),
        ("  ratio to baseline", num(r["cpu_ratio"])),
        ("worker CPU without idle polling", f"{r['worker_busy_cpu_us_per_event']:,} µs per event "
                                            f"(idle worker: {r['worker_idle_cpu_pct']}% of a core)"),
        ("pipeline exactly_once", num(r["exactly_once_eps"], " events/s")),
        ("  ratio to baseline", num(r["exactly_once_ratio"])),
        ("2 workers at_least_once", num(r["workers_2_eps"], " events/s")),
        ("  2 vs 1 worker", num(r["scaling_2_vs_1"])),
        (f"latency @ {r['latency_rate']:,.0f} orders/s", lat(r["latency_ms"])),
        (f"latency @ saturation ({num(r['saturation_rate'])}/s)", lat(r["latency_saturation_ms"])),
        ("latency exactly_once", lat(r["exactly_once_latency_ms"])),
        ("worker peak RSS", f"{r['rss_mb']} MB"),
        ("RocksDB on disk", f"{r['rocksdb_mb_per_100k_orders']} MB per 100,000 orders"),
        ("one SHIP command per paid order", "yes" if r["commands_ok"] else "NO"),
        ("bench took", f"{r['elapsed_s']} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\norderhub bench\n" + "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)
