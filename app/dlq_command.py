"""`orderhub dlq list|show|replay`: the DLQ tooling on the command line (app/dlq_tool.py does the work)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

from app.operations.dlq_ids import DlqId
from app.operations.errors import OperationsError
from app.operations.since import parse_since
from app.settings import Settings
from app.table_text import render

if TYPE_CHECKING:  # the Kafka client is imported only when a DLQ command runs
    from app.dlq_tool import DlqRecord, DlqTool


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Exit code 0, or 1 with one line on stderr when the broker fails. Bad input raises OperationsError."""
    import logging

    from app.dlq_tool import DlqTool, DlqToolError

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its connection errors reach us as one line
    tool = DlqTool(settings)
    try:
        return asyncio.run(_ACTIONS[args.dlq_action](tool, args))
    except DlqToolError as exc:
        print(f"orderhub dlq: {exc}", file=sys.stderr)
        return 1


def _since(args: argparse.Namespace) -> datetime | None:
    return parse_since(args.since, datetime.now(UTC)) if getattr(args, "since", None) else None


async def _list(tool: DlqTool, args: argparse.Namespace) -> int:
    records = await tool.entries(topic=args.topic, since=_since(args))
    if args.json:
        for record in records:
            sys.stdout.write(orjson.dumps(record.summary()).decode() + "\n")
        return 0
    rows = [(str(r.id), r.entry.get("last_failed_at", "")[:19], r.entry.get("stage"), r.entry.get("error_type"),
             r.entry.get("attempts"), r.entry.get("key"), "yes" if r.replayed else "",
             r.entry.get("error")) for r in records]
    print(render(("ID", "FAILED AT (UTC)", "STAGE", "ERROR TYPE", "ATTEMPTS", "KEY", "REPLAYED", "ERROR"), rows))
    replayed = sum(1 for r in records if r.replayed)
    print(f"{len(records)} entries, {replayed} replayed already", file=sys.stderr)
    return 0


async def _show(tool: DlqTool, args: argparse.Namespace) -> int:
    record = await tool.show(DlqId.parse(args.id))
    sys.stdout.write(orjson.dumps(record.detail(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


async def _replay(tool: DlqTool, args: argparse.Namespace) -> int:
    ids = [DlqId.parse(i) for i in args.ids] if args.ids else None
    records = await tool.entries(topic=args.topic, since=_since(args), ids=ids)
    report = await _replay_with_progress(tool, records, args)
    verb = "would replay" if report.dry_run else "replayed"
    for dlq_id in report.ids if report.dry_run else ():
        print(dlq_id)
    print(f"{verb} {len(report.ids)} of {report.selected} selected entries; "
          f"{report.skipped_already_replayed} skipped as already replayed"
          + ("" if args.include_replayed else " (--include-replayed sends them again)"), file=sys.stderr)
    return 0


async def _replay_with_progress(tool: DlqTool, records: list[DlqRecord], args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    todo = sum(1 for r in records if args.include_replayed or r.replayed is None)
    with tqdm(total=todo, desc="replayed", unit="msg", file=sys.stderr, disable=args.dry_run or todo < 1000,
              mininterval=0.5) as bar:
        return await tool.replay(records, dry_run=args.dry_run, include_replayed=args.include_replayed,
                                 progress=bar.update)


_ACTIONS = {"list": _list, "show": _show, "replay": _replay}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("dlq", help="list, show and replay dead-lettered messages",
                       description="Dead-letter queues (<input topic>.dlq). An entry's ID is "
                                   "<dlq topic>:<partition>:<offset>, e.g. orderhub.payments.dlq:0:42. "
                                   "Broker and topic prefix come from ORDERHUB_* settings.")
    dlq = p.add_subparsers(dest="dlq_action", metavar="ACTION", required=True, parser_class=type(p))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--broker", help="bootstrap servers host:port (overrides ORDERHUB_BROKER)")
    topic_help = "one input: short name (payments), topic or DLQ topic (default: all)"
    since_help = "only entries that failed since an ISO-8601 time or a duration back from now (15m, 2h, 7d)"

    q = dlq.add_parser("list", parents=[common], help="list DLQ entries (oldest first per partition)")
    q.add_argument("--topic", help=topic_help)
    q.add_argument("--since", help=since_help)
    q.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")

    q = dlq.add_parser("show", parents=[common], help="show one entry with its decoded value")
    q.add_argument("id", metavar="ID", help="<dlq topic>:<partition>:<offset>")

    q = dlq.add_parser("replay", parents=[common], help="produce entries back into their source topics",
                       description="Produce the selected entries' original key, value and headers into "
                                   "their source topics, with header orderhub-replays = attempts so far. "
                                   "Nothing is deleted. Replayed ids are recorded on <prefix>.dlq-replays "
                                   "and skipped by later replays unless --include-replayed.")
    q.add_argument("--topic", help=topic_help)
    q.add_argument("--ids", nargs="+", metavar="ID", help="only these entries")
    q.add_argument("--since", help=since_help)
    q.add_argument("--dry-run", action="store_true", help="print the ids that would be replayed; send nothing")
    q.add_argument("--include-replayed", action="store_true", help="also send entries replayed before")


__all__ = ["OperationsError", "add_parser", "run"]
