"""Pure: Shopify Admin REST orders (GET orders.json by updated_at; complete orders).

``updated_at_min``/``updated_at_max`` (ISO-8601) with ``status=any``; paging by an
opaque ``page_info`` cursor in the ``Link`` header (a page_info request carries no other
filter). Rate limit: HTTP 429 with ``Retry-After``. Webhooks carry
``X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(secret, body))``; the timestamp header is
not signed, so replays are refused by ``X-Shopify-Webhook-Id`` and by age.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from app.platforms.base import (
    ApiCall,
    ApiError,
    ListPage,
    ListQuery,
    OrderRef,
    Pushed,
    RateLimitedError,
    Reply,
    SignatureError,
    Window,
    check_age,
    epoch_from_iso,
    int_param,
    json_object,
)
from app.platforms.signing import same, shopify_hmac

VERSION = "2024-10"
PATH = f"/admin/api/{VERSION}/orders.json"
_NEXT = re.compile(r'<[^>]*[?&]page_info=([^&>]+)[^>]*>;\s*rel="next"')


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


class ShopifyApi:
    name = "shopify"
    needs_detail = False
    paging = "cursor"
    max_span_s = 30 * 60
    resolution_s = 1.0
    max_page_size = 250

    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall:
        query = {"limit": str(page_size)}
        if page_token:
            query["page_info"] = page_token
        else:
            query.update(status="any", updated_at_min=_iso(window.start), updated_at_max=_iso(window.end),
                         order="updated_at asc")
        return ApiCall("GET", PATH, query=query, headers={"X-Shopify-Access-Token": token})

    def read_list(self, reply: Reply) -> ListPage:
        if reply.status == 429:
            retry = reply.headers.get("Retry-After")
            raise RateLimitedError(f"Shopify 429: {reply.body.get('errors') if isinstance(reply.body, dict) else ''}",
                                   float(retry) if retry else None)
        if reply.status >= 400 or not isinstance(reply.body, dict) or "orders" not in reply.body:
            raise ApiError(f"Shopify HTTP {reply.status}")
        match = _NEXT.search(reply.headers.get("Link", ""))
        return ListPage([self.ref(o) for o in reply.body["orders"]], match.group(1) if match else None)

    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall:
        raise ApiError("shopify: the orders list is complete, no detail call")

    def read_detail(self, reply: Reply) -> dict[str, Any]:
        raise ApiError("shopify: the orders list is complete, no detail call")

    def ref(self, payload: dict[str, Any]) -> OrderRef:
        status = f"{payload.get('financial_status')}/{payload.get('fulfillment_status')}/" \
                 f"{'cancelled' if payload.get('cancelled_at') else ''}"
        return OrderRef(str(payload["id"]), epoch_from_iso(payload["updated_at"]), status, payload)

    # ---------------------------------------------------------------- server
    def list_query(self, call: ApiCall) -> ListQuery:
        q = call.query
        token = call.headers.get("X-Shopify-Access-Token", "")
        size = min(int_param(q, "limit", 50), self.max_page_size)
        if "page_info" in q:
            try:
                state = orjson.loads(bytes.fromhex(q["page_info"]))
                window = Window(state["w"][0], state["w"][1])
            except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
                raise ApiError("page_info: invalid") from None
            return ListQuery(token, "", window, state["k"], size)
        try:
            window = Window(epoch_from_iso(q["updated_at_min"]), epoch_from_iso(q["updated_at_max"]))
        except (KeyError, ValueError):
            raise ApiError("updated_at_min/updated_at_max: expected ISO-8601") from None
        return ListQuery(token, "", window, None, size)

    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply:
        headers = {}
        if next_token is not None:
            page_info = orjson.dumps({"w": [query.window.start, query.window.end], "k": next_token}).hex()
            headers["Link"] = f'<{PATH}?limit={query.page_size}&page_info={page_info}>; rel="next"'
        return Reply(200, {"orders": orders}, headers)

    def detail_query(self, call: ApiCall) -> tuple[str, str]:
        raise ApiError("no detail call")

    def detail_reply(self, payload: dict[str, Any] | None) -> Reply:
        return Reply(404, {"errors": "Not Found"})

    def rate_limited_reply(self) -> Reply:
        return Reply(429, {"errors": "Exceeded 2 calls per second for api client. "
                                     "Reduce request rates to resume uninterrupted service."},
                     {"Retry-After": "1.0"})

    def server_error_reply(self, status: int) -> Reply:
        return Reply(status, {"errors": "Internal Server Error"})

    # ---------------------------------------------------------------- push
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall:
        raw = orjson.dumps(payload)
        return ApiCall("POST", "", headers={
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Hmac-Sha256": shopify_hmac(secret, raw), "X-Shopify-Webhook-Id": msg_id,
            "X-Shopify-Triggered-At": _iso(now), "X-Shopify-Shop-Domain": f"{app_key}.myshopify.com"}, raw=raw)

    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float, max_age_s: float) -> Pushed:
        headers = {k.lower(): v for k, v in call.headers.items()}
        if not same(shopify_hmac(secret, call.raw or b""), headers.get("x-shopify-hmac-sha256")):
            raise SignatureError("X-Shopify-Hmac-Sha256 does not match the body (tampered, or another secret)")
        sent_at = None
        if headers.get("x-shopify-triggered-at"):
            try:
                sent_at = epoch_from_iso(headers["x-shopify-triggered-at"])
            except ValueError:
                raise SignatureError("X-Shopify-Triggered-At: not ISO-8601") from None
            check_age(sent_at, now, max_age_s)
        body = json_object(call.raw, "webhook")
        if not isinstance(body, dict) or "id" not in body:
            raise SignatureError("webhook: expected an order object")
        return Pushed(headers.get("x-shopify-webhook-id", ""), sent_at, body)
