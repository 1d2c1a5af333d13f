"""Cost of a below-level log call on the agents' logger: prints the median of 5 timings.

Run: .venv/bin/python bench/log_overhead.py
"""

from __future__ import annotations

import statistics
import timeit

from app.logs import configure_logging, get_logger

CALLS = 200_000


def main() -> None:
    configure_logging("INFO", "json")
    log = get_logger("orderhub.agents").bind()  # as agents/wiring.py holds it

    def debug_line() -> None:
        log.debug("order.processed", oli="tb-1", stage="route", outcome="applied", version=2, commands=1)

    timings = timeit.repeat(debug_line, number=CALLS, repeat=5)
    print(f"dropped DEBUG call: median {statistics.median(timings) / CALLS * 1e6:.2f} µs")


if __name__ == "__main__":
    main()
