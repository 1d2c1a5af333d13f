"""`orderhub lag`: committed offset, log end offset, lag and consumption rate per group/topic/partition."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import orjson

from app.operations.lag import lag_rows, totals
from app.settings import Settings
from app.table_text import render


def run(args: argparse.Namespace, settings: Settings) -> int:
    from app.lag_reader import LagReaderError

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its connection errors reach us as one line
    try:
        return asyncio.run(_lag(args, settings))
    except LagReaderError as exc:
        print(f"orderhub lag: {exc}", file=sys.stderr)
        return 1


async def _lag(args: argparse.Namespace, settings: Settings) -> int:
    from app.lag_reader import LagReader

    async with LagReader(settings) as reader:
        if args.all_groups:
            groups = await reader.groups()
        else:
            groups = list(dict.fromkeys(args.group)) if args.group else settings.watched_groups
        first = await reader.snapshot(groups)
        await asyncio.sleep(args.interval)
        second = await reader.snapshot(groups)
    rows = lag_rows(second, first)
    if args.json:
        print(orjson.dumps({"groups": groups, "interval_s": args.interval,
                            "partitions": [r.as_dict() for r in rows],
                            "totals": [{"group": g, "topic": t, "lag": lag, "rate": None if r is None else round(r, 2)}
                                       for (g, t), (lag, r) in totals(rows).items()]}).decode())
        return 0
    if not rows:
        print(f"no committed offsets for {', '.join(groups) or 'any group'}", file=sys.stderr)
        return 0
    print(render(("GROUP", "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "RATE/S"),
                 [(r.group, r.topic, r.partition, r.committed, r.end, r.lag, r.rate) for r in rows], max_width=80))
    for (group, topic), (lag, rate) in totals(rows).items():
        print(f"{group} {topic}: lag {lag}, {0.0 if rate is None else rate:.1f} msg/s", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("lag", help="consumer lag and consumption rate per group, topic and partition",
                       description="Like kafka-consumer-groups.sh --describe: for each partition a group "
                                   "has committed, the committed offset, the log end offset, the lag and "
                                   "the consumption rate (commits per second between two samples "
                                   "--interval apart). Default groups: ORDERHUB_APP_ID and ORDERHUB_LAG_GROUPS.")
    p.add_argument("--group", action="append", metavar="G", help="a consumer group (repeatable)")
    p.add_argument("--all-groups", action="store_true", help="every consumer group on the cluster")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between the two samples (default 2)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    p.add_argument("--broker", help="bootstrap servers host:port (overrides ORDERHUB_BROKER)")
