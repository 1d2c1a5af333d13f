"""Stuck-order watchdog benchmark: the cost of one watchdog pass over a worker's orders in RocksDB.

    .venv/bin/python bench/watchdog_bench.py [--orders 200000] [--unacked 0.02] [--repeats 5]

Writes `--orders` stored orders into a temporary RocksDB (rocksdict, as Faust's store
does), a share `--unacked` of them PAID with an unacknowledged SHIP command and the rest
acknowledged or shipped, then runs `app.operations.stuck.scan` over the items as the
timer does and prints the median wall time of a pass (and per stored order).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rocksdict import Rdict  # noqa: E402

from app import codec  # noqa: E402
from app.domain.model import FulfillmentState, OrderStatus  # noqa: E402
from app.domain.watchdog import WatchdogPolicy  # noqa: E402
from app.operations.stuck import scan  # noqa: E402
from tests.unit.test_watchdog import T0, commanded  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--unacked", type=float, default=0.02)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    base = commanded()
    acked = replace(base, fulfillment=replace(base.fulfillment, state=FulfillmentState.ACCEPTED))
    shipped = replace(base, status=OrderStatus.SHIPPED,
                      fulfillment=replace(base.fulfillment, state=FulfillmentState.SHIPPED))
    policy = WatchdogPolicy(stuck_after=timedelta(seconds=60))
    with tempfile.TemporaryDirectory() as tmp:
        db = Rdict(str(Path(tmp) / "orders"))
        for i in range(args.orders):
            oli = f"tb-shop1-{i}"
            r = rng.random()
            order = base if r < args.unacked else acked if r < 0.3 else shipped
            db[oli.encode()] = codec.encode(replace(order, oli=oli))
        db.flush()
        runs, result = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            result = scan(db.items(), T0 + timedelta(seconds=30), policy)
            runs.append(time.perf_counter() - t0)
        db.close()
    assert result is not None
    median = statistics.median(runs)
    print(f"watchdog pass over {args.orders} stored orders ({result.decoded} decoded, {args.unacked:.0%} "
          f"unacknowledged): {median * 1000:.0f} ms median of {args.repeats} "
          f"({median / args.orders * 1e6:.2f} µs per stored order)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
