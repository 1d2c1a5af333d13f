"""Faust wiring: merge groups: list them, accept a merge, undo it.

Accept and undo are notices on `merge-candidates` keyed by the group's id (its merge
key): the `group-merge-candidates` agent applies them, never this handler.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner
from faust.web import View

from agents.merges import decode_group, merge_policy
from app.console.roles import Permission, Principal
from app.domain import merge_groups
from app.domain.errors import ValidationError
from app.main import app, settings
from app.topics import merge_candidates_topic
from app.web.api import ApiError, api, gather, json_body, json_response, shown, state_and_limit
from app.web.orders import new_request_id
from tables.merges import merge_groups_table

STATES = ("open", "merged", "all")
GROUP_ID = re.compile(r"[0-9a-f]{24}")


def _state_of(group: merge_groups.Group) -> str:
    return "open" if group.run is None else "merged"


def merges_local(state: str, limit: int) -> dict[str, Any]:
    policy, found = merge_policy(), []
    for _key, value in merge_groups_table.items():
        group = decode_group(value)
        if group is None or state not in ("all", _state_of(group)):
            continue
        if state == "open" and not group.mergeable(policy):
            continue  # a single waiting order is not a candidate
        found.append(merge_groups.view(group, policy))
        if len(found) >= limit:
            break
    return {"merges": found}


@app.page("/api/merges")
class MergesView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal) -> Any:
        state, limit = state_and_limit(request.query, STATES, "open")

        async def local() -> dict[str, Any]:
            return merges_local(state, limit)

        answers, failed = await gather(request, local)
        found = sorted((m for a in answers for m in a["merges"]), key=lambda m: m["wait_until"] or "")
        return json_response(self, shown(principal, {
            "merges": found[:limit], "enabled": merge_policy().enabled, "unreachable": failed}))


def _checked_id(group_id: str) -> str:
    if not GROUP_ID.fullmatch(group_id):
        raise ApiError(404, f"no merge group {group_id!r} (ids are 24 hex digits)")
    return group_id


async def find_group(request: Any, group_id: str) -> dict[str, Any]:
    """The group as `GET /api/merges/{id}` shows it, asked of every worker: a group's owner is
    found by asking, since a worker that never wrote the `merge-groups` changelog cannot
    compute its partition. Only the worker that actively owns the group's partition answers
    with it: others may hold a standby or pre-rebalance copy that is behind."""
    _checked_id(group_id)

    async def local() -> dict[str, Any]:
        key = group_id.encode()
        if not owns(merge_groups_table, key):  # a standby or pre-rebalance copy may be behind
            return {"groups": []}
        group = decode_group(merge_groups_table.get(key))
        return {"groups": [merge_groups.view(group, merge_policy())] if group else []}

    answers, failed = await gather(request, local, path=f"/api/merges/{group_id}", query={})
    found = [g for a in answers for g in a["groups"]]
    if found:
        return found[0]
    if failed:
        raise ApiError(503, f"merge group {group_id!r}: not every worker answered; retry shortly")
    raise ApiError(404, f"no merge group {group_id!r}")


@app.page("/api/merges/{group_id}")
class MergeView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal, group_id: str) -> Any:
        return json_response(self, shown(principal, await find_group(request, group_id)))


@app.page("/api/merges/{group_id}/{action}")
class MergeActionView(View):
    @api(Permission.COMMAND)
    async def post(self, request: Any, principal: Principal, group_id: str, action: str) -> Any:
        if action not in ("accept", "undo"):
            raise ApiError(404, f"no such action {action!r}: accept or undo")
        body = await json_body(request)
        body = {} if body is None else body
        if not isinstance(body, dict):
            raise ValidationError("body: expected a JSON object")
        unknown = sorted(set(body) - {"reason"})
        if unknown:
            raise ValidationError(f"unknown field {unknown[0]!r}")
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 500:
            raise ValidationError("field 'reason' must be a string of at most 500 characters")
        view = await find_group(request, group_id)
        if action == "accept" and (view["merge"] is not None or not view["mergeable"]):
            raise ApiError(409, "nothing to merge: " + (f"a merge is already {view['merge']['state']}"
                                                       if view["merge"] else "fewer than two orders are waiting"))
        if action == "undo" and (view["merge"] is None or view["merge"]["state"] != "merged"):
            state = view["merge"]["state"] if view["merge"] else "not merged"
            raise ApiError(409, f"nothing to undo: the group is {state}")
        request_id = new_request_id()
        notice = {"type": action, "actor": principal.name, "role": principal.role.value, "reason": reason.strip(),
                  "request_id": request_id, "at": datetime.now(UTC).isoformat()}
        await app.producer.send_and_wait(merge_candidates_topic.get_topic_name(), group_id.encode(),
                                         orjson.dumps(notice), None, None, None)
        return json_response(self, {"request_id": request_id, "id": group_id, "action": action,
                                    "status": "accepted"}, 202)


def owns(table: Any, key: bytes) -> bool:
    """True if this worker is the active owner of `key`'s partition of `table` (keys are
    partitioned like Kafka's default partitioner, over the configured partition count)."""
    partitions = list(range(settings.partitions))
    partition = DefaultPartitioner()(key, partitions, partitions)
    topic = table.changelog_topic.get_topic_name()
    return any(tp.topic == topic and tp.partition == partition for tp in app.assignor.assigned_actives())
