"""Pure: one pass of the stuck-order watchdog over the orders a worker owns.

The pass reads every stored order, so it skips cheaply what cannot be watched: an order
is decoded only when its stored JSON (compact orjson, `app.codec`) says it is PAID with a
fulfillment that is not yet acknowledged. What to do with each order is
`app.domain.watchdog.assess`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from app import codec
from app.domain.watchdog import WatchAction, WatchdogPolicy, assess

_STATUS = b'"status":"'
_STATE = b'"state":"'
_UNACKNOWLEDGED = (b"REQ", b"NON", b"INT")  # REQUESTED, NONE, INTERCEPTED


def may_be_watched(value: bytes) -> bool:
    """False only for orders the watchdog certainly ignores: a fast test on the stored bytes.

    The order's own `"status"` is the first such key (after the short identity fields) and
    the fulfillment's `"state"` the only one, near the end: `find` and `rfind` stop early.
    (A quote inside a JSON string is escaped, so no string value can look like a key.)
    """
    at = value.find(_STATUS)
    if at < 0 or value[at + 10:at + 15] != b'PAID"':
        return False
    at = value.rfind(_STATE)
    return at >= 0 and value[at + 9:at + 12] in _UNACKNOWLEDGED


@dataclass(slots=True)
class ScanResult:
    #: (OLI, due time) of the orders whose watchdog action is due now
    due: list[tuple[str, datetime]] = field(default_factory=list)
    #: raised as stuck and still not acknowledged
    alerted: int = 0
    #: past the SLA without an acknowledgement, raised or not
    overdue: int = 0
    scanned: int = 0
    decoded: int = 0


def scan(items: Iterable[tuple[bytes, bytes]], now: datetime, policy: WatchdogPolicy,
         into: ScanResult | None = None) -> ScanResult:
    """Assess the stored orders `items`; `into` adds them to a pass scanned in several chunks."""
    result = into if into is not None else ScanResult()
    for _key, value in items:
        result.scanned += 1
        if not may_be_watched(value):
            continue
        order = codec.decode_order(value)
        result.decoded += 1
        if order is None:
            continue
        verdict = assess(order, now, policy)
        result.alerted += verdict.alerted
        result.overdue += verdict.overdue
        if verdict.action is not WatchAction.NONE and verdict.due_at is not None:
            result.due.append((order.oli, verdict.due_at))
    return result
