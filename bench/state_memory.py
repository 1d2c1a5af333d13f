"""A worker's memory with a large state: prefill the tables, start a worker, read orders back.

Writes N orders (default 1,000,000) and their histories straight into a worker's RocksDB
tables (`orders`, `order-history`, each key in the partition Kafka's partitioner gives it,
encoded as the worker encodes them), starts `orderhub worker` on that data dir against a
broker, reads `--reads` random orders through `GET /api/orders/{oli}` and one search
(which scans the table), and prints the worker's peak and current RSS and the state's
size on disk. Run it with enough disk: about 2.5 GB per million orders.

    python -m bench.state_memory [--orders 1000000] [--reads 20000] [--broker host:port]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import orjson
from aiokafka.partitioner import DefaultPartitioner
from faust.stores.rocksdb import RocksDBOptions
from rocksdict import Rdict, WriteBatch

from app import codec
from app.bench.workload import build_workload
from app.channel_setup import load_channels
from app.console.queries import append_history, event_entry
from app.console.roles import hash_token, new_token
from app.demo import open_broker, wait_ready
from app.settings import Settings

PARTITIONS = 4
TABLES = ("orders", "order-history")


def _rss_kb(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])


def _templates(settings: Settings) -> list[tuple[bytes, bytes]]:
    """(order, history) pairs of real orders: the bench workload's channel orders, adapted."""
    setup = load_channels(settings)
    out = []
    for kind, _key, value in build_workload(2000, seed=3).messages:
        if kind != "channel_order":
            continue
        try:
            envelope = codec.decode_envelope(value)
            order = setup.registry.get(envelope.channel).adapt(envelope.payload, shop_id=envelope.shop_id)
        except Exception:  # noqa: BLE001 — the workload's poison messages
            continue
        event = {"type": "OrderCreated", "oli": order.oli, "version": 1, "at": "2026-11-25T08:00:00+00:00",
                 "cause": {"topic": "order-inputs"}, "order": orjson.loads(codec.encode(order))}
        out.append((order, orjson.dumps(append_history([], event_entry(event)))))
    return out


def prefill(data_dir: Path, orders: int, settings: Settings, options: dict[str, int]) -> list[str]:
    templates = _templates(settings)
    partitioner = DefaultPartitioner()
    parts = list(range(PARTITIONS))
    tables = data_dir / "v1" / "tables"
    tables.mkdir(parents=True)
    dbs = {(t, p): Rdict(str(tables / f"{t}-{p}.db"), RocksDBOptions(**options, use_rocksdict=True).as_options())
           for t in TABLES for p in parts}
    batches = {k: WriteBatch(raw_mode=True) for k in dbs}
    sample: list[str] = []
    started = time.monotonic()
    for i in range(orders):
        template, history = templates[i % len(templates)]
        oli = f"{template.oli}-{i}"
        key = oli.encode()
        order = codec.encode(replace(template, oli=oli, external_id=f"{template.external_id}-{i}"))
        p = partitioner(key, parts, parts)
        batches[("orders", p)].put(key, order)
        batches[("order-history", p)].put(key, history)
        if i % 50 == 0:
            sample.append(oli)
        if (i + 1) % 50_000 == 0:
            for k, batch in batches.items():
                dbs[k].write(batch)
                batches[k] = WriteBatch(raw_mode=True)
            print(f"  prefilled {i + 1:,} orders ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    for k, batch in batches.items():
        dbs[k].write(batch)
    for db in dbs.values():
        db.close()
    return sample


async def read_back(port: int, token: str, olis: list[str], reads: int) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {token}"}
    found = 0
    started = time.monotonic()
    async with aiohttp.ClientSession(headers=headers) as http:
        for i, oli in enumerate(random.Random(5).choices(olis, k=reads)):
            async with http.get(f"http://127.0.0.1:{port}/api/orders/{oli.replace('%', '%25')}") as response:
                found += response.status == 200
            if (i + 1) % 5000 == 0:
                print(f"  read {i + 1:,} orders", file=sys.stderr, flush=True)
        async with http.get(f"http://127.0.0.1:{port}/api/orders?q=nothing-matches&limit=10") as response:
            await response.read()
    return found, time.monotonic() - started


def main() -> int:
    from tables.orders import ROCKSDB_OPTIONS  # the worker's own table options

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=20_000)
    parser.add_argument("--broker", default=None, help="host:port, `embedded` (default) or `kafka`")
    parser.add_argument("--port", type=int, default=16180, help="the worker's web port (127.0.0.1)")
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-state-memory-"))
    broker, bootstrap = open_broker(opts.broker)
    worker = None
    try:
        data_dir = workdir / "worker"
        print(f"prefilling {opts.orders:,} orders into {data_dir} ...", file=sys.stderr)
        sample = prefill(data_dir, opts.orders, Settings.from_env(), ROCKSDB_OPTIONS)
        disk_mb = sum(f.stat().st_size for f in data_dir.rglob("*") if f.is_file()) / 2**20
        token = new_token()
        tokens = workdir / "tokens.yaml"
        tokens.write_text(f"tokens:\n  - {{name: bench, role: viewer, sha256: {hash_token(token)}}}\n")
        env = os.environ | {
            "ORDERHUB_BROKER": bootstrap, "ORDERHUB_TOPIC_PREFIX": "statemem", "ORDERHUB_APP_ID": "statemem",
            "ORDERHUB_DATA_DIR": str(data_dir), "ORDERHUB_PARTITIONS": str(PARTITIONS),
            "ORDERHUB_PROCESSING_GUARANTEE": "at_least_once", "ORDERHUB_WEB_PORT": str(opts.port),
            "ORDERHUB_TOKENS_FILE": str(tokens), "ORDERHUB_LOG_LEVEL": "WARNING", "ORDERHUB_LOG_FORMAT": "json"}
        log_path = workdir / "worker.log"
        worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env,
                                  stdout=log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(worker, data_dir, log_path, timeout=300)
        idle_hwm, idle_rss = _rss_kb(worker.pid)
        found, took = asyncio.run(read_back(opts.port, token, sample, opts.reads))
        hwm, rss = _rss_kb(worker.pid)
        result = {"orders": opts.orders, "reads": opts.reads, "found": found, "read_s": round(took, 1),
                  "state_disk_mb": round(disk_mb), "rss_ready_mb": round(idle_rss / 1024, 1),
                  "rss_mb": round(rss / 1024, 1), "peak_rss_mb": round(hwm / 1024, 1),
                  "rocksdb_options": ROCKSDB_OPTIONS}
        print(f"{opts.orders:,} orders, {disk_mb:,.0f} MB on disk: worker RSS {idle_rss / 1024:.0f} MB when ready, "
              f"{rss / 1024:.0f} MB after {opts.reads:,} reads ({found:,} found) and a full-table search, "
              f"peak {hwm / 1024:.0f} MB", file=sys.stderr)
        print(orjson.dumps(result).decode())
        return 0 if found == opts.reads else 1
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        if broker is not None:
            broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
