"""Faust wiring: follow the compacted `rules` and `skus` topics into the worker's snapshots.

Runs on every worker (a task, not a group-consuming agent). Order processing waits until
both topics were read to their end once, so no order is routed with a half-loaded catalog.
"""

from __future__ import annotations

import asyncio

from agents.wiring import log
from app import codec
from app.domain.errors import OrderhubError
from app.main import app, settings, topic_names
from app.reference_data import Changes, follow
from tables.reference import reference


def apply_changes(topic: str, changes: Changes, caught_up: bool) -> None:
    if topic == topic_names.rules and changes:
        decoded = {}
        for key, value in changes.items():
            try:
                decoded[key] = None if value is None else codec.decode_rule(value)
            except OrderhubError as exc:
                log.error("rules.unreadable", rule_id=key, error=str(exc))
        reference.rules = reference.rules.updated(decoded)
        for ref, error in reference.rules.invalid_rules():
            log.error("rules.invalid", rule_id=ref.id, version=ref.version, error=error)
        log.info("rules.updated", changed={k: (r.version if r else None) for k, r in decoded.items()},
                 active=len(reference.rules.active), total=len(reference.rules))
    elif topic == topic_names.skus and changes:
        entries = {}
        for key, value in changes.items():
            try:
                entries[key] = None if value is None else codec.decode_sku(value)
            except OrderhubError as exc:
                log.error("skus.unreadable", key=key, error=str(exc))
        reference.catalog = reference.catalog.updated(entries)
        log.info("skus.updated", changed=len(entries), total=len(reference.catalog))
    if caught_up and topic not in reference.loaded:
        reference.loaded.add(topic)
        if reference.loaded >= set(topic_names.reference):
            reference.ready.set()
            log.info("reference.loaded", rules=len(reference.rules), skus=len(reference.catalog))


@app.task
async def follow_reference_data() -> None:
    while True:
        try:
            await follow(settings, list(topic_names.reference), apply_changes)
        except Exception as exc:  # noqa: BLE001 — keep following: a stale snapshot is better than none
            log.error("reference.follow_failed", error=repr(exc), exc_info=True)
            await asyncio.sleep(1.0)
