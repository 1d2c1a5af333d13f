"""Pure: the value transforms a mapping file can name (money, time, ids, text, enums).

Each transform is ``convert(raw, field) -> value | None``: it gets the raw JSON value and
the field path for its error message, and returns the SOM value, or ``None`` when the
platform means "not set" (an epoch ``0``, ``"0000-00-00 00:00:00"``...). It raises
`AdapterError` naming the field when the value is unusable. Built on `convert`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from app.channels.convert import epoch_millis, epoch_seconds, fen, integer, shanghai_time, yuan_to_fen
from app.domain.errors import AdapterError
from app.domain.model import utc

__all__ = [
    "MONEY_TRANSFORMS",
    "TIME_TRANSFORMS",
    "Convert",
    "code_text",
    "enum",
    "identifier",
    "iso_time",
    "non_negative_integer",
    "positive_quantity",
    "show",
    "text",
]

Convert = Callable[[Any, str], Any]


def show(value: object) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= 60 else text_[:57] + "..."


def text(value: object, field: str) -> str:
    """Text: a string, or an integer shown in decimal (ids sent as numbers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise AdapterError(f"{field}: expected a string, got {show(value)}")


def identifier(value: object, field: str) -> str | None:
    """An id: a string or an integer of any size. A float id has already lost digits: refused."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise AdapterError(f"{field}: expected a string or integer id, got {show(value)}")
    return str(value).strip() or None


def code_text(value: object, field: str) -> str:
    """A platform status code, kept verbatim as text (``2`` → ``"2"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise AdapterError(f"{field}: expected a status code, got {show(value)}")


def positive_quantity(value: object, field: str) -> int:
    n = integer(value, field)
    if n <= 0:
        raise AdapterError(f"{field}: expected a positive quantity, got {show(value)}")
    return n


def non_negative_integer(value: object, field: str) -> int:
    n = integer(value, field)
    if n < 0:
        raise AdapterError(f"{field}: expected a non-negative integer, got {show(value)}")
    return n


def iso_time(value: object, field: str) -> datetime | None:
    """ISO-8601 with a UTC offset (``2024-06-01T10:02:11+08:00``, ``...Z``) → UTC. Naive is refused."""
    if not isinstance(value, str):
        raise AdapterError(f"{field}: expected an ISO-8601 time with offset, got {show(value)}")
    raw = value.strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise AdapterError(f"{field}: expected an ISO-8601 time with offset, got {show(value)}") from None
    if parsed.tzinfo is None:
        raise AdapterError(f"{field}: ISO-8601 time without a UTC offset: {show(value)}")
    return utc(parsed)


#: ``money:`` names → converter to integer minor units (fen, cents).
MONEY_TRANSFORMS: dict[str, Convert] = {
    "yuan": yuan_to_fen,  # major units as a decimal string or JSON number: "188.00", 188.5
    "decimal": yuan_to_fen,  # the same rule, named for other currencies: "29.00" USD → 2900
    "fen": fen,  # already integer minor units: 18800
}

#: ``time:`` names → converter to an aware UTC datetime.
TIME_TRANSFORMS: dict[str, Convert] = {
    "shanghai": shanghai_time,  # "yyyy-MM-dd HH:mm:ss", Asia/Shanghai local time
    "epoch_seconds": epoch_seconds,
    "epoch_millis": epoch_millis,
    "iso": iso_time,
}


def enum(table: Mapping[str, Any], inner: Convert) -> Convert:
    """Look the (text of the) value up in ``table``; ``"*"`` is the fallback for other values.

    Without a ``"*"`` entry an unlisted value is an error naming it (never guessed).
    """
    fallback = table.get("*")
    has_fallback = "*" in table

    def convert(value: object, field: str) -> Any:
        key = code_text(value, field)
        if key in table:
            return inner(table[key], field) if table[key] is not None else None
        if has_fallback:
            return inner(fallback, field) if fallback is not None else None
        raise AdapterError(f"{field}: unknown value {key!r} (not in its map)")

    return convert
