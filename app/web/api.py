"""Faust wiring: what every API view shares: JSON answers, bearer-token roles, routing to the
worker that owns an order and gathering from all workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cache, wraps
from typing import Any
from urllib.parse import quote

import orjson
from faust.exceptions import SameNode
from faust.web import View
from yarl import URL

from app.console.roles import Permission, Principal, TokenStore, mask_receivers
from app.console_config import load_tokens
from app.domain.errors import OrderhubError, ValidationError
from app.logs import get_logger
from app.main import app, settings

log = get_logger("orderhub.web")
GATHER_TIMEOUT_S = 5.0
LOCAL = "local"  # query parameter of a request one worker makes to another during a gather


class LocalAnswer(Exception):  # noqa: N818 — a control-flow signal, not an error
    """A worker asked by another during a gather answers with its local part only."""

    def __init__(self, data: Any) -> None:
        super().__init__("local answer")
        self.data = data


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


STATUS_FOR_CODE = {"stale_version": 409, "command_conflict": 409, "approval_refused": 409,
                   "approval_forbidden": 403}


@cache
def tokens() -> TokenStore:
    return load_tokens(settings)


def json_response(view: View, data: Any, status: int = 200) -> Any:
    return view.bytes(orjson.dumps(data), content_type="application/json", status=status)


def error_response(view: View, status: int, message: str, **extra: Any) -> Any:
    return json_response(view, {"error": message, "status": status, **extra}, status)


def authorize(request: Any, permission: Permission) -> Principal:
    principal = tokens().authenticate(request.headers.get("Authorization"))
    if principal is None:
        raise ApiError(401, "missing or unknown bearer token")
    if not principal.can(permission):
        raise ApiError(403, f"role {principal.role.value} may not {permission.value}")
    return principal


def shown(principal: Principal, data: Any) -> Any:
    """Receiver name, phone and street masked unless the role may see them."""
    return data if principal.can(Permission.UNMASKED) else mask_receivers(data)


Handler = Callable[..., Awaitable[Any]]


def api(permission: Permission) -> Callable[[Handler], Handler]:
    """Authorize, then run the handler; every failure becomes a JSON error, never a 500 page."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def run(self: View, request: Any, **kwargs: Any) -> Any:
            try:
                principal = authorize(request, permission)
                return await handler(self, request, principal, **kwargs)
            except LocalAnswer as answer:
                return json_response(self, shown(principal, answer.data))
            except ApiError as exc:
                return error_response(self, exc.status, str(exc), **exc.extra)
            except OrderhubError as exc:
                return error_response(self, STATUS_FOR_CODE.get(exc.code, 400), str(exc), code=exc.code)
            except Exception as exc:
                log.error("web.failed", path=request.path, error=repr(exc), exc_info=True)
                return error_response(self, 500, "internal error")

        return run

    return decorate


async def json_body(request: Any) -> Any:
    raw = await request.read()
    if len(raw) > 1_000_000:
        raise ValidationError("body: larger than 1 MB")
    try:
        return orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise ValidationError("body: not valid JSON") from None


def _ident(url: URL | str) -> tuple[str, int]:
    u = URL(str(url))
    return (u.host or "", u.port or 80)


def is_self(url: URL | str) -> bool:
    return _ident(url) == _ident(app.conf.canonical_url)


async def on_owner(view: View, request: Any, table_name: str, oli: str,
                   local: Callable[[], Awaitable[Any]]) -> Any:
    """Answer from the worker that owns `oli` in `table_name`: here, or proxied there."""
    try:
        return await app.router.route_req(table_name, oli.encode(), view.web, request)
    except SameNode:
        return await local()
    except Exception as exc:  # noqa: BLE001 — no owner during a rebalance, or the owner did not answer
        log.warning("web.route_failed", table=table_name, error=repr(exc))
        raise ApiError(503, "the worker that owns this order is not reachable; retry shortly") from None


def order_path(oli: str) -> str:
    """`/api/orders/<oli>` with the OLI percent-encoded (an OLI may itself contain `%`)."""
    return "/api/orders/" + quote(oli, safe="")


def owner_url(table_name: str, oli: str) -> URL | None:
    """The owner's URL, or None when it is this worker."""
    try:
        url = app.router.key_store(table_name, oli.encode())
    except KeyError:
        raise ApiError(503, "no worker owns this order right now (rebalancing); retry shortly") from None
    return None if is_self(url) else url


async def get_json(url: URL | str, request: Any) -> Any:
    headers = {"Authorization": request.headers.get("Authorization", "")}
    async with app.http_client.get(str(url), headers=headers,
                                   timeout=_timeout()) as response:
        body = await response.read()
        return response.status, orjson.loads(body) if body else None


def _timeout() -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(total=GATHER_TIMEOUT_S)


def workers() -> list[str]:
    urls = {str(u) for u in app.router.tables_metadata()}
    urls.add(str(app.conf.canonical_url))
    return sorted(urls)


async def gather(request: Any, local: Callable[[], Awaitable[dict[str, Any]]], *, path: str | None = None,
                 query: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every worker's local answer to this request, or to GET `path`?`query` (each asked with
    ?local=1), and the workers that did not answer."""
    if request.query.get(LOCAL) == "1":
        raise LocalAnswer(await local())

    async def ask(url: str) -> dict[str, Any]:
        if is_self(url):
            return await local()
        target = URL(url).with_path(path or request.rel_url.raw_path, encoded=True).with_query(
            {**(request.query if query is None else query), LOCAL: "1"})
        status, body = await get_json(target, request)
        if status != 200:
            raise ApiError(status, f"{url} answered {status}")
        return body  # type: ignore[no-any-return]

    urls = workers()
    results = await asyncio.gather(*(ask(u) for u in urls), return_exceptions=True)
    answers = [r for r in results if isinstance(r, dict)]
    failed = [u for u, r in zip(urls, results, strict=True) if not isinstance(r, dict)]
    return answers, failed


def state_and_limit(query: Any, states: Any, default_state: str) -> tuple[str, int]:
    """`?state=&limit=` of a listing view (plus `local`, set when workers gather from each other)."""
    unknown = sorted(set(query) - {"state", "limit", "local"})
    if unknown:
        raise ValidationError(f"unknown query parameter {unknown[0]!r}")
    state = query.get("state", default_state)
    if state not in states:
        raise ValidationError(f"query parameter 'state' must be one of {', '.join(states)}")
    raw = query.get("limit", "200")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ValidationError("query parameter 'limit' must be an integer from 1 to 1000")
    return state, int(raw)
