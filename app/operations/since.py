"""Pure: ``--since`` values, an ISO-8601 time or a duration back from now (``90s``, ``15m``, ``2h``, ``7d``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.operations.errors import OperationsError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime) -> datetime:
    """The earliest time a `--since` value admits, tz-aware UTC. A naive ISO time is UTC."""
    raw = text.strip()
    match = _DURATION.match(raw.lower())
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise OperationsError(f"--since {text!r} is neither an ISO-8601 time (2026-11-11T02:00:00+08:00) "
                              f"nor a duration (90s, 15m, 2h, 7d)") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
