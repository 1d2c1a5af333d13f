"""Pure: the shapes shared by every platform API description (requests, pages, windows, errors).

A platform module describes one order API from both ends, so the simulator and the
connectors cannot drift apart: the client side (build a list/detail request, read a
page, tell the platform's rate-limit error) and the server side (read a request, write a
page or the platform's own error). Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from app.domain.errors import OrderhubError

__all__ = [
    "ApiCall", "ApiError", "Pushed", "SignatureError", "ListPage", "ListQuery", "OrderRef", "PlatformApi", "RateLimitedError",
    "Reply", "Window", "checked", "epoch_from_shanghai", "reply_object", "shanghai_text",
]

SHANGHAI = timezone(timedelta(hours=8))


class ApiError(OrderhubError):
    """The platform answered with an error (a 5xx, a bad shape, an error code); retried."""

    retriable = True
    code = "platform_error"


class RateLimitedError(ApiError):
    """The platform's own "rate limit exceeded" answer: back off and lower the rate."""

    code = "platform_rate_limited"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SignatureError(OrderhubError):
    """A push message whose signature, secret or timestamp does not check out."""

    code = "bad_signature"


@dataclass(frozen=True, slots=True)
class Pushed:
    """A verified push message: the platform's message id, when it was sent, the order."""

    msg_id: str
    sent_at: float | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Window:
    """Modified-time window in epoch seconds, both ends included (as the platforms filter)."""

    start: float
    end: float

    def contains(self, t: float) -> bool:
        return self.start <= t <= self.end

    def aligned(self, resolution_s: float) -> Window:
        """Both ends on the platform's time grid (its modified times are whole ticks)."""
        return Window(math.ceil(round(self.start / resolution_s, 6)) * resolution_s,
                      math.floor(round(self.end / resolution_s, 6)) * resolution_s)

    def splittable(self, resolution_s: float) -> bool:
        return self.end - self.start >= resolution_s

    def split(self, resolution_s: float) -> tuple[Window, Window]:
        """Two halves that share no platform time: ``[start, mid]`` and ``[mid + resolution, end]``."""
        steps = math.floor((self.end - self.start) / resolution_s / 2)
        mid = self.start + steps * resolution_s
        return Window(self.start, mid), Window(mid + resolution_s, self.end)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One HTTP request, as the client builds it and the server reads it."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | list[Any] | None = None
    #: the exact bytes of a signed push (the signature covers bytes, not parsed JSON)
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderRef:
    """One order as a list page names it; `payload` is set when the list is complete."""

    external_id: str
    modified: float | None = None
    status: str | None = None
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ListPage:
    refs: list[OrderRef]
    next_token: str | None  # None: this was the last page
    total: int | None = None


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A list request as the server reads it."""

    token: str  # the shop's access token / session
    app_key: str
    window: Window
    page_token: str | None
    page_size: int


class PlatformApi(Protocol):
    """One platform's order API, both ends."""

    name: str
    #: the list call names orders only (ids or a partial order): fetch each one's detail
    needs_detail: bool
    #: "pages": numbered pages of a live result (they shift while you page; the connector
    #: splits the window until one page holds it); "cursor": a keyset cursor (stable)
    paging: str
    #: widest window one list call accepts, seconds
    max_span_s: int
    #: the resolution of the platform's modified times, seconds
    resolution_s: float
    max_page_size: int

    # client side
    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall: ...
    def read_list(self, reply: Reply) -> ListPage: ...
    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall: ...
    def read_detail(self, reply: Reply) -> dict[str, Any]: ...
    def ref(self, payload: dict[str, Any]) -> OrderRef: ...

    # server side
    def list_query(self, call: ApiCall) -> ListQuery: ...
    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply: ...
    def detail_query(self, call: ApiCall) -> tuple[str, str]: ...  # (token, external_id)
    def detail_reply(self, payload: dict[str, Any] | None) -> Reply: ...
    def rate_limited_reply(self) -> Reply: ...
    def server_error_reply(self, status: int) -> Reply: ...

    # push messages (webhooks)
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall: ...
    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float,
                  max_age_s: float) -> Pushed: ...


