"""Wire format: orjson bytes <-> records. The only module that knows the bytes on topics.

Every decoder raises `DecodeError` (not bytes we can read) or `ValidationError` (readable
but the wrong shape) with a one-line reason; agents put that reason on the DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from app.catalog.model import SkuEntry
from app.domain.approvals import Approval
from app.domain.commands import OpsCommand, command_from_dict
from app.domain.errors import DecodeError, ValidationError
from app.domain.model import Order, Payment, WmsEvent, WmsEventType, utc
from app.domain.watchdog import WatchdogTick
from app.rules.model import Rule

#: Inputs larger than this are refused before parsing (a platform order is a few KB).
MAX_INPUT_BYTES = 512 * 1024


def encode(record: Any) -> bytes:
    """Dataclasses, datetimes and enums to compact JSON bytes."""
    return orjson.dumps(record)


def decode_json(value: bytes | None, *, what: str) -> dict[str, Any]:
    if value is None:
        raise DecodeError(f"{what}: empty message (no value)")
    if len(value) > MAX_INPUT_BYTES:
        raise DecodeError(f"{what}: message too large ({len(value)} bytes > {MAX_INPUT_BYTES})")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if "UTF-8" in str(exc):
            raise DecodeError(f"{what}: not valid UTF-8 ({exc})") from None
        raise DecodeError(f"{what}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _field(data: dict[str, Any], name: str, type_: type | tuple[type, ...], what: str) -> Any:
    try:
        value = data[name]
    except KeyError:
        raise ValidationError(f"{what}: missing field {name!r}") from None
    if not isinstance(value, type_) or isinstance(value, bool) and type_ is not bool:
        expected = type_.__name__ if isinstance(type_, type) else "/".join(t.__name__ for t in type_)
        raise ValidationError(f"{what}: field {name!r} must be {expected}, got {type(value).__name__}")
    return value


def _time(data: dict[str, Any], name: str, what: str) -> datetime:
    raw = _field(data, name, str, what)
    try:
        return utc(datetime.fromisoformat(raw))
    except ValueError as exc:
        raise ValidationError(f"{what}: field {name!r} is not an ISO-8601 time with offset ({exc})") from None


@dataclass(frozen=True, slots=True)
class Envelope:
    """A platform order as a connector fetched it."""

    channel: str
    shop_id: str
    received_at: datetime
    payload: dict[str, Any]


def decode_envelope(value: bytes | None) -> Envelope:
    what = "channel order envelope"
    data = decode_json(value, what=what)
    return Envelope(
        channel=_field(data, "channel", str, what),
        shop_id=str(_field(data, "shop_id", (str, int), what)),
        received_at=_time(data, "received_at", what),
        payload=_field(data, "payload", dict, what),
    )


def decode_payment(value: bytes | None) -> Payment:
    what = "payment"
    data = decode_json(value, what=what)
    amount = _field(data, "amount", int, what)
    if amount < 0:
        raise ValidationError(f"{what}: field 'amount' must not be negative")
    return Payment(
        payment_id=_field(data, "payment_id", str, what),
        channel=_field(data, "channel", str, what),
        shop_id=str(_field(data, "shop_id", (str, int), what)),
        external_id=str(_field(data, "external_id", (str, int), what)),
        amount=amount,
        currency=_field(data, "currency", str, what),
        paid_at=_time(data, "paid_at", what),
        provider=str(data.get("provider", "")),
    )


def decode_wms_event(value: bytes | None) -> WmsEvent:
    what = "WMS event"
    data = decode_json(value, what=what)
    kind = _field(data, "event", str, what)
    try:
        event = WmsEventType(kind)
    except ValueError:
        raise ValidationError(f"{what}: unknown event {kind!r} "
                              f"(expected one of {', '.join(WmsEventType)})") from None
    return WmsEvent(
        command_id=_field(data, "command_id", str, what),
        oli=_field(data, "oli", str, what),
        event=event,
        at=_time(data, "at", what),
        carrier=str(data.get("carrier") or ""),
        tracking_no=str(data.get("tracking_no") or ""),
        reason=str(data.get("reason") or ""),
    )


# ------------------------------------------------------------ internal, oli-keyed input topic


def encode_order_input(order: Order | None = None, payment: Payment | None = None) -> bytes:
    if order is not None:
        return orjson.dumps({"kind": "order", "order": order})
    return orjson.dumps({"kind": "payment", "payment": payment})


def encode_watchdog_tick(tick: WatchdogTick) -> bytes:
    return orjson.dumps({"kind": "watchdog", "oli": tick.oli, "at": tick.at})


def decode_order_input(value: bytes) -> Order | Payment | WatchdogTick:
    data = orjson.loads(value)
    if data["kind"] == "order":
        return Order.from_dict(data["order"])
    if data["kind"] == "watchdog":
        return WatchdogTick(oli=data["oli"], at=utc(datetime.fromisoformat(data["at"])))
    return Payment.from_dict(data["payment"])


# ------------------------------------------------------------ table values


def decode_order(value: bytes | None) -> Order | None:
    return None if value is None else Order.from_dict(orjson.loads(value))


def decode_payments(value: bytes | None) -> tuple[Payment, ...]:
    return () if value is None else tuple(Payment.from_dict(p) for p in orjson.loads(value))


# ------------------------------------------------------------ operator console


def decode_ops_command(value: bytes | None) -> OpsCommand:
    what = "ops command"
    data = decode_json(value, what=what)
    for name in ("request_id", "oli", "action", "actor", "role"):
        _field(data, name, str, what)
    _time(data, "at", what)
    try:
        return command_from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"{what}: {exc}") from None


def decode_approvals(value: bytes | None) -> tuple[Approval, ...]:
    return () if value is None else tuple(Approval.from_dict(a) for a in orjson.loads(value))
# ------------------------------------------------------------ reference data (compacted topics)


def encode_rule(rule: Rule) -> bytes:
    return orjson.dumps(rule.to_dict())


def decode_rule(value: bytes) -> Rule:
    """Raises `RuleDefinitionError` (a `ValidationError`) naming the rule and field."""
    return Rule.from_dict(decode_json(value, what="rule"))


def encode_sku(entry: SkuEntry) -> bytes:
    return orjson.dumps(entry.to_dict())


def decode_sku(value: bytes) -> SkuEntry:
    return SkuEntry.from_dict(decode_json(value, what="SKU entry"))
