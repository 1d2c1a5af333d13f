"""Benchmark: `normalize` (adapter.adapt) payloads per second on one core, per channel.

Runs every channel's fixtures (tests/fixtures/<channel>/*.json that have an
.expected.json and map without error) round-robin through the channel's adapter, in one
process, and prints the median of several rounds in payloads/s. CPU time of this process
(time.process_time) is what is measured, so other load on the machine inflates the
figures less than wall time would; still run it on an idle machine.

    .venv/bin/python bench/normalize_bench.py [--rounds 7] [--payloads 20000] [CHANNEL ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.channels import builtin_registry  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
TARGET = 20_000


def payloads(channel: str, adapter) -> list[dict]:  # type: ignore[no-untyped-def]
    found = []
    for path in sorted((FIXTURES / channel).glob("*.json")):
        if path.name.endswith(".expected.json") or not path.with_suffix(".expected.json").exists():
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        try:
            adapter.adapt(payload, shop_id="bench")
        except Exception:  # noqa: BLE001 — error fixtures are not part of the throughput figure
            continue
        found.append(payload)
    return found


def rate(adapter, sample: list[dict], n: int) -> float:  # type: ignore[no-untyped-def]
    adapt = adapter.adapt
    batch = (sample * (n // len(sample) + 1))[:n]
    start = time.process_time()
    for payload in batch:
        adapt(payload, shop_id="bench")
    return n / (time.process_time() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("channels", nargs="*", help="channels to measure (default: every built-in with fixtures)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--payloads", type=int, default=20_000, help="payloads per round")
    args = parser.parse_args()
    registry = builtin_registry()
    reference = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000
    print(f"machine reference: sum(range(1000)) = {reference * 1e6:.1f} us "
          f"(about 8-10 us on an idle 3 GHz core; higher means a slower or busy machine)")
    channels = args.channels or [c for c in registry.channels() if (FIXTURES / c).is_dir()]
    print(f"{'channel':<10} {'fixtures':>8} {'median payloads/s':>18} {'min':>8} {'max':>8}  target {TARGET}")
    for channel in channels:
        adapter = registry.get(channel)
        sample = payloads(channel, adapter)
        if not sample:
            print(f"{channel:<10} no fixtures")
            continue
        rate(adapter, sample, 2000)  # warm-up
        rounds = [rate(adapter, sample, args.payloads) for _ in range(args.rounds)]
        median = statistics.median(rounds)
        print(f"{channel:<10} {len(sample):>8} {median:>18,.0f} {min(rounds):>8,.0f} {max(rounds):>8,.0f}"
              f"  {'ok' if median >= TARGET else 'BELOW'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
