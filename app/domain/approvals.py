"""Pure: the approval policy (二级审核) and the approval records of an order.

The policy says which changes need approval and how many levels: by default an address
or carrier change after payment, a cancel after fulfillment was requested and any split
need one approver, and a second one when the order's total is above
`second_level_above` (minor units). Approvers must differ from the requester and from
each other. Policy file (YAML or JSON)::

    rules:
      - {actions: [change_address, set_carrier], when: paid}
      - {actions: [cancel], when: fulfillment_requested}
      - {actions: [split], when: always}
    second_level_above: 100000
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.domain.commands import ORDER_ACTIONS, OpsCommand
from app.domain.errors import ValidationError
from app.domain.model import FulfillmentState, Order, parse_time

WHEN = ("always", "paid", "fulfillment_requested")
#: decided approvals kept per order (pending ones are always kept)
KEEP_DECIDED = 20


class ApprovalState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalError(ValidationError):
    """An approve/reject of an approval that is not pending (decided already, or unknown)."""

    code = "approval_refused"


class ApprovalForbiddenError(ApprovalError):
    """The person may not decide: it is their own request, or they approved it already."""

    code = "approval_forbidden"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    actions: frozenset[str]
    when: str


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    rules: tuple[PolicyRule, ...]
    second_level_above: int

    @classmethod
    def default(cls) -> ApprovalPolicy:
        return cls((PolicyRule(frozenset({"change_address", "set_carrier"}), "paid"),
                    PolicyRule(frozenset({"cancel"}), "fulfillment_requested"),
                    PolicyRule(frozenset({"split"}), "always")), second_level_above=100_000)

    @classmethod
    def from_dict(cls, data: Any) -> ApprovalPolicy:
        if not isinstance(data, dict):
            raise ValidationError("approval policy: expected a mapping with 'rules'")
        unknown = sorted(set(data) - {"rules", "second_level_above"})
        if unknown:
            raise ValidationError(f"approval policy: unknown field {unknown[0]!r}")
        rules = []
        for i, raw in enumerate(data.get("rules") or []):
            if not isinstance(raw, dict):
                raise ValidationError(f"approval policy: rules[{i}] must be a mapping")
            actions = raw.get("actions")
            if not isinstance(actions, list) or not actions:
                raise ValidationError(f"approval policy: rules[{i}].actions must be a non-empty list")
            bad = [a for a in actions if a not in ORDER_ACTIONS]
            if bad:
                raise ValidationError(f"approval policy: rules[{i}].actions: unknown command {bad[0]!r}")
            when = raw.get("when", "always")
            if when not in WHEN:
                raise ValidationError(f"approval policy: rules[{i}].when must be one of {', '.join(WHEN)}")
            rules.append(PolicyRule(frozenset(actions), when))
        above = data.get("second_level_above", 100_000)
        if not isinstance(above, int) or isinstance(above, bool) or above < 0:
            raise ValidationError("approval policy: second_level_above must be a non-negative integer (fen)")
        return cls(tuple(rules), above)

    def levels(self, order: Order, command: OpsCommand) -> int:
        """0 = apply at once; 1 or 2 = that many distinct approvers."""
        for rule in self.rules:
            if command.action in rule.actions and _applies(rule.when, order):
                return 2 if order.amounts.total > self.second_level_above else 1
        return 0


def _applies(when: str, order: Order) -> bool:
    if when == "paid":
        return order.is_paid
    if when == "fulfillment_requested":
        return order.fulfillment.state is not FulfillmentState.NONE
    return True


@dataclass(frozen=True, slots=True)
class Approval:
    approval_id: str
    oli: str
    state: ApprovalState
    levels: int
    #: the command waiting for approval, as on the wire
    command: dict[str, Any]
    requested_by: str
    requested_at: datetime
    approvers: tuple[str, ...] = ()
    decided_at: datetime | None = None
    reasons: tuple[str, ...] = ()
    amount: int = 0
    currency: str = "CNY"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Approval:
        requested_at = parse_time(d["requested_at"])
        assert requested_at is not None
        return cls(approval_id=d["approval_id"], oli=d["oli"], state=ApprovalState(d["state"]),
                   levels=d["levels"], command=d["command"], requested_by=d["requested_by"],
                   requested_at=requested_at, approvers=tuple(d.get("approvers") or ()),
                   decided_at=parse_time(d.get("decided_at")), reasons=tuple(d.get("reasons") or ()),
                   amount=d.get("amount", 0), currency=d.get("currency", "CNY"))


def approval_id_for(command: OpsCommand) -> str:
    """`<oli>:<request_id>`: the OLI inside the id routes approve/reject to the order's worker."""
    return f"{command.oli}:{command.request_id}"


def oli_of_approval(approval_id: str) -> str:
    oli, sep, request_id = approval_id.rpartition(":")
    if not sep or not oli or not request_id:
        raise ValidationError(f"not an approval id: {approval_id!r}")
    return oli


def find(approvals: tuple[Approval, ...], approval_id: str) -> Approval | None:
    return next((a for a in approvals if a.approval_id == approval_id), None)


def check_decider(approval: Approval | None, actor: str, approval_id: str) -> Approval:
    """Refuse what the rules forbid; nothing changes when this raises."""
    if approval is None:
        raise ApprovalError(f"approval {approval_id!r} not found")
    if approval.state is not ApprovalState.PENDING:
        raise ApprovalError(f"approval {approval_id!r} is already {approval.state.value}")
    if actor == approval.requested_by:
        raise ApprovalForbiddenError("approvers must differ from the requester")
    if actor in approval.approvers:
        raise ApprovalForbiddenError(f"{actor} already approved this change: a second approver must be someone else")
    return approval


def record_step(approval: Approval, actor: str, reason: str, now: datetime, *, approve: bool) -> Approval:
    reasons = approval.reasons + ((f"{actor}: {reason}",) if reason else ())
    if not approve:
        return replace(approval, state=ApprovalState.REJECTED, decided_at=now, reasons=reasons)
    approvers = approval.approvers + (actor,)
    done = len(approvers) >= approval.levels
    return replace(approval, approvers=approvers, reasons=reasons,
                   state=ApprovalState.APPROVED if done else ApprovalState.PENDING,
                   decided_at=now if done else None)


def upsert(approvals: tuple[Approval, ...], approval: Approval) -> tuple[Approval, ...]:
    """Replace or add `approval`; keep every pending one and the last KEEP_DECIDED decided."""
    rest = [a for a in approvals if a.approval_id != approval.approval_id] + [approval]
    pending = [a for a in rest if a.state is ApprovalState.PENDING]
    decided = [a for a in rest if a.state is not ApprovalState.PENDING][-KEEP_DECIDED:]
    return tuple(sorted(pending + decided, key=lambda a: a.requested_at))


def pending(approvals: tuple[Approval, ...]) -> list[Approval]:
    return [a for a in approvals if a.state is ApprovalState.PENDING]

