"""Pure: one merge group (orders with one merge key) and how it moves: `step(group, notice)`.

The `group-merge-candidates` agent keeps a `Group` per merge key and applies the notices
of the `merge-candidates` topic one at a time; each step returns the new group and the
commands to send on `ops-commands`, each to the order it concerns. A merge is a short
saga, because the orders live on other partitions and may move meanwhile:

1. `accept` (an operator, a rule action `merge` or `auto_accept` at the end of the wait):
   the oldest payment is the primary; every other waiting member within the window gets
   `merge_into` and answers `joined` or `refused`.
2. When every member answered, the primary gets `merge` with the joined orders' lines
   and sends the one SHIP (`merged`); nobody joined → the run ends, nothing merged.
3. `undo` sends `unmerge` to the primary; when its merged SHIP is stopped (`unmerged`)
   the joined orders get `end_merge` and ship alone. Too late (`unmerge_failed`): it stands.
4. `shipped` (the primary's parcel left): the joined orders get `merged_shipped`.
5. `tick` (sent by a timer when the wait is over): without a run, the waiting members
   merge (auto) or get `end_merge` and ship alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.domain.commands import OpsCommand
from app.domain.merge import MergePolicy
from app.domain.model import parse_time

WAITING, JOINING, JOINED, PRIMARY = "waiting", "joining", "joined", "primary"
SYSTEM_ACTOR = "orderhub"


@dataclass(frozen=True, slots=True)
class Member:
    oli: str
    external_id: str
    paid_at: datetime
    since: datetime
    lines: tuple[dict[str, Any], ...] = ()
    #: a rule action `merge` matched this order
    auto: bool = False
    state: str = WAITING

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Member:
        paid_at, since = parse_time(d["paid_at"]), parse_time(d["since"])
        assert paid_at is not None and since is not None
        return cls(oli=d["oli"], external_id=d.get("external_id", ""), paid_at=paid_at, since=since,
                   lines=tuple(d.get("lines") or ()), auto=bool(d.get("auto")), state=d.get("state", WAITING))


@dataclass(frozen=True, slots=True)
class Run:
    """One accepted merge of the group, from `accept` to shipped or undone."""

    request_id: str
    primary: str
    actor: str
    role: str
    reason: str
    #: joining → merging → merged (→ undoing)
    state: str
    at: datetime

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        at = parse_time(d["at"])
        assert at is not None
        return cls(d["request_id"], d["primary"], d["actor"], d["role"], d.get("reason", ""), d["state"], at)


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    members: tuple[Member, ...] = ()
    run: Run | None = None
    #: why the last request did nothing (shown by GET /api/merges/{id})
    note: str = field(default="")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Group:
        return cls(d["key"], tuple(Member.from_dict(m) for m in d.get("members") or ()),
                   Run.from_dict(d["run"]) if d.get("run") else None, d.get("note", ""))

    def waiting(self) -> list[Member]:
        return sorted((m for m in self.members if m.state == WAITING), key=lambda m: (m.paid_at, m.oli))

    def deadline(self, policy: MergePolicy) -> datetime | None:
        """When the waiting members stop waiting: the first one's start plus the policy's wait."""
        waiting = self.waiting()
        return min(m.since for m in waiting) + policy.wait if waiting else None

    def mergeable(self, policy: MergePolicy) -> list[Member]:
        """The waiting members an accept would merge: paid within the window of the oldest."""
        waiting = self.waiting()
        if not waiting:
            return []
        first = waiting[0].paid_at
        within = [m for m in waiting if m.paid_at - first <= policy.window]
        return within if len(within) >= 2 else []


Step = tuple[Group | None, list[OpsCommand]]


def _command(run: Run, oli: str, action: str, now: datetime, **params: Any) -> OpsCommand:
    return OpsCommand(request_id=f"{run.request_id}:{action}:{oli}", oli=oli, action=action, actor=run.actor,
                      role=run.role, at=now, params=params, reason=run.reason)


def _with(group: Group, oli: str, **changes: Any) -> Group:
    return replace(group, members=tuple(replace(m, **changes) if m.oli == oli else m for m in group.members))


def _drop(group: Group, olis: set[str]) -> Group:
    return replace(group, members=tuple(m for m in group.members if m.oli not in olis))


def _settled(group: Group) -> Group | None:
    """The group, or None when nothing is left to keep."""
    return group if group.members or group.run else None


def _end(group: Group, run: Run, states: set[str], now: datetime, *, keep_run: bool = False) -> Step:
    """Members in `states` get `end_merge` (they ship alone) and leave the group; the run ends
    unless `keep_run`."""
    ending = [m.oli for m in group.members if m.state in states]
    commands = [_command(run, oli, "end_merge", now) for oli in ending]
    return _settled(replace(_drop(group, set(ending)), run=group.run if keep_run else None)), commands


def _accept(group: Group, notice: dict[str, Any], policy: MergePolicy, now: datetime) -> Step:
    if group.run is not None:
        return replace(group, note=f"a merge is already {group.run.state}"), []
    members = group.mergeable(policy)
    if not members:
        return replace(group, note="fewer than two orders are waiting within the window"), []
    run = Run(request_id=notice.get("request_id") or f"merge-{group.key}-{int(now.timestamp())}",
              primary=members[0].oli, actor=notice.get("actor", SYSTEM_ACTOR), role=notice.get("role", "system"),
              reason=notice.get("reason", ""), state="joining", at=now)
    g = replace(group, run=run, note="")
    commands = []
    for m in members[1:]:
        g = _with(g, m.oli, state=JOINING)
        commands.append(_command(run, m.oli, "merge_into", now, into=run.primary, merge_key=group.key))
    return g, commands


def _advance(group: Group, now: datetime) -> Step:
    """Every member answered the `merge_into`: send `merge` to the primary, or give up."""
    run = group.run
    if run is None or run.state != "joining" or any(m.state == JOINING for m in group.members):
        return group, []
    joined = [m for m in group.members if m.state == JOINED]
    if not joined:
        return replace(group, run=None, note="no other order could join"), []
    parts = [{"oli": m.oli, "external_id": m.external_id, "lines": list(m.lines)} for m in joined]
    g = replace(_with(group, run.primary, state=PRIMARY), run=replace(run, state="merging"))
    return g, [_command(run, run.primary, "merge", now, parts=parts, merge_key=group.key)]


def step(group: Group | None, key: str, notice: dict[str, Any], policy: MergePolicy, now: datetime) -> Step:
    kind = notice.get("type")
    g = group or Group(key)
    run = g.run
    oli = notice.get("oli", "")
    if kind == "waiting":
        member = Member.from_dict(notice["member"])
        return replace(_drop(g, {member.oli}), members=_drop(g, {member.oli}).members + (member,)), []
    if kind == "accept":
        return _accept(g, notice, policy, now)
    if kind == "tick":
        deadline = g.deadline(policy)
        if deadline is None or now < deadline:
            return _settled(g), []
        members = g.mergeable(policy) if run is None else []
        if members and (policy.auto_accept or all(m.auto for m in members)):
            return _accept(g, {"reason": "merged automatically at the end of the wait"}, policy, now)
        ending = Run(f"wait-{key}-{int(now.timestamp())}", "", SYSTEM_ACTOR, "system", "merge wait over",
                     "ended", now)
        return _end(g, ending, {WAITING}, now, keep_run=True)
    if run is None:
        if kind == "gone":
            return _settled(_drop(g, {oli})), []
        return _settled(g), []  # an answer to a run that ended
    if kind in ("joined", "refused", "gone"):
        if oli == run.primary and run.state in ("joining", "merging"):
            # the primary cannot take the parcel (released, cancelled): the joined orders ship alone
            return _end(_drop(g, {oli}), run, {JOINING, JOINED}, now)
        if kind == "joined":
            return _advance(_with(g, oli, state=JOINED), now)
        return _advance(_drop(g, {oli}), now)
    if kind == "merged":
        return replace(g, run=replace(run, state="merged")), []
    if kind == "undo":
        if run.state != "merged":
            return replace(g, note=f"nothing to undo: the merge is {run.state}"), []
        undo = replace(run, actor=notice.get("actor", run.actor), role=notice.get("role", run.role),
                       reason=notice.get("reason", ""), request_id=notice.get("request_id", run.request_id))
        return replace(g, run=replace(undo, state="undoing")), [_command(undo, run.primary, "unmerge", now)]
    if kind == "unmerged":  # the primary routes alone again; the joined orders follow suit
        return _end(_drop(g, {run.primary}), run, {JOINED}, now)
    if kind == "unmerge_failed":
        return replace(g, run=replace(run, state="merged"), note="too late to undo: the parcel left"), []
    if kind == "shipped":
        joined = [m.oli for m in g.members if m.state == JOINED]
        commands = [_command(run, m, "merged_shipped", now, command_id=notice.get("command_id", ""),
                             tracking_no=notice.get("tracking_no", ""), carrier=notice.get("carrier", ""),
                             primary=run.primary) for m in joined]
        return _settled(replace(_drop(g, {*joined, run.primary}), run=None)), commands
    return _settled(g), []


def view(group: Group, policy: MergePolicy) -> dict[str, Any]:
    """A group as `GET /api/merges` shows it."""
    deadline = group.deadline(policy)
    return {"id": group.key, "members": [
        {"oli": m.oli, "external_id": m.external_id, "paid_at": m.paid_at.isoformat(), "state": m.state,
         "waiting_since": m.since.isoformat(), "lines": len(m.lines), "auto": m.auto} for m in group.members],
        "mergeable": [m.oli for m in group.mergeable(policy)] if group.run is None else [],
        "merge": None if group.run is None else {
            "state": group.run.state, "primary": group.run.primary, "actor": group.run.actor,
            "request_id": group.run.request_id, "at": group.run.at.isoformat()},
        "wait_until": deadline.isoformat() if deadline else None, "note": group.note}
