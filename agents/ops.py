"""Faust wiring: operator commands → orders, approvals and the audit topic.

Not an agent of its own: `process-orders` reads `ops-commands` with its other inputs and
hands each command here, so an order's commands and channel inputs are applied one at a
time against the same stored state. The decision comes from `app/domain/operations.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import orjson

from agents.history import record as record_history
from agents.merges import send_notices
from agents.wiring import dead_letter, log, publish, send, utcnow
from app import codec, tracing
from app.console import bulk
from app.console_config import load_policy
from app.domain import operations, transitions
from app.domain.approvals import ApprovalPolicy
from app.domain.audit import AuditEntry
from app.domain.merge_orders import notices, refusal_notice
from app.main import app, settings
from app.topics import audit_topic, ops_commands_topic
from tables.console import approvals_table, bulk_progress_table
from tables.orders import orders_table

OPS_TOPIC = ops_commands_topic.get_topic_name()


@cache
def policy() -> ApprovalPolicy:
    return load_policy(settings)


@app.task
async def check_console_files() -> None:
    """A bad policy file stops the worker at start, not at the first command."""
    policy()


async def send_audit(entries: Iterable[AuditEntry], source: Any) -> None:
    sent = []
    for entry in entries:
        encoded = codec.encode(entry)
        sent.append(encoded)
        await send(audit_topic, entry.oli.encode(), encoded, source)
    if sent:
        record_history(audit=sent)


async def audit_automatic_holds(decision: transitions.Decision, source: Any) -> None:
    await send_audit(operations.automatic_holds(decision, utcnow()), source)


async def apply_ops_command(event: Any, routing: transitions.Router) -> None:
    """Apply one command; `routing` is the router `process-orders` built for this event (rules, catalog)."""
    try:
        command = codec.decode_ops_command(event.value)
        key = command.oli.encode()
        before = codec.decode_order(orders_table.get(key))
        out = operations.apply_command(before, codec.decode_approvals(approvals_table.get(key)),
                                       command, policy(), utcnow(), routing)
    except Exception as exc:  # noqa: BLE001 — every failure is dead-lettered, never raised
        await dead_letter(event, exc, stage="ops")
        return
    tracing.tag(oli=command.oli, version=out.decision.order.version if out.decision.order else None,
                event_type=command.action, outcome=out.outcome)
    await publish(out.decision, event)
    await send_audit(out.audit, event)
    await send_notices(notices(before, out.decision.order, utcnow()) if out.decision.order is not None
                       else refusal_notice(command), event)
    if out.decision.order is not None:
        orders_table[key] = codec.encode(out.decision.order)
    if out.approvals is not None:
        approvals_table[key] = codec.encode(out.approvals)
    if command.job_id:
        # a key per partition: each partition counts the commands it applied (see app/console/bulk.py)
        progress_key = f"{command.job_id}/{event.message.partition}".encode()
        raw = bulk_progress_table.get(progress_key)
        bulk_progress_table[progress_key] = orjson.dumps(bulk.count(
            orjson.loads(raw) if raw else None, job_size=command.job_size, command=command.action,
            actor=command.actor, outcome=out.outcome))
    log.info("order.operated", oli=command.oli, stage="ops", action=command.action, actor=command.actor,
             outcome=out.outcome, request_id=command.request_id,
             version=out.decision.order.version if out.decision.order else None)
