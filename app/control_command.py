"""`orderhub pause` / `orderhub resume`: stop and restart processing of an input topic on every worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime

from app.operations.control import ControlCommand, input_topic
from app.settings import Settings
from app.topic_names import TopicNames


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0, or 1 with one line when the broker fails. Bad input raises OperationsError."""
    from aiokafka.errors import KafkaError

    from app.pause_control import read_state, send_command

    names = TopicNames(settings.topic_prefix)
    topic = input_topic(args.topic, names.prefix, names.inputs)
    command = ControlCommand(args.action, topic, datetime.now(UTC), args.reason or "")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its connection errors reach us as one line

    async def go() -> list[str]:
        await send_command(settings, command)
        return sorted((await read_state(settings)).topics)

    try:
        paused = asyncio.run(go())
    except KafkaError as exc:
        print(f"orderhub {args.action}: broker {settings.bootstrap_servers}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.action}d {topic} on every worker (within about a second)")
    print("paused now: " + (", ".join(paused) or "nothing"))
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for action, what in (("pause", "stop processing an input topic on every worker (workers keep running)"),
                         ("resume", "restart processing of a paused input topic on every worker")):
        p = sub.add_parser(action, help=what, description=what.capitalize() + ", through <prefix>.control. "
                           "Lag of a paused topic keeps being reported (orderhub lag, /metrics).")
        p.add_argument("--topic", required=True, help="input topic: short name (channel-orders) or full name")
        if action == "pause":
            p.add_argument("--reason", help="why, recorded with the command")
        p.add_argument("--broker", help="bootstrap servers host:port (overrides ORDERHUB_BROKER)")
        p.set_defaults(action=action)
