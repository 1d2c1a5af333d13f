"""Pure: mapping files — a channel described in YAML, validated and compiled into an adapter.

`parse_mapping(text, source)` reads the YAML text of one mapping file and returns a
`MappingAdapter`; `compile_mapping(data, source)` does the same from the parsed data.
Every problem is a `MappingError` naming the file, the field and the problem, found
when the file is loaded, never while orders flow:
``channels/acme.yaml: fields.amounts.total: invalid JMESPath: ...``.

All field paths are compiled here, once (`app.channels.paths`); status and refund
tables become dicts; value transforms are chosen per field. The format is documented in
docs/channels.md ("Mapping file format"); `FORMAT_VERSION` is its version. Reading the
file is the caller's business (this module does no I/O).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from app.channels.engine import (
    FieldReader,
    LinesSpec,
    MappingAdapter,
    RefundSpec,
    StatusEntry,
    TagRule,
    _Receiver,
)
from app.channels.errors import MappingError
from app.channels.hooks import HOOKS
from app.channels.paths import Path, PathSyntaxError, compile_path
from app.channels.transforms import (
    MONEY_TRANSFORMS,
    TIME_TRANSFORMS,
    Convert,
    enum,
    identifier,
    non_negative_integer,
    positive_quantity,
    text,
)
from app.domain.model import OrderStatus, RefundStatus

__all__ = ["FORMAT_VERSION", "ORDER_FIELDS", "LINE_FIELDS", "compile_mapping", "parse_mapping"]

FORMAT_VERSION = 1

_CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TAG = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

#: SOM order field → (kind, required by default). Nested names are dotted (``amounts.total``).
ORDER_FIELDS: dict[str, tuple[str, bool]] = {
    "external_id": ("id", True),
    "updated_at": ("time", True),
    "created_at": ("time", False),
    "paid_at": ("time", False),
    "buyer.id": ("id", False),
    "buyer.nick": ("text", False),
    "receiver.name": ("text", False),
    "receiver.phone": ("text", False),
    "receiver.address.country": ("text", False),
    "receiver.address.province": ("text", False),
    "receiver.address.city": ("text", False),
    "receiver.address.district": ("text", False),
    "receiver.address.town": ("text", False),
    "receiver.address.detail": ("text", False),
    "receiver.address.adcode": ("text", False),
    "receiver.address.postcode": ("text", False),
    "amounts.currency": ("text", False),
    "amounts.total": ("money", False),
    "amounts.paid": ("money", False),
    "amounts.shipping": ("money", False),
    "amounts.discount": ("money", False),
    "buyer_memo": ("text", False),
    "seller_memo": ("text", False),
}
#: fields a mapping file must give a path for
_ORDER_REQUIRED = ("external_id", "updated_at")

LINE_FIELDS: dict[str, tuple[str, bool]] = {
    "line_id": ("id", True),
    "sku": ("id", True),
    "outer_sku": ("text", False),
    "title": ("text", False),
    "quantity": ("quantity", True),
    "unit_price": ("money", False),
    "amount": ("money", False),
    "weight_g": ("integer", False),
}
_LINE_REQUIRED = ("line_id", "sku", "quantity")

_DEFAULTS: dict[str, Any] = {"id": "", "text": "", "money": 0, "time": None, "quantity": 1, "integer": None}

_TOP_KEYS = ("format", "channel", "title", "reference", "notes", "currency", "country", "money", "time",
             "order", "status", "refund", "masked", "fields", "lines", "tags", "hooks", "enums", "codes")
_FIELD_KEYS = ("path", "required", "default", "money", "time", "map", "unset")
_ENTRY_KEYS = ("status", "meaning", "if_paid", "refund", "hold", "hold_detail")


class _Loader:
    """Validates one mapping file; `fail` raises a `MappingError` naming file and field."""

    def __init__(self, data: Any, source: str) -> None:
        self.source = source
        self.data = data

    def fail(self, field: str, problem: str) -> MappingError:
        return MappingError(self.source, field, problem)

    # ------------------------------------------------------------ small readers

    def obj(self, value: Any, field: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if key not in keys:
                raise self.fail(f"{field}.{key}" if field else str(key),
                                f"unknown key (expected one of: {', '.join(keys)})")
        return value

    def string(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"expected a non-empty string, got {_kind(value)}")
        return value

    def path(self, value: Any, field: str) -> Path:
        try:
            return compile_path(value)
        except PathSyntaxError as exc:
            raise self.fail(field, str(exc)) from None

    def paths(self, value: Any, field: str) -> tuple[Path, ...]:
        if isinstance(value, list):
            if not value:
                raise self.fail(field, "expected at least one JMESPath expression")
            return tuple(self.path(v, f"{field}[{i}]") for i, v in enumerate(value))
        return (self.path(value, field),)

    def choice(self, value: Any, field: str, choices: Mapping[str, Any]) -> Any:
        if value not in choices:
            raise self.fail(field, f"{value!r} is not one of: {', '.join(choices)}")
        return choices[value]

    def code(self, key: Any, field: str) -> str:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise self.fail(field, f"code {key!r} must be text or an integer (quote YAML words like yes/no/on/off)")
        return str(key)

    def enum_value(self, value: Any, field: str, enum_type: type[OrderStatus] | type[RefundStatus]) -> Any:
        try:
            return enum_type(value)
        except ValueError:
            raise self.fail(field, f"{value!r} is not one of: {', '.join(enum_type)}") from None

    # ------------------------------------------------------------ sections

    def field(self, raw: Any, field: str, kind: str, required: bool, defaults: dict[str, Any]) -> FieldReader:
        options: dict[str, Any] = {}
        if isinstance(raw, dict):
            options = self.obj(raw, field, _FIELD_KEYS)
            if "path" not in options:
                raise self.fail(f"{field}.path", "missing")
            paths = self.paths(options["path"], f"{field}.path")
        else:
            paths = self.paths(raw, field)
        if "required" in options:
            if not isinstance(options["required"], bool):
                raise self.fail(f"{field}.required", "expected true or false")
            required = options["required"]
        convert: Convert
        if kind == "money":
            unit = options.get("money", defaults["money"])
            convert = self.choice(unit, f"{field}.money", MONEY_TRANSFORMS)
        elif kind == "time":
            fmt = options.get("time", defaults["time"])
            convert = self.choice(fmt, f"{field}.time", TIME_TRANSFORMS)
        elif kind == "id":
            convert = identifier
        elif kind == "quantity":
            convert = positive_quantity
        elif kind == "integer":
            convert = non_negative_integer
        else:
            convert = text
        for key, only in (("money", "money"), ("time", "time")):
            if key in options and kind != only:
                raise self.fail(f"{field}.{key}", f"only {only} fields take `{key}`")
        if "map" in options:
            convert = enum(self.table(options["map"], f"{field}.map"), convert)
        unset: frozenset[Any] = frozenset()
        if "unset" in options:
            values = options["unset"]
            if not isinstance(values, list) or not all(
                    isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
                raise self.fail(f"{field}.unset", "expected a list of texts or integers")
            unset = frozenset(values)
        default = options.get("default", _DEFAULTS[kind])
        if default is not None and default != _DEFAULTS[kind]:
            try:
                default = convert(default, f"{field}.default")
            except Exception as exc:  # noqa: BLE001 — any conversion failure is a mapping error here
                raise self.fail(f"{field}.default", str(exc).split(": ", 1)[-1]) from None
        return FieldReader(paths, convert, required, default, unset)

    def table(self, raw: Any, field: str) -> dict[str, Any]:
        if isinstance(raw, str):
            enums = self.data.get("enums") or {}
            if raw not in enums:
                raise self.fail(field, f"no table {raw!r} under `enums`")
            raw, field = enums[raw], f"enums.{raw}"
        if not isinstance(raw, dict) or not raw:
            raise self.fail(field, f"expected a non-empty mapping of value → value, got {_kind(raw)}")
        return {self.code(k, f"{field}.{k}"): v for k, v in raw.items()}

    def entry(self, raw: Any, field: str) -> StatusEntry:
        if isinstance(raw, str):
            raw = {"status": raw}
        spec = self.obj(raw, field, _ENTRY_KEYS)
        if "status" not in spec:
            raise self.fail(f"{field}.status", "missing")
        hold = spec.get("hold", "")
        if hold and not (isinstance(hold, str) and _TAG.fullmatch(hold)):
            raise self.fail(f"{field}.hold", "expected a hold reason like `platform_forbid_consign`")
        return StatusEntry(
            status=self.enum_value(spec["status"], f"{field}.status", OrderStatus),
            meaning=str(spec.get("meaning", "")),
            if_paid=(self.enum_value(spec["if_paid"], f"{field}.if_paid", OrderStatus)
                     if "if_paid" in spec else None),
            refund=(self.enum_value(spec["refund"], f"{field}.refund", RefundStatus)
                    if "refund" in spec else None),
            hold=hold,
            hold_detail=str(spec.get("hold_detail", "")),
        )

    def status(self, raw: Any) -> tuple[Path, dict[str, StatusEntry], tuple[tuple[Path, StatusEntry], ...]]:
        spec = self.obj(raw, "status", ("code", "table", "rules", "channel_status"))
        if "code" not in spec:
            raise self.fail("status.code", "missing")
        code = self.path(spec["code"], "status.code")
        raw_table = spec.get("table")
        if not isinstance(raw_table, dict) or not raw_table:
            raise self.fail("status.table", "expected a non-empty mapping of platform code → SOM status")
        table = {self.code(k, f"status.table.{k}"): self.entry(v, f"status.table.{k}")
                 for k, v in raw_table.items()}
        rules = []
        raw_rules = spec.get("rules") or []
        if not isinstance(raw_rules, list):
            raise self.fail("status.rules", "expected a list")
        for i, rule in enumerate(raw_rules):
            where = f"status.rules[{i}]"
            if not isinstance(rule, dict) or "when" not in rule:
                raise self.fail(f"{where}.when", "missing")
            rest = {k: v for k, v in rule.items() if k != "when"}
            rules.append((self.path(rule["when"], f"{where}.when"), self.entry(rest, where)))
        return code, table, tuple(rules)

    def codes(self, raw: Any) -> tuple[tuple[Path, frozenset[str]], ...]:
        """``codes``: path → the documented values of a further status field (code → meaning)."""
        if not isinstance(raw, dict) or not raw:
            raise self.fail("codes", f"expected a mapping of path → table of codes, got {_kind(raw)}")
        checks = []
        for path_text, table in raw.items():
            where = f"codes.{path_text}"
            if not isinstance(table, dict) or not table:
                raise self.fail(where, f"expected a non-empty mapping of code → meaning, got {_kind(table)}")
            known = frozenset(self.code(k, f"{where}.{k}") for k in table)
            checks.append((self.path(path_text, where), known))
        return tuple(checks)

    def refund(self, raw: Any, field: str) -> RefundSpec:
        spec = self.obj(raw, field, ("code", "table", "default"))
        if "code" not in spec:
            raise self.fail(f"{field}.code", "missing")
        raw_table = spec.get("table")
        if not isinstance(raw_table, dict) or not raw_table:
            raise self.fail(f"{field}.table", "expected a non-empty mapping of platform code → refund status")
        table: dict[str, RefundStatus] = {}
        for k, v in raw_table.items():
            where = f"{field}.table.{k}"
            if isinstance(v, dict):
                v = self.obj(v, where, ("refund", "meaning")).get("refund")
            table[self.code(k, where)] = self.enum_value(v, where, RefundStatus)
        default = None
        if "default" in spec:
            default = self.enum_value(spec["default"], f"{field}.default", RefundStatus)
        return RefundSpec(self.path(spec["code"], f"{field}.code"), table, default)

    def field_set(self, raw: Any, section: str, known: dict[str, tuple[str, bool]], must: tuple[str, ...],
                  defaults: dict[str, Any]) -> dict[str, FieldReader]:
        flat: dict[str, Any] = {}
        _flatten(self, raw, section, "", flat, known)
        for name in must:
            if name not in flat:
                raise self.fail(f"{section}.{name}", "missing (a path is required)")
        readers: dict[str, FieldReader] = {}
        for name, (kind, required) in known.items():
            where = f"{section}.{name}"
            if name in flat:
                readers[name] = self.field(flat[name], where, kind, required, defaults)
            else:
                readers[name] = FieldReader((), lambda v, f: None, False, _DEFAULTS[kind])
        return readers

    def lines(self, raw: Any, defaults: dict[str, Any]) -> LinesSpec:
        spec = self.obj(raw, "lines", ("path", "single", "fields", "refund"))
        if "path" not in spec:
            raise self.fail("lines.path", "missing")
        single = spec.get("single", False)
        if not isinstance(single, bool):
            raise self.fail("lines.single", "expected true or false")
        if "fields" not in spec:
            raise self.fail("lines.fields", "missing")
        return LinesSpec(
            paths=self.paths(spec["path"], "lines.path"),
            single=single,
            fields=self.field_set(spec["fields"], "lines.fields", LINE_FIELDS, _LINE_REQUIRED, defaults),
            refund=self.refund(spec["refund"], "lines.refund") if "refund" in spec else None,
        )

    def tags(self, raw: Any) -> tuple[TagRule, ...]:
        if not isinstance(raw, list):
            raise self.fail("tags", "expected a list")
        rules = []
        for i, item in enumerate(raw):
            where = f"tags[{i}]"
            spec = self.obj(item, where, ("tag", "when", "path", "split"))
            if "path" in spec:
                split = spec.get("split", ",")
                if not isinstance(split, str) or not split:
                    raise self.fail(f"{where}.split", "expected a separator text")
                rules.append(TagRule(path=self.path(spec["path"], f"{where}.path"), split=split))
            elif "tag" in spec and "when" in spec:
                tag = spec["tag"]
                if not isinstance(tag, str) or not _TAG.fullmatch(tag):
                    raise self.fail(f"{where}.tag", "expected a short tag (letters, digits, _ . : -)")
                rules.append(TagRule(tag=tag, when=self.path(spec["when"], f"{where}.when")))
            else:
                raise self.fail(where, "expected either `tag` + `when`, or `path`")
        return tuple(rules)

    # ------------------------------------------------------------ the whole file

    def compile(self) -> MappingAdapter:
        data = self.obj(self.data, "", _TOP_KEYS)
        if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
            raise self.fail("format", f"unsupported format {data.get('format')!r} (this orderhub reads {FORMAT_VERSION})")
        if "channel" not in data:
            raise self.fail("channel", "missing")
        channel = data["channel"]
        if not isinstance(channel, str) or not _CHANNEL_NAME.fullmatch(channel):
            raise self.fail("channel", f"{channel!r} is not a channel name (lower-case letters, digits, _)")
        defaults = {"money": data.get("money", "yuan"), "time": data.get("time", "shanghai")}
        self.choice(defaults["money"], "money", MONEY_TRANSFORMS)
        self.choice(defaults["time"], "time", TIME_TRANSFORMS)
        order = self.obj(data.get("order") or {}, "order", ("name", "unwrap", "api_error"))
        name = order.get("name", "order")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise self.fail("order.name", "expected a short name for the order object, like `trade`")
        unwrap = self.paths(order["unwrap"], "order.unwrap") if "unwrap" in order else ()
        api_error = self.path(order["api_error"], "order.api_error") if "api_error" in order else None

        if "status" not in data:
            raise self.fail("status", "missing")
        status_code, status_table, status_rules = self.status(data["status"])
        channel_status = (self.path(data["status"]["channel_status"], "status.channel_status")
                          if "channel_status" in data["status"] else None)
        if "fields" not in data:
            raise self.fail("fields", "missing")
        fields = self.field_set(data["fields"], "fields", ORDER_FIELDS, _ORDER_REQUIRED, defaults)

        masked = self.obj(data.get("masked") or {}, "masked", ("when", "markers"))
        markers = masked.get("markers", [])
        if not isinstance(markers, list) or not all(isinstance(m, str) and m for m in markers):
            raise self.fail("masked.markers", "expected a list of non-empty texts, like ['*']")
        receiver = _Receiver(
            name=fields["receiver.name"],
            phone=fields["receiver.phone"],
            address={k.rsplit(".", 1)[1]: v for k, v in fields.items() if k.startswith("receiver.address.")},
            masked_when=self.path(masked["when"], "masked.when") if "when" in masked else None,
            markers=tuple(markers),
        )
        hook_names = data.get("hooks") or []
        if not isinstance(hook_names, list):
            raise self.fail("hooks", "expected a list of hook names")
        for i, hook in enumerate(hook_names):
            if hook not in HOOKS:
                raise self.fail(f"hooks[{i}]", f"unknown hook {hook!r} (known: {', '.join(sorted(HOOKS)) or 'none'})")
        enums = data.get("enums") or {}
        if not isinstance(enums, dict):
            raise self.fail("enums", "expected a mapping of table name → table")
        for key in ("title", "reference", "notes", "currency"):
            if key in data:
                self.string(data[key], key)
        if "country" in data and not isinstance(data["country"], str):  # "": no default country
            raise self.fail("country", f"expected a country code or \"\", got {_kind(data['country'])}")
        return MappingAdapter(
            channel=channel,
            source=self.source,
            title=data.get("title", channel),
            name=name,
            unwrap=unwrap,
            api_error=api_error,
            status_code=status_code,
            status_table=status_table,
            status_rules=status_rules,
            refund=self.refund(data["refund"], "refund") if "refund" in data else None,
            fields=fields,
            receiver=receiver,
            lines=self.lines(data["lines"], defaults) if "lines" in data else None,
            tags=self.tags(data["tags"]) if "tags" in data else (),
            hooks=tuple((h, HOOKS[h]) for h in hook_names),
            currency=data.get("currency", "CNY"),
            country=data.get("country", "CN"),
            channel_status=channel_status,
            codes=self.codes(data["codes"]) if "codes" in data else (),
        )


def _flatten(loader: _Loader, raw: Any, section: str, prefix: str, out: dict[str, Any],
             known: dict[str, tuple[str, bool]]) -> None:
    """Nested YAML (``amounts: {total: ...}``) → dotted names (``amounts.total``), checked against ``known``."""
    where = f"{section}.{prefix}".rstrip(".")
    if not isinstance(raw, dict):
        raise loader.fail(where, f"expected a mapping, got {_kind(raw)}")
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if name in known:
            out[name] = value
        elif any(k.startswith(name + ".") for k in known):
            _flatten(loader, value, section, name + ".", out, known)
        else:
            options = sorted({k.split(".")[len(prefix.split(".")) - 1] for k in known if k.startswith(prefix)})
            raise loader.fail(f"{section}.{name}", f"unknown field (expected one of: {', '.join(options)})")


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def compile_mapping(data: Any, source: str) -> MappingAdapter:
    """Validate parsed mapping data and compile it. Raises `MappingError`."""
    return _Loader(data, source).compile()


def parse_mapping(text_: str, source: str) -> MappingAdapter:
    """Parse the YAML text of a mapping file and compile it. Raises `MappingError`."""
    try:
        data = yaml.safe_load(text_)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MappingError(source, where, f"not valid YAML: {problem}") from None
    if data is None:
        raise MappingError(source, "", "empty file")
    return compile_mapping(data, source)
