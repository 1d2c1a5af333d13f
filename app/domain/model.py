"""Pure: the standard order model (SOM) every channel maps to, and the other records.

Money is integer minor units (fen) with a currency code; times are tz-aware UTC
datetimes. Records are frozen dataclasses: a change is a new value (`dataclasses.replace`).
`from_dict` constructors are the inverse of `orjson.dumps(record)`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"  # ended before payment
    CLOSED = "CLOSED"  # ended after payment (e.g. full refund)


#: Forward progress of an order. Terminal states rank highest: nothing follows them.
STATUS_RANK: dict[OrderStatus, int] = {
    OrderStatus.PENDING_PAYMENT: 0,
    OrderStatus.PAID: 1,
    OrderStatus.PARTIALLY_SHIPPED: 2,
    OrderStatus.SHIPPED: 3,
    OrderStatus.DELIVERED: 4,
    OrderStatus.COMPLETED: 5,
    OrderStatus.CANCELLED: 6,
    OrderStatus.CLOSED: 6,
}
TERMINAL_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.CLOSED})


class RefundStatus(enum.StrEnum):
    NONE = "NONE"
    REQUESTED = "REQUESTED"
    PARTIAL_REFUNDED = "PARTIAL_REFUNDED"
    REFUNDED = "REFUNDED"
    REJECTED_OR_CLOSED = "REJECTED_OR_CLOSED"


class FulfillmentState(enum.StrEnum):
    """Where the order's SHIP command stands at the warehouse."""

    NONE = "NONE"
    REQUESTED = "REQUESTED"
    ACCEPTED = "ACCEPTED"
    PICKED = "PICKED"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    REJECTED = "REJECTED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    INTERCEPTED = "INTERCEPTED"
    TOO_LATE = "TOO_LATE"


FULFILLMENT_RANK: dict[FulfillmentState, int] = {
    FulfillmentState.NONE: 0,
    FulfillmentState.REQUESTED: 1,
    FulfillmentState.ACCEPTED: 2,
    FulfillmentState.PICKED: 3,
    FulfillmentState.PACKED: 4,
    FulfillmentState.SHIPPED: 5,
}


def utc(dt: datetime) -> datetime:
    """Normalise an aware datetime to UTC; naive datetimes are refused (no guessing)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()} has no UTC offset")
    return dt.astimezone(UTC)


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else utc(datetime.fromisoformat(value))


@dataclass(frozen=True, slots=True)
class Address:
    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    town: str = ""
    detail: str = ""
    adcode: str = ""
    postcode: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Address:
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str = ""
    phone: str = ""
    address: Address = field(default_factory=Address)
    #: True when name/phone/detail are masked ("张*") or ciphertext: kept verbatim, decrypted downstream
    masked: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Receiver:
        return cls(
            name=d.get("name", ""),
            phone=d.get("phone", ""),
            address=Address.from_dict(d.get("address") or {}),
            masked=bool(d.get("masked", False)),
        )


@dataclass(frozen=True, slots=True)
class Buyer:
    id: str = ""
    nick: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Buyer:
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    sku: str
    outer_sku: str = ""
    title: str = ""
    quantity: int = 1
    unit_price: int = 0
    amount: int = 0
    weight_g: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Line:
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Amounts:
    currency: str = "CNY"
    total: int = 0
    paid: int = 0
    shipping: int = 0
    discount: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Amounts:
        return cls(**d)


class HoldSource(enum.StrEnum):
    CHANNEL = "channel"  # the platform forbids shipping (e.g. Taobao PAID_FORBID_CONSIGN)
    SYSTEM = "system"  # orderhub itself (invalid address, WMS rejection)
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Hold:
    reason: str
    detail: str = ""
    source: HoldSource = HoldSource.SYSTEM

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hold:
        return cls(d["reason"], d.get("detail", ""), HoldSource(d.get("source", "system")))


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A routing rule in one version: recorded with every decision it took part in."""

    id: str
    version: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleRef:
        return cls(d["id"], d["version"])


