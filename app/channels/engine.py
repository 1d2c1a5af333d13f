"""Pure: the declarative adapter at run time — a compiled mapping file applied to one payload.

Everything here is built once by `app.channels.mapping` (paths compiled, tables
resolved, transforms chosen); `MappingAdapter.adapt` only walks the payload. Errors name
the channel and the field path as the mapping file wrote it, prefixed by the order
object's name: ``douyin: shop_order.sku_order_list[1].item_num: expected an integer, got 'x'``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jmespath.exceptions import JMESPathError

from app.channels.hooks import Hook, HookContext
from app.channels.paths import Path
from app.channels.refunds import aggregate_refund
from app.channels.transforms import Convert, code_text, show, text
from app.domain.errors import AdapterError, UnknownStatusError
from app.domain.identity import make_oli
from app.domain.model import (
    Address,
    Amounts,
    Buyer,
    Hold,
    HoldSource,
    Line,
    Order,
    OrderStatus,
    Receiver,
    RefundStatus,
)

__all__ = [
    "FieldReader",
    "LinesSpec",
    "MappingAdapter",
    "RefundSpec",
    "StatusEntry",
    "TagRule",
    "truthy",
]

_UNSET = object()


def truthy(value: Any) -> bool:
    """JMESPath truthiness: null, false, "", [] and {} are false; everything else (even 0) is true."""
    return not (value is None or value is False or value == "" or value == [] or value == {})


def evaluate(path: Path, obj: Any) -> Any:
    """``path.get(obj)``; a JMESPath function applied to the wrong type becomes an `AdapterError`."""
    if path.native:
        return path.get(obj)
    try:
        return path.get(obj)
    except (JMESPathError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AdapterError(f"{path.text}: cannot evaluate on this payload: {reason}") from None


class FieldReader:
    """One SOM field: candidate paths (the first one set wins), a transform, required or a default.

    ``read(obj, prefix)`` is built once per field: the common case (one path that cannot
    raise, no extra "unset" values) is a short closure.
    """

    __slots__ = ("convert", "default", "paths", "read", "required", "unset")

    def __init__(self, paths: tuple[Path, ...], convert: Convert, required: bool = False,
                 default: Any = None, unset: frozenset[Any] = frozenset()) -> None:
        self.paths = paths
        self.convert = convert
        self.required = required
        self.default = default
        #: raw values that mean "not set" on this platform, besides null and ""
        self.unset = unset
        self.read: Callable[[Any, str], Any] = self._build()

    def _missing(self, prefix: str) -> Any:
        if self.required:
            *others, last = self.paths
            nor = f" (nor {', '.join(p.text for p in others)})" if others else ""
            raise AdapterError(f"{prefix}{last.text}: missing{nor}")
        return self.default

    def _build(self) -> Callable[[Any, str], Any]:
        default = self.default
        if not self.paths:
            return lambda obj, prefix: default
        convert = self.convert
        if len(self.paths) == 1 and self.paths[0].native and not self.unset:
            get, key, text_ = self.paths[0].get, self.paths[0].key, self.paths[0].text
            missing = self._missing
            is_text = convert is text

            if key is not None:  # the hot path: one field of the (always dict) object

                def read_key(obj: dict[str, Any], prefix: str) -> Any:
                    raw = obj.get(key)
                    if raw is None or raw == "":
                        return missing(prefix)
                    if is_text and raw.__class__ is str:
                        return raw
                    value = convert(raw, prefix + text_)
                    return missing(prefix) if value is None else value

                return read_key

            def read_one(obj: Any, prefix: str) -> Any:
                raw = get(obj)
                if raw is None or raw == "":
                    return missing(prefix)
                if is_text and raw.__class__ is str:
                    return raw
                value = convert(raw, prefix + text_)
                return missing(prefix) if value is None else value

            return read_one
        if all(p.native for p in self.paths) and not self.unset:
            candidates = tuple((p.get, p.text) for p in self.paths)
            missing = self._missing

            def read_first(obj: Any, prefix: str) -> Any:
                for get, text_ in candidates:
                    raw = get(obj)
                    if raw is None or raw == "":
                        continue
                    value = convert(raw, prefix + text_)
                    if value is not None:
                        return value
                return missing(prefix)

            return read_first
        return self._read_any

    def _read_any(self, obj: Any, prefix: str) -> Any:
        unset = self.unset
        for path in self.paths:
            raw = path.get(obj) if path.native else evaluate(path, obj)
            if raw is None or raw == "":
                continue
            if unset and isinstance(raw, (str, int)) and raw in unset:
                continue
            value = self.convert(raw, prefix + path.text)
            if value is not None:
                return value
        return self._missing(prefix)


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """What one platform status code (or rule) means in the SOM."""

    status: OrderStatus
    meaning: str = ""
    #: the status instead of `status` when the order was paid (``paid_at`` set): CANCELLED → CLOSED
    if_paid: OrderStatus | None = None
    #: an order-level refund state this code implies (WeChat 200: all lines refunded)
    refund: RefundStatus | None = None
    #: a channel hold reason: paid but the platform forbids shipping
    hold: str = ""
    hold_detail: str = ""


@dataclass(frozen=True, slots=True)
class RefundSpec:
    """A refund code at ``code`` looked up in ``table``; ``default`` when the code is not set."""

    code: Path
    table: Mapping[str, RefundStatus]
    default: RefundStatus | None = None

    def read(self, obj: Any, prefix: str) -> RefundStatus | None:
        raw = evaluate(self.code, obj)
        if raw is None or raw == "":
            return self.default
        code = code_text(raw, prefix + self.code.text)
        try:
            return self.table[code]
        except KeyError:
            raise UnknownStatusError(
                f"{prefix}{self.code.text}: unknown refund status code {code!r}") from None


@dataclass(frozen=True, slots=True)
class LinesSpec:
    paths: tuple[Path, ...]
    #: True when the platform sends one line object instead of a list (Kuaishou ``orderItemInfo``)
    single: bool
    fields: Mapping[str, FieldReader]
    refund: RefundSpec | None = None


@dataclass(frozen=True, slots=True)
class TagRule:
    """``tag`` when ``when`` is true, or the tags found at ``path`` (a list, or text split by ``split``)."""

    tag: str = ""
    when: Path | None = None
    path: Path | None = None
    split: str = ","


@dataclass(frozen=True, slots=True)
class _Receiver:
    name: FieldReader
    phone: FieldReader
    address: Mapping[str, FieldReader]
    masked_when: Path | None
    markers: tuple[str, ...]


class MappingAdapter:
    """Platform order JSON → `Order`, as one mapping file says. Built by `app.channels.mapping`."""

    def __init__(
        self,
        *,
        channel: str,
        source: str,
        title: str,
        name: str,
        unwrap: tuple[Path, ...],
        api_error: Path | None,
        status_code: Path,
        status_table: Mapping[str, StatusEntry],
        status_rules: tuple[tuple[Path, StatusEntry], ...],
        refund: RefundSpec | None,
        fields: Mapping[str, FieldReader],
        receiver: _Receiver,
        lines: LinesSpec | None,
        tags: tuple[TagRule, ...],
        hooks: tuple[tuple[str, Hook], ...],
        currency: str,
        country: str,
        channel_status: Path | None = None,
        codes: tuple[tuple[Path, frozenset[str]], ...] = (),
    ) -> None:
        self.channel = channel
        #: where the mapping came from: ``built-in`` or a file path
        self.source = source
        self.title = title
        self.name = name
        self.status_table = dict(status_table)
        self.status_rules = status_rules
        self.refund_spec = refund
        self.lines_spec = lines
        self.hook_names = tuple(n for n, _ in hooks)
        self._unwrap_paths = unwrap
        self._api_error = api_error
        self._status_code = status_code
        self._fields = fields
        self._receiver = receiver
        self._tags = tags
        self._hooks = tuple(h for _, h in hooks)
        self._currency = currency
        self._country = country
        self._channel_status = channel_status
        self._codes = codes
        self._prefix = name + "."
        self._context = HookContext(channel=channel, name=name)

    def __repr__(self) -> str:
        return f"MappingAdapter(channel={self.channel!r}, source={self.source!r})"

    def with_channel(self, channel: str) -> MappingAdapter:
        """The same mapping under another channel name (Tmall uses Taobao's TOP format)."""
        clone = object.__new__(MappingAdapter)
        clone.__dict__.update(self.__dict__)
        clone.channel = channel
        clone._context = HookContext(channel=channel, name=self.name)
        return clone

    # ------------------------------------------------------------ adapt

    def adapt(self, payload: dict[str, Any], *, shop_id: str) -> Order:
        """Map one order (bare or API-wrapped). Raises `AdapterError` / `UnknownStatusError`."""
        try:
            return self._adapt(payload, shop_id)
        except AdapterError as e:
            raise AdapterError(f"{self.channel}: {e}") from e
        except UnknownStatusError as e:
            raise UnknownStatusError(f"{self.channel}: {e}") from e

    def _unwrap(self, payload: object) -> Any:
        if not isinstance(payload, dict):
            raise AdapterError(f"payload: expected an object, got {type(payload).__name__}")
        if self._api_error is not None:
            failure = evaluate(self._api_error, payload)
            if truthy(failure):
                label = self._api_error.text if self._api_error.plain else "API error response"
                raise AdapterError(f"{label}: the API call failed: {_describe(failure)}")
        wrapped = False
        for path in self._unwrap_paths:
            if path.head is not None:
                if path.head not in payload:
                    continue
                wrapped = True
            found = evaluate(path, payload)
            if found is None:
                continue
            if isinstance(found, dict):
                return found
            if isinstance(found, list):
                if len(found) == 1 and isinstance(found[0], dict):
                    return found[0]
                raise AdapterError(f"{path.text}: expected exactly one order object, got a list of {len(found)}")
            raise AdapterError(f"{path.text}: expected an order object, got {type(found).__name__}")
        if wrapped:
            first = next(p for p in self._unwrap_paths if p.head is not None and p.head in payload)
            raise AdapterError(f"{first.text}: missing")
        return payload

    def _status(self, obj: Any) -> tuple[str, StatusEntry]:
        path = self._status_code
        raw = evaluate(path, obj)
        if raw is None or raw == "":
            raise AdapterError(f"{self._prefix}{path.text}: missing")
        code = code_text(raw, self._prefix + path.text)
        try:
            entry = self.status_table[code]
        except KeyError:
            raise UnknownStatusError(f"{self._prefix}{path.text}: unknown status code {code!r}") from None
        for check, known in self._codes:
            raw = evaluate(check, obj)
            if raw is None or raw == "":
                continue
            value = code_text(raw, self._prefix + check.text)
            if value not in known:
                raise UnknownStatusError(f"{self._prefix}{check.text}: unknown status code {value!r}")
        if self._channel_status is not None:
            code = code_text(evaluate(self._channel_status, obj), self._prefix + "status.channel_status")
        for when, rule in self.status_rules:
            if truthy(evaluate(when, obj)):
                return code, rule
        return code, entry

    def _lines(self, obj: Any) -> tuple[list[Line], list[RefundStatus]]:
        spec = self.lines_spec
        if spec is None:
            return [], []
        found: Any = None
        where = ""
        for path in spec.paths:
            found = evaluate(path, obj)
            if found is not None:
                # `@`: the order object itself is the one line (its fields can reach the whole order)
                where = self.name if path.text == "@" else self._prefix + path.text
                break
        if found is None:
            return [], []
        if spec.single:
            if not isinstance(found, dict):
                raise AdapterError(f"{where}: expected an object, got {type(found).__name__}")
            entries: list[Any] = [found]
            labels = [where + "."]
        else:
            if not isinstance(found, list):
                raise AdapterError(f"{where}: expected a list, got {type(found).__name__}")
            entries = found
            labels = [f"{where}[{i}]." for i in range(len(found))]
        f = spec.fields
        lines: list[Line] = []
        refunds: list[RefundStatus] = []
        for entry, label in zip(entries, labels, strict=True):
            if not isinstance(entry, dict):
                raise AdapterError(f"{label[:-1]}: expected an object, got {type(entry).__name__}")
            lines.append(Line(
                line_id=f["line_id"].read(entry, label),
                sku=f["sku"].read(entry, label),
                outer_sku=f["outer_sku"].read(entry, label),
                title=f["title"].read(entry, label),
                quantity=f["quantity"].read(entry, label),
                unit_price=f["unit_price"].read(entry, label),
                amount=f["amount"].read(entry, label),
                weight_g=f["weight_g"].read(entry, label),
            ))
            if spec.refund is not None:
                refund = spec.refund.read(entry, label)
                if refund is not None:
                    refunds.append(refund)
        return lines, refunds

    def _receiver_of(self, obj: Any) -> Receiver:
        r = self._receiver
        p = self._prefix
        a = r.address
        name = r.name.read(obj, p)
        phone = r.phone.read(obj, p)
        detail = a["detail"].read(obj, p)
        masked = (r.masked_when is not None and truthy(evaluate(r.masked_when, obj))) or any(
            m in v for m in r.markers for v in (name, phone, detail))
        return Receiver(
            name=name,
            phone=phone,
            address=Address(
                country=a["country"].read(obj, p) or self._country,
                province=a["province"].read(obj, p),
                city=a["city"].read(obj, p),
                district=a["district"].read(obj, p),
                town=a["town"].read(obj, p),
                detail=detail,
                adcode=a["adcode"].read(obj, p),
                postcode=a["postcode"].read(obj, p),
            ),
            masked=masked,
        )

    def _tags_of(self, obj: Any) -> tuple[str, ...]:
        tags: list[str] = []
        for rule in self._tags:
            if rule.path is not None:
                found = evaluate(rule.path, obj)
                if found is None or found == "":
                    continue
                items = found.split(rule.split) if isinstance(found, str) else found
                if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
                    raise AdapterError(f"{self._prefix}{rule.path.text}: expected text or a list of strings, "
                                       f"got {show(found)}")
                tags.extend(t.strip() for t in items if t.strip() and t.strip() not in tags)
            elif rule.when is not None and truthy(evaluate(rule.when, obj)) and rule.tag not in tags:
                tags.append(rule.tag)
        return tuple(tags)

    def _adapt(self, payload: object, shop_id: str) -> Order:
        if not isinstance(shop_id, str) or not shop_id:
            raise AdapterError(f"shop_id: must be a non-empty string, got {show(shop_id)}")
        obj = self._unwrap(payload)
        p = self._prefix
        f = self._fields
        external_id = f["external_id"].read(obj, p)
        channel_status, entry = self._status(obj)
        updated_at = f["updated_at"].read(obj, p)
        paid_at = f["paid_at"].read(obj, p)
        status = entry.if_paid if entry.if_paid is not None and paid_at is not None else entry.status

        lines, line_refunds = self._lines(obj)
        refund = entry.refund
        if refund is None and self.refund_spec is not None:
            refund = self.refund_spec.read(obj, p)
        if refund is None:
            refund = aggregate_refund(line_refunds)

        holds: tuple[Hold, ...] = ()
        if entry.hold:
            holds = (Hold(entry.hold,
                          f"{self.channel} status {channel_status}: {entry.hold_detail or entry.meaning}",
                          HoldSource.CHANNEL),)

        currency = f["amounts.currency"].read(obj, p) or self._currency
        order = Order(
            oli=make_oli(self.channel, shop_id, external_id),
            version=0,
            channel=self.channel,
            shop_id=shop_id,
            external_id=external_id,
            status=status,
            channel_status=channel_status,
            updated_at=updated_at,
            refund_status=refund,
            buyer=Buyer(id=f["buyer.id"].read(obj, p), nick=f["buyer.nick"].read(obj, p)),
            receiver=self._receiver_of(obj),
            lines=tuple(lines),
            amounts=Amounts(
                currency=currency,
                total=f["amounts.total"].read(obj, p),
                paid=f["amounts.paid"].read(obj, p),
                shipping=f["amounts.shipping"].read(obj, p),
                discount=f["amounts.discount"].read(obj, p),
            ),
            created_at=f["created_at"].read(obj, p),
            paid_at=paid_at,
            buyer_memo=f["buyer_memo"].read(obj, p),
            seller_memo=f["seller_memo"].read(obj, p),
            tags=self._tags_of(obj),
            holds=holds,
        )
        for hook in self._hooks:
            order = hook(obj, order, self._context)
        return order


def _describe(failure: Any) -> str:
    if isinstance(failure, dict):
        parts = [str(v) for v in failure.values() if v is not None and v != ""]
        return " ".join(parts) or show(failure)
    if failure is True:
        return "(no detail)"
    return show(failure) if not isinstance(failure, str) else failure
