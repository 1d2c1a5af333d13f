"""Operator console benchmark: the per-message cost of the order history and of a search scan.

    .venv/bin/python bench/console_bench.py [--orders 20000] [--repeats 5]

Prints medians over the repeats (process CPU time, the steadier figure on a shared
machine) of the pure work each step does per message, without Faust's own cost
(~70 µs per event, ~95 µs per table write, see docs/performance.md):

- history: decode the stored history (a list of up to 200 entries), append one, encode;
- search: decode a stored order and test a filter; a search scans at most 200,000 per worker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import codec  # noqa: E402
from app.console.queries import HISTORY_KEEP, SearchFilter, append_history, event_entry  # noqa: E402
from tests.unit.test_operations import paid_order  # noqa: E402


def _cpu(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    fn()
    return (time.process_time() - t0) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    order = paid_order()
    event = orjson.loads(codec.encode(codec_event(order)))
    entry = event_entry(event)
    for size in (10, HISTORY_KEEP):
        stored = orjson.dumps([dict(entry, version=i) for i in range(size)])

        def history(stored: bytes = stored) -> None:
            for i in range(args.orders):
                orjson.dumps(append_history(orjson.loads(stored), dict(entry, version=-i)))

        runs = [_cpu(history, args.orders) for _ in range(args.repeats)]
        print(f"history append, {size:>3} entries stored: {statistics.median(runs):7.1f} µs per message "
              f"({len(stored)} bytes)")
    blobs = [codec.encode(order)] * args.orders
    flt = SearchFilter(q="no-such-buyer")

    def scan() -> None:
        for blob in blobs:
            o = codec.decode_order(blob)
            assert o is not None and not flt.matches(o)

    runs = [_cpu(scan, args.orders) for _ in range(args.repeats)]
    median = statistics.median(runs)
    print(f"search scan: {median:7.1f} µs per order = {1e6 / median:,.0f} orders/s per worker; "
          f"200,000 orders ≈ {200_000 * median / 1e6:.1f} s")
    return 0


def codec_event(order):  # type: ignore[no-untyped-def]
    from app.domain.model import OrderEvent

    return OrderEvent(type="OrderPaid", oli=order.oli, version=order.version, at=order.updated_at, order=order,
                      cause={"source": "payment", "ref": "p1"})


if __name__ == "__main__":
    sys.exit(main())
