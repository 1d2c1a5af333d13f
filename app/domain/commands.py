"""Pure: operator commands (`orderhub.ops-commands`): their shape and their validation.

A command is what an operator asks for one order: change the address, set carrier or
warehouse, hold, release, cancel, split into parcels; `approve` / `reject` answer a
pending approval. `parse_request` checks what a client sent and names the field that is
wrong; `check_against` checks what depends on the order itself (its version, its lines).
The agent checks both again before applying: the order may have moved meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.errors import ValidationError
from app.domain.model import SCHEMA_VERSION, FulfillmentState, Order, OrderStatus

ORDER_ACTIONS = ("change_address", "set_carrier", "set_warehouse", "hold", "release", "cancel", "split")
APPROVAL_ACTIONS = ("approve", "reject")
#: sent by the merge-group agent, never by clients (app/domain/merge_orders.py)
MERGE_ACTIONS = ("merge_into", "merge", "unmerge", "end_merge", "merged_shipped")
ACTIONS = ORDER_ACTIONS + APPROVAL_ACTIONS + MERGE_ACTIONS
RECEIVER_FIELDS = ("name", "phone")
ADDRESS_FIELDS = ("country", "province", "city", "district", "town", "detail", "adcode", "postcode")
MAX_TEXT = 500
MAX_PARCELS = 50


class StaleVersionError(ValidationError):
    """`if_version` is not the order's current version: the client acted on an old view."""

    code = "stale_version"


class CommandConflictError(ValidationError):
    """The command cannot apply to the order as it is (already shipped, cancelled, ...)."""

    code = "command_conflict"


@dataclass(frozen=True, slots=True)
class OpsCommand:
    request_id: str
    oli: str
    action: str
    actor: str
    role: str
    at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    if_version: int | None = None
    reason: str = ""
    #: the approval an `approve` / `reject` answers
    approval_id: str = ""
    #: the bulk job this command belongs to, if any, and the job's number of orders
    job_id: str = ""
    job_size: int = 0
    schema_version: int = SCHEMA_VERSION


def _text(value: Any, name: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise ValidationError(f"missing field {name!r}")
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"field {name!r} must be a string")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"field {name!r} is longer than {MAX_TEXT} characters")
    if required and not value.strip():
        raise ValidationError(f"field {name!r} must not be empty")
    return value.strip()


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"field {name!r} must be an object")
    return value


def _receiver_params(params: dict[str, Any]) -> dict[str, Any]:
    receiver = _object(params.get("receiver"), "params.receiver")
    out: dict[str, Any] = {}
    for key, value in receiver.items():
        if key in RECEIVER_FIELDS:
            out[key] = _text(value, f"params.receiver.{key}", required=True)
        elif key == "address":
            address = _object(value, "params.receiver.address")
            unknown = sorted(set(address) - set(ADDRESS_FIELDS))
            if unknown:
                raise ValidationError(f"unknown field 'params.receiver.address.{unknown[0]}'")
            out["address"] = {k: _text(v, f"params.receiver.address.{k}") for k, v in address.items()}
        else:
            raise ValidationError(f"unknown field 'params.receiver.{key}'")
    if not out:
        raise ValidationError("field 'params.receiver' must change at least one of name, phone, address")
    return {"receiver": out}


def _parcels_params(params: dict[str, Any]) -> dict[str, Any]:
    parcels = params.get("parcels")
    if not isinstance(parcels, list) or not 2 <= len(parcels) <= MAX_PARCELS:
        raise ValidationError(f"field 'params.parcels' must be a list of 2 to {MAX_PARCELS} parcels")
    out = []
    for i, parcel in enumerate(parcels):
        if not isinstance(parcel, list) or not parcel or not all(isinstance(x, str) and x for x in parcel):
            raise ValidationError(f"field 'params.parcels[{i}]' must be a non-empty list of line ids")
        out.append(list(parcel))
    return {"parcels": out}


def validate_params(action: str, params: Any) -> dict[str, Any]:
    """The params of `action`, checked and normalised; ValidationError names the bad field."""
    params = {} if params is None else _object(params, "params")
    if action == "change_address":
        return _receiver_params(params)
    if action in ("set_carrier", "set_warehouse"):
        name = action.removeprefix("set_")
        return {name: _text(params.get(name), f"params.{name}", required=True)}
    if action == "split":
        return _parcels_params(params)
    if params:
        raise ValidationError(f"unknown field 'params.{sorted(params)[0]}' ({action} takes no params)")
    return {}


def parse_request(body: Any, *, oli: str, request_id: str, actor: str, role: str, at: datetime) -> OpsCommand:
    """A command as a client posted it (`POST /api/orders/{oli}/commands`)."""
    data = _object(body, "body")
    unknown = sorted(set(data) - {"command", "params", "if_version", "reason"})
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}")
    action = _text(data.get("command"), "command", required=True)
    if action not in ORDER_ACTIONS:
        raise ValidationError(f"field 'command': unknown command {action!r} (one of {', '.join(ORDER_ACTIONS)})")
    if_version = data.get("if_version")
    if if_version is not None and (not isinstance(if_version, int) or isinstance(if_version, bool)
                                   or if_version < 1):
        raise ValidationError("field 'if_version' must be a positive integer")
    reason = _text(data.get("reason"), "reason", required=action in ("hold", "cancel"))
    return OpsCommand(request_id=request_id, oli=oli, action=action, actor=actor, role=role, at=at,
                      params=validate_params(action, data.get("params")), if_version=if_version,
                      reason=reason)


def check_against(order: Order, command: OpsCommand) -> None:
    """What depends on the order: version, lines, whether the change can still apply."""
    if command.if_version is not None and command.if_version != order.version:
        raise StaleVersionError(f"field 'if_version': order is at version {order.version}, "
                                f"not {command.if_version}")
    if command.action == "release":
        return
    if order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
        raise CommandConflictError(f"order is {order.status.value}: {command.action} no longer applies")
    shipped = order.fulfillment.state is FulfillmentState.SHIPPED or order.status in (
        OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
    if shipped and command.action in ORDER_ACTIONS:
        raise CommandConflictError(f"order has shipped: {command.action} no longer applies")
    if command.action == "split":
        line_ids = [line.line_id for line in order.lines]
        named = [x for parcel in command.params["parcels"] for x in parcel]
        unknown = sorted(set(named) - set(line_ids))
        if unknown:
            raise ValidationError(f"field 'params.parcels': no line {unknown[0]!r} in this order")
        if len(named) != len(set(named)) or set(named) != set(line_ids):
            raise ValidationError("field 'params.parcels': every line must be in exactly one parcel")


def command_from_dict(d: dict[str, Any]) -> OpsCommand:
    from app.domain.model import parse_time

    at = parse_time(d["at"])
    if at is None:
        raise ValidationError("ops command: missing field 'at'")
    return OpsCommand(request_id=d["request_id"], oli=d["oli"], action=d["action"], actor=d["actor"],
                      role=d["role"], at=at, params=d.get("params") or {}, if_version=d.get("if_version"),
                      reason=d.get("reason", ""), approval_id=d.get("approval_id", ""),
                      job_id=d.get("job_id", ""), job_size=d.get("job_size", 0))