@dataclass(frozen=True, slots=True)
class Fulfillment:
    warehouse: str = ""
    carrier: str = ""
    command_id: str = ""
    tracking_no: str = ""
    shipped_at: datetime | None = None
    state: FulfillmentState = FulfillmentState.NONE
    cancel_command_id: str = ""
    #: the rules that fired in the routing decision behind `command_id`
    rules_fired: tuple[RuleRef, ...] = ()
    #: the stuck-order watchdog's ledger for `command_id` (app/domain/watchdog.py): when the
    #: command was first sent, how often it was sent again, when to look next, when it was
    #: raised as stuck. Bookkeeping, not a change of the order: it does not bump `version`.
    requested_at: datetime | None = None
    recommands: int = 0
    next_check_at: datetime | None = None
    stuck_alerted_at: datetime | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fulfillment:
        return cls(
            warehouse=d.get("warehouse", ""),
            carrier=d.get("carrier", ""),
            command_id=d.get("command_id", ""),
            tracking_no=d.get("tracking_no", ""),
            shipped_at=parse_time(d.get("shipped_at")),
            state=FulfillmentState(d.get("state", "NONE")),
            cancel_command_id=d.get("cancel_command_id", ""),
            rules_fired=tuple(RuleRef.from_dict(r) for r in d.get("rules_fired") or ()),
            requested_at=parse_time(d.get("requested_at")),
            recommands=d.get("recommands", 0),
            next_check_at=parse_time(d.get("next_check_at")),
            stuck_alerted_at=parse_time(d.get("stuck_alerted_at")),
        )


