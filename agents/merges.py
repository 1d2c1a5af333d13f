"""Faust wiring: merge groups. `merge-candidates` (keyed by merge key) → `merge-groups` table → `ops-commands`.

Orders of one buyer live on different partitions; their notices (waiting, joined, ...)
and the console's accept / undo meet here, on the partition of their merge key, and
`app/domain/merge_groups.py` decides. A timer sends `tick` for groups whose wait is
over, since a table is only written inside a stream event.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson

from agents.wiring import consume, dead_letter, log, send, utcnow
from app import codec
from app.console_config import load_merge_policy
from app.domain import merge_groups
from app.domain.merge import MergePolicy
from app.domain.merge_orders import Notice
from app.main import app, settings
from app.topics import merge_candidates_topic, ops_commands_topic
from tables.merges import merge_groups_table

TICK_EVERY_S = 1.0
TICK_AGAIN_AFTER_S = 5.0
_ticked: dict[bytes, float] = {}


@cache
def merge_policy() -> MergePolicy:
    return load_merge_policy(settings)


@app.task
async def check_merge_policy() -> None:
    """A bad merge policy file stops the worker at start."""
    merge_policy()


async def send_notices(notices: Iterable[Notice], source: Any) -> None:
    """Tell merge groups what happened to their orders (within the source event's transaction)."""
    for key, notice in notices:
        await send(merge_candidates_topic, key.encode(), orjson.dumps(notice | {"at": utcnow().isoformat()}), source)


def decode_group(value: bytes | None) -> merge_groups.Group | None:
    return None if value is None else merge_groups.Group.from_dict(orjson.loads(value))


async def handle(event: Any) -> None:
    try:
        key = bytes(event.key or b"").decode()
        notice = codec.decode_json(event.value, what="merge notice")
        group, commands = merge_groups.step(decode_group(merge_groups_table.get(key.encode())), key, notice,
                                            merge_policy(), utcnow())
    except Exception as exc:  # noqa: BLE001 — every failure is dead-lettered, never raised
        await dead_letter(event, exc, stage="merge")
        return
    for command in commands:
        await send(ops_commands_topic, command.oli.encode(), codec.encode(command), event)
    if group is None:
        if key.encode() in merge_groups_table:
            del merge_groups_table[key.encode()]
    else:
        merge_groups_table[key.encode()] = orjson.dumps(group)
    log.info("merge.step", merge_key=key, notice=notice.get("type"), oli=notice.get("oli"),
             commands=[f"{c.action}:{c.oli}" for c in commands],
             run=group.run.state if group and group.run else None)


@app.agent(merge_candidates_topic, name="group-merge-candidates")
async def group_merge_candidates(stream):  # type: ignore[no-untyped-def]
    await consume(stream, handle)


@app.timer(interval=TICK_EVERY_S)
async def end_merge_waits() -> None:
    """Send `tick` to each local group whose wait is over (the group decides what that means)."""
    policy = merge_policy()
    if not policy.enabled:
        return
    now, mono = datetime.now(UTC), time.monotonic()
    due = []
    try:
        for key, value in list(merge_groups_table.items()):
            group = decode_group(value)
            deadline = group.deadline(policy) if group else None
            if deadline is not None and deadline <= now and mono - _ticked.get(key, 0.0) >= TICK_AGAIN_AFTER_S:
                due.append(key)
    except Exception as exc:  # noqa: BLE001 — e.g. the table is being rebuilt after a rebalance: next second
        log.warning("merge.tick_skipped", error=repr(exc))
        return
    for key in due:
        _ticked[key] = mono
        # not inside a stream event: a plain send, like the console's commands
        await app.producer.send_and_wait(merge_candidates_topic.get_topic_name(), key,
                                         orjson.dumps({"type": "tick", "at": now.isoformat()}), None, None, None)
    for key in [k for k, t in _ticked.items() if mono - t > 60]:
        del _ticked[key]
