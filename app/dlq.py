"""Dead-lettering and the DLQ message contract.

A DLQ entry is JSON on `<source topic>.dlq`, keyed by the original key:
``{topic, partition, offset, key, value_b64, headers, error_type, error, stage, attempts,
first_failed_at, last_failed_at, schema_version}``. `attempts` counts deliveries that
failed: a replayed message carries the header `orderhub-replays`, and fails again with
attempts + 1. `first_failed_at` travels in the `orderhub-first-failed-at` header.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

from app.domain.errors import OrderhubError

REPLAYS_HEADER = "orderhub-replays"
FIRST_FAILED_HEADER = "orderhub-first-failed-at"


def _header(headers: Any, name: str) -> str | None:
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    for key, value in items:
        if key == name and value is not None:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def error_type(exc: BaseException) -> str:
    return exc.code if isinstance(exc, OrderhubError) else f"unexpected:{type(exc).__name__}"


def dlq_entry(*, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
              headers: Any, exc: BaseException, stage: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    replays = int(_header(headers, REPLAYS_HEADER) or 0)
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    return {
        "schema_version": 1,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": None if key is None else key.decode("utf-8", "replace"),
        "value_b64": None if value is None else base64.b64encode(value).decode(),
        "headers": {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in items},
        "error_type": error_type(exc),
        "error": str(exc)[:2000] or type(exc).__name__,
        "stage": stage,
        "attempts": replays + 1,
        "first_failed_at": _header(headers, FIRST_FAILED_HEADER) or now.isoformat(),
        "last_failed_at": now.isoformat(),
    }


def encode_entry(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry)
