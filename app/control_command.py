"""`orderhub pause` / `orderhub resume`: stop and restart processing of an input topic or of one
channel on every worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime

from app.operations.control import ControlCommand, input_topic, known_channel
from app.settings import Settings
from app.topic_names import TopicNames


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0, or 1 with one line when the broker fails. Bad input raises OperationsError."""
    from aiokafka.errors import KafkaError

    from app.pause_control import ensure_parked_topic, read_state, send_command

    names = TopicNames(settings.topic_prefix)
    if args.channel is not None:
        from app.channel_setup import load_channels

        target = known_channel(args.channel, load_channels(settings).registry.channels())
        command = ControlCommand(args.action, target, datetime.now(UTC), args.reason or "", "channel")
        what = f"channel {target}"
    else:
        target = input_topic(args.topic, names.prefix, names.inputs)
        command = ControlCommand(args.action, target, datetime.now(UTC), args.reason or "")
        what = target
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its connection errors reach us as one line

    async def go() -> list[str]:
        if command.target_type == "channel":
            await ensure_parked_topic(settings, command.target)  # before any worker parks into it
        await send_command(settings, command)
        state = await read_state(settings)
        return sorted(state.topics) + [f"channel {c}" for c in sorted(state.channels)]

    try:
        paused = asyncio.run(go())
    except KafkaError as exc:
        print(f"orderhub {args.action}: broker {settings.bootstrap_servers}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.action}d {what} on every worker (within about a second)")
    print("paused now: " + (", ".join(paused) or "nothing"))
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for action, what in (("pause", "stop processing an input topic or a channel on every worker "
                                   "(workers keep running)"),
                         ("resume", "restart processing of a paused input topic or channel on every worker")):
        p = sub.add_parser(action, help=what, description=what.capitalize() + ", through <prefix>.control. "
                           "Lag of a paused topic keeps being reported (orderhub lag, /metrics); the envelopes "
                           "of a paused channel are parked and processed after the resume.")
        target = p.add_mutually_exclusive_group(required=True)
        target.add_argument("--topic", help="input topic: short name (channel-orders) or full name")
        target.add_argument("--channel", help="channel (douyin, taobao, ...): its channel-orders envelopes")
        if action == "pause":
            p.add_argument("--reason", help="why, recorded with the command")
        p.add_argument("--broker", help="bootstrap servers host:port (overrides ORDERHUB_BROKER)")
        p.set_defaults(action=action)