# ------------------------------------------------------------------ helpers shared by the modules


def shanghai_text(t: float) -> str:
    """Epoch seconds → "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai (TOP, JD, PDD times)."""
    return datetime.fromtimestamp(t, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def epoch_from_shanghai(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI).timestamp()


def iso_text(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def epoch_from_iso(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def floor_s(t: float) -> int:
    return math.floor(t)


def ceil_s(t: float) -> int:
    return math.ceil(t)


def required(mapping: dict[str, Any], name: str, what: str) -> Any:
    try:
        return mapping[name]
    except (KeyError, TypeError):
        raise ApiError(f"{what}: missing {name!r}") from None


def int_param(query: dict[str, str], name: str, default: int | None = None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ApiError(f"missing parameter {name!r}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(f"parameter {name!r} must be an integer, not {raw!r}") from None


def reply_object(reply: Reply) -> dict[str, Any]:
    """The reply's JSON object (every platform answers one, errors included)."""
    if not isinstance(reply.body, dict):
        raise ApiError(f"HTTP {reply.status}: not a JSON object")
    return reply.body


def checked(reply: Reply, error: str | None, *, rate_limited: bool = False) -> dict[str, Any]:
    """The reply's body unless the platform answered an error: `error` is the platform's error
    text read from the body (None: no error there), `rate_limited` whether it is the platform's
    rate-limit answer. A 5xx without an error in the body is an error too."""
    if error is not None:
        raise (RateLimitedError if rate_limited else ApiError)(error)
    if reply.status >= 500:
        raise ApiError(f"HTTP {reply.status}")
    return reply_object(reply)


def check_age(sent_at: float, now: float, max_age_s: float) -> None:
    if abs(now - sent_at) > max_age_s:
        raise SignatureError(f"timestamp {sent_at:.0f} is {now - sent_at:+.0f} s from now "
                             f"(allowed ±{max_age_s:.0f} s): a replay or a stale message")


def json_object(raw: bytes | None, what: str) -> Any:
    import orjson

    if raw is None:
        raise SignatureError(f"{what}: empty body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise SignatureError(f"{what}: body is not JSON") from None


# ------------------------------------------------------------------ orderhub's push scheme

TIMESTAMP_HEADER = "X-Orderhub-Timestamp"
SIGNATURE_HEADER = "X-Orderhub-Signature"


def orderhub_push(body: dict[str, Any], *, secret: str, now: float) -> ApiCall:
    """A push signed with orderhub's HMAC scheme (platforms whose HTTP push signature the
    reference does not give)."""
    import orjson

    from app.platforms.signing import orderhub_hmac

    raw = orjson.dumps(body)
    timestamp = str(int(now))
    return ApiCall("POST", "", headers={TIMESTAMP_HEADER: timestamp, "Content-Type": "application/json",
                                        SIGNATURE_HEADER: orderhub_hmac(secret, timestamp, raw)}, raw=raw)


def read_orderhub_push(call: ApiCall, *, secret: str, now: float, max_age_s: float) -> tuple[Any, float]:
    """The verified JSON body and its signed timestamp; `SignatureError` otherwise."""
    from app.platforms.signing import orderhub_hmac, same

    headers = {k.lower(): v for k, v in call.headers.items()}
    timestamp = headers.get(TIMESTAMP_HEADER.lower())
    if not timestamp or not timestamp.isdigit():
        raise SignatureError(f"missing or bad {TIMESTAMP_HEADER}")
    if not same(orderhub_hmac(secret, timestamp, call.raw or b""), headers.get(SIGNATURE_HEADER.lower())):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body (tampered, or another secret)")
    check_age(float(timestamp), now, max_age_s)
    return json_object(call.raw, "push"), float(timestamp)
