"""Pure: value conversions shared by the channel adapters (money, times, integers).

Every function takes the raw platform value and the ``field`` it came from, and raises
``AdapterError(f"{field}: ...")`` when the value is unusable, so the error always names
the field. Money is converted exactly (``Decimal``, integer arithmetic; never ``float``
maths) to integer fen. Times come back as tz-aware UTC datetimes. Values a platform uses
for "not set" (``""``, ``None``, epoch ``0``, ``"0000-00-00 00:00:00"``) become ``None``
in the time helpers and in ``optional_yuan_to_fen``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from app.domain.errors import AdapterError

__all__ = [
    "MAX_FEN",
    "SHANGHAI",
    "epoch_millis",
    "epoch_seconds",
    "fen",
    "integer",
    "optional_yuan_to_fen",
    "shanghai_time",
    "yuan_to_fen",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Upper bound of any amount in fen (fits a signed 64-bit integer with room to add).
MAX_FEN = 10**15

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_YUAN_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_PLAIN_YUAN = re.compile(r"(\d{1,15})(?:\.(\d{1,2}))?")
_DIGITS = re.compile(r"[+-]?\d+")
_SHANGHAI_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_UTC8 = timedelta(hours=8)
_TIME_NOT_SET = frozenset({"", "0000-00-00 00:00:00"})
#: Largest epoch value (seconds) accepted: 9999-12-31T23:59:59Z.
_MAX_EPOCH_SECONDS = 253_402_300_799


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------- money


def _decimal(value: object, field: str) -> Decimal:
    if isinstance(value, bool):  # bool is an int subclass: True is not 1 yuan
        raise AdapterError(f"{field}: expected a yuan amount, got {_show(value)}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest text that round-trips: 188.5 -> "188.5", 0.1 -> "0.1"
        d = Decimal(repr(value))
    elif isinstance(value, str) and _YUAN_TEXT.fullmatch(value.strip()):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise AdapterError(f"{field}: expected a yuan amount, got {_show(value)}") from None
    elif value is None:
        raise AdapterError(f"{field}: missing yuan amount")
    else:
        raise AdapterError(f"{field}: expected a yuan amount, got {_show(value)}")
    if not d.is_finite():
        raise AdapterError(f"{field}: expected a finite yuan amount, got {_show(value)}")
    return d


def yuan_to_fen(value: object, field: str = "amount") -> int:
    """Exact yuan → fen: ``"188.00"``, ``"188"``, ``188.5``, ``Decimal("1.2")`` → 18800, 18800, 18850, 120.

    Refuses more than 2 significant decimals (``"1.005"``), negatives, non-numbers,
    ``NaN``/``Infinity``, booleans and amounts of ``MAX_FEN`` fen or more. Trailing zeros
    are fine (``"1.000"`` is exactly 100 fen).
    """
    text = repr(value) if type(value) is float else value  # a float: its shortest round-trip text
    if type(text) is str:
        plain = _PLAIN_YUAN.fullmatch(text)
        if plain:  # the common "188.00": integer arithmetic, same result as the Decimal path
            whole, cents = plain.group(1), (plain.group(2) or "").ljust(2, "0")
            fast = int(whole) * 100 + int(cents)
            if fast < MAX_FEN:
                return fast
    d = _decimal(value, field)
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if exponent > 20 or len(digits) > 40:
        raise AdapterError(f"{field}: yuan amount out of range: {_show(value)}")
    coefficient = int("".join(map(str, digits)) or "0")
    if sign and coefficient:
        raise AdapterError(f"{field}: negative yuan amount {_show(value)}")
    result: int
    if exponent >= -2:
        result = coefficient * pow(10, exponent + 2)
    else:
        divisor: int = pow(10, -exponent - 2)
        if coefficient % divisor:
            raise AdapterError(f"{field}: more than 2 decimal places in yuan amount {_show(value)}")
        result = coefficient // divisor
    if result >= MAX_FEN:
        raise AdapterError(f"{field}: yuan amount out of range: {_show(value)}")
    return result


def optional_yuan_to_fen(value: object, field: str = "amount") -> int | None:
    """Like `yuan_to_fen`, but ``None`` / ``""`` (the platform's "not set") → ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return yuan_to_fen(value, field)


def integer(value: object, field: str) -> int:
    """A JSON integer or a string of digits → int. Booleans, floats and text are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    if value is None:
        raise AdapterError(f"{field}: missing integer")
    raise AdapterError(f"{field}: expected an integer, got {_show(value)}")


def fen(value: object, field: str = "amount") -> int:
    """An amount already in fen (Douyin, Kuaishou, WeChat): a non-negative integer."""
    if type(value) is int and 0 <= value < MAX_FEN:  # the common case, without the checks below
        return value
    result = integer(value, field)
    if result < 0:
        raise AdapterError(f"{field}: negative fen amount {_show(value)}")
    if result >= MAX_FEN:
        raise AdapterError(f"{field}: fen amount out of range: {_show(value)}")
    return result


# ---------------------------------------------------------------- time


def shanghai_time(value: object, field: str = "time") -> datetime | None:
    """``"2024-06-01 10:02:11"`` in Asia/Shanghai → aware UTC datetime (2024-06-01T02:02:11Z).

    ``None``, ``""`` and ``"0000-00-00 00:00:00"`` mean "not set" → ``None``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise AdapterError(f"{field}: expected 'yyyy-MM-dd HH:mm:ss', got {_show(value)}")
    text = value.strip()
    if text in _TIME_NOT_SET:
        return None
    if not _SHANGHAI_TEXT.fullmatch(text):
        raise AdapterError(f"{field}: expected 'yyyy-MM-dd HH:mm:ss', got {_show(value)}")
    try:  # slicing the checked pattern: strptime costs ten times as much
        local = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]),
                         int(text[11:13]), int(text[14:16]), int(text[17:19]))
    except ValueError:
        raise AdapterError(f"{field}: not a valid date/time: {_show(value)}") from None
    if local.year >= 1992:  # China has kept UTC+8 all year since 1992 (DST 1986-1991)
        return (local - _UTC8).replace(tzinfo=UTC)
    return local.replace(tzinfo=SHANGHAI).astimezone(UTC)


def _epoch(value: object, field: str, per_second: int, unit: str) -> datetime | None:
    if type(value) is int and 0 < value <= _MAX_EPOCH_SECONDS * per_second:  # the common case
        seconds, rest = divmod(value, per_second)
        return _EPOCH + timedelta(seconds=seconds, microseconds=rest * (1_000_000 // per_second))
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        n = integer(value, field)
    except AdapterError:
        raise AdapterError(f"{field}: expected unix {unit}, got {_show(value)}") from None
    if n == 0:
        return None
    if n < 0 or n > _MAX_EPOCH_SECONDS * per_second:
        raise AdapterError(f"{field}: unix {unit} out of range: {_show(value)}")
    seconds, rest = divmod(n, per_second)
    return _EPOCH + timedelta(seconds=seconds, microseconds=rest * (1_000_000 // per_second))


def epoch_seconds(value: object, field: str = "time") -> datetime | None:
    """Unix seconds (int or digit string) → aware UTC datetime; ``0`` / ``""`` / ``None`` → ``None``."""
    return _epoch(value, field, 1, "seconds")


def epoch_millis(value: object, field: str = "time") -> datetime | None:
    """Unix milliseconds (int or digit string) → aware UTC datetime; ``0`` / ``""`` / ``None`` → ``None``."""
    return _epoch(value, field, 1000, "milliseconds")