@dataclass(frozen=True, slots=True)
class MergedPart:
    """Another order shipped in the parcel of a merge's primary order: its OLI and lines."""

    oli: str
    external_id: str
    lines: tuple[Line, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MergedPart:
        return cls(d["oli"], d.get("external_id", ""), tuple(Line.from_dict(x) for x in d.get("lines") or ()))


@dataclass(frozen=True, slots=True)
class Order:
    """The standard order model. `version` grows by one for every accepted change."""

    oli: str
    version: int
    channel: str
    shop_id: str
    external_id: str
    status: OrderStatus
    channel_status: str
    updated_at: datetime
    refund_status: RefundStatus = RefundStatus.NONE
    buyer: Buyer = field(default_factory=Buyer)
    receiver: Receiver = field(default_factory=Receiver)
    lines: tuple[Line, ...] = ()
    amounts: Amounts = field(default_factory=Amounts)
    created_at: datetime | None = None
    paid_at: datetime | None = None
    buyer_memo: str = ""
    seller_memo: str = ""
    tags: tuple[str, ...] = ()
    holds: tuple[Hold, ...] = ()
    fulfillment: Fulfillment = field(default_factory=Fulfillment)
    #: payment ids already applied: a payment delivered twice changes nothing
    payment_ids: tuple[str, ...] = ()
    #: line ids per parcel when an operator split the order; empty = one parcel
    parcels: tuple[tuple[str, ...], ...] = ()
    #: the order's channel is in shadow mode: processed and published, but never shipped
    shadow: bool = False
    #: hold reasons an operator released: routing does not put them on again (rule holds, approvals)
    released: tuple[str, ...] = ()
    #: carrier / warehouse an operator chose (set_carrier / set_warehouse): routing keeps them
    chosen_carrier: str = ""
    chosen_warehouse: str = ""
    #: on a merge's primary order: the other orders that ship in its parcel (docs/operations.md#merge-candidates)
    merged: tuple[MergedPart, ...] = ()
    #: the merge group the order joined (primary or merged into another order)
    merge_key: str = ""

    @property
    def versioned_id(self) -> str:
        return f"{self.oli}@{self.version}"

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None or self.status not in (
            OrderStatus.PENDING_PAYMENT,
            OrderStatus.CANCELLED,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Order:
        return cls(
            oli=d["oli"],
            version=d["version"],
            channel=d["channel"],
            shop_id=d["shop_id"],
            external_id=d["external_id"],
            status=OrderStatus(d["status"]),
            channel_status=d["channel_status"],
            updated_at=utc(datetime.fromisoformat(d["updated_at"])),
            refund_status=RefundStatus(d.get("refund_status", "NONE")),
            buyer=Buyer.from_dict(d.get("buyer") or {}),
            receiver=Receiver.from_dict(d.get("receiver") or {}),
            lines=tuple(Line.from_dict(x) for x in d.get("lines") or ()),
            amounts=Amounts.from_dict(d.get("amounts") or {}),
            created_at=parse_time(d.get("created_at")),
            paid_at=parse_time(d.get("paid_at")),
            buyer_memo=d.get("buyer_memo", ""),
            seller_memo=d.get("seller_memo", ""),
            tags=tuple(d.get("tags") or ()),
            holds=tuple(Hold.from_dict(x) for x in d.get("holds") or ()),
            fulfillment=Fulfillment.from_dict(d.get("fulfillment") or {}),
            payment_ids=tuple(d.get("payment_ids") or ()),
            parcels=tuple(tuple(p) for p in d.get("parcels") or ()),
            shadow=bool(d.get("shadow", False)),
            released=tuple(d.get("released") or ()),
            chosen_carrier=d.get("chosen_carrier", ""),
            chosen_warehouse=d.get("chosen_warehouse", ""),
            merged=tuple(MergedPart.from_dict(m) for m in d.get("merged") or ()),
            merge_key=d.get("merge_key", ""),
        )


@dataclass(frozen=True, slots=True)
class Payment:
    payment_id: str
    channel: str
    shop_id: str
    external_id: str
    amount: int
    currency: str
    paid_at: datetime
    provider: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Payment:
        return cls(
            payment_id=d["payment_id"],
            channel=d["channel"],
            shop_id=d["shop_id"],
            external_id=d["external_id"],
            amount=d["amount"],
            currency=d["currency"],
            paid_at=utc(datetime.fromisoformat(d["paid_at"])),
            provider=d.get("provider", ""),
        )


class WmsEventType(enum.StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    PICKED = "PICKED"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    INTERCEPTED = "INTERCEPTED"
    TOO_LATE = "TOO_LATE"


@dataclass(frozen=True, slots=True)
class WmsEvent:
    command_id: str
    oli: str
    event: WmsEventType
    at: datetime
    carrier: str = ""
    tracking_no: str = ""
    reason: str = ""


class CommandType(enum.StrEnum):
    SHIP = "SHIP"
    CANCEL_SHIPMENT = "CANCEL_SHIPMENT"


@dataclass(frozen=True, slots=True)
class FulfillmentCommand:
    """A command to the warehouse. `command_id` is the versioned ID of the state that caused it."""

    command_id: str
    type: CommandType
    oli: str
    version: int
    warehouse: str
    carrier: str
    receiver: Receiver
    lines: tuple[Line, ...]
    requested_at: datetime
    #: the command this one cancels (CANCEL_SHIPMENT only)
    cancels: str = ""
    #: line ids per parcel when the order was split; empty = all lines in one parcel
    parcels: tuple[tuple[str, ...], ...] = ()
    trace: dict[str, str] = field(default_factory=dict)
    #: the routing rules (id, version) behind this command's carrier, warehouse and tags
    rules_fired: tuple[RuleRef, ...] = ()
    #: 1 for the first send; 2, 3, ... when the stuck-order watchdog sends the same command again
    attempt: int = 1
    #: merged orders shipped in this parcel besides `oli` (SHIP of a merge's primary order)
    merged: tuple[MergedPart, ...] = ()
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One accepted change of an order, published on `order-events`."""

    type: str
    oli: str
    version: int
    at: datetime
    order: Order
    cause: dict[str, str]
    #: the order's channel is in shadow mode: no fulfillment command follows from this event
    shadow: bool = False
    #: the routing rules that fired for this change (FulfillmentRequested, OrderHeld by routing)
    rules_fired: tuple[RuleRef, ...] = ()
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    oli: str
    at: datetime
    detail: str
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class StuckAlert(Alert):
    """`order_stuck`: a SHIP command still not acknowledged after the watchdog's last re-send."""

    command_id: str = ""
    #: how often the command was sent (the first send and every re-send)
    attempts: int = 0
