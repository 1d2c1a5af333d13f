"""Pure: Taobao / Tmall TOP order API (taobao.trades.sold.increment.get + taobao.trade.fullinfo.get).

The increment list returns partial trades (tid, status, modified): each changed trade's
detail comes from fullinfo.get. Times are "yyyy-MM-dd HH:mm:ss" Asia/Shanghai (second
resolution). Rate limit: TOP's error_response codes 4-8 ("... Call Limited"). Pushes follow
TOP/奇门's HTTP message signing: MD5(secret + sorted params + body + secret).
"""

from __future__ import annotations

from typing import Any

import orjson

from app.platforms.base import (
    ApiCall,
    ApiError,
    ListPage,
    ListQuery,
    OrderRef,
    Pushed,
    Reply,
    SignatureError,
    Window,
    check_age,
    checked,
    epoch_from_shanghai,
    int_param,
    json_object,
    reply_object,
    required,
    shanghai_text,
)
from app.platforms.signing import same, top_md5_sign

LIST_METHOD = "taobao.trades.sold.increment.get"
DETAIL_METHOD = "taobao.trade.fullinfo.get"
PUSH_METHOD = "taobao.trade.push"
#: TOP's "call limited" codes: 4 User / 5 Session / 6 Partner Call Limited, 7 App Call Limited,
#: 8 App Call Exceeds Limited Frequency (TOP's gateway error table, as the public TOP SDKs carry it)
RATE_LIMIT_CODES = frozenset({4, 5, 6, 7, 8})
RATE_LIMIT_CODE = 7  # the one the simulator answers
_LIST = "trades_sold_increment_get_response"
_DETAIL = "trade_fullinfo_get_response"


class TopApi:
    needs_detail = True
    paging = "pages"
    max_span_s = 30 * 60  # ≤ 1 day allowed, ≤ 30 min advised
    resolution_s = 1.0
    max_page_size = 100
    first_page = 1

    def __init__(self, name: str = "taobao") -> None:
        self.name = name

    # ---------------------------------------------------------------- client
    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall:
        return ApiCall("GET", "/router/rest", query={
            "method": LIST_METHOD, "app_key": app_key, "session": token, "v": "2.0", "format": "json",
            "fields": "tid,status,modified", "start_modified": shanghai_text(window.start),
            "end_modified": shanghai_text(window.end), "page_no": page_token or "1",
            "page_size": str(page_size), "use_has_next": "true"})

    def read_list(self, reply: Reply) -> ListPage:
        body = self._checked(reply)
        response = required(body, _LIST, "list response")
        trades = ((response.get("trades") or {}).get("trade")) or []
        refs = [OrderRef(str(t["tid"]), epoch_from_shanghai(t["modified"]), str(t["status"])) for t in trades]
        page = int(response.get("page_no") or 1)
        return ListPage(refs, str(page + 1) if response.get("has_next") else None)

    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall:
        return ApiCall("GET", "/router/rest", query={
            "method": DETAIL_METHOD, "app_key": app_key, "session": token, "v": "2.0", "format": "json",
            "tid": external_id, "fields": "*"})

    def read_detail(self, reply: Reply) -> dict[str, Any]:
        body = self._checked(reply)
        required(required(body, _DETAIL, "detail response"), "trade", _DETAIL)
        return body

    def ref(self, payload: dict[str, Any]) -> OrderRef:
        trade = payload[_DETAIL]["trade"] if _DETAIL in payload else payload
        return OrderRef(str(trade["tid"]), epoch_from_shanghai(trade["modified"]), str(trade["status"]), payload)

    def _checked(self, reply: Reply) -> dict[str, Any]:
        error = reply_object(reply).get("error_response")
        if not error:
            return checked(reply, None)
        return checked(reply, f"TOP error {error.get('code')} {error.get('msg')} {error.get('sub_code') or ''}".strip(),
                       rate_limited=error.get("code") in RATE_LIMIT_CODES)

    # ---------------------------------------------------------------- server
    def list_query(self, call: ApiCall) -> ListQuery:
        q = call.query
        if q.get("method") != LIST_METHOD:
            raise ApiError(f"unknown method {q.get('method')!r}")
        try:
            window = Window(epoch_from_shanghai(q["start_modified"]), epoch_from_shanghai(q["end_modified"]))
        except (KeyError, ValueError):
            raise ApiError("start_modified/end_modified: expected yyyy-MM-dd HH:mm:ss") from None
        if window.end - window.start > 86400:
            raise ApiError("end_modified - start_modified must not exceed one day")
        return ListQuery(q.get("session", ""), q.get("app_key", ""), window, q.get("page_no"),
                         min(int_param(q, "page_size", 40), self.max_page_size))

    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply:
        trades = [{k: o[_DETAIL]["trade"][k] for k in ("tid", "status", "modified")} for o in orders]
        return Reply(200, {_LIST: {"trades": {"trade": trades}, "has_next": next_token is not None,
                                   "page_no": int(query.page_token or 1)}})

    def detail_query(self, call: ApiCall) -> tuple[str, str]:
        if call.query.get("method") != DETAIL_METHOD:
            raise ApiError(f"unknown method {call.query.get('method')!r}")
        return call.query.get("session", ""), call.query.get("tid", "")

    def detail_reply(self, payload: dict[str, Any] | None) -> Reply:
        if payload is None:
            return Reply(200, {"error_response": {"code": 15, "msg": "Remote service error",
                                                  "sub_code": "isv.trade-not-exist"}})
        return Reply(200, payload)

    def rate_limited_reply(self) -> Reply:
        return Reply(200, {"error_response": {
            "code": RATE_LIMIT_CODE, "msg": "App Call Limited",
            "sub_code": "accesscontrol.limited-by-app-access-count",
            "sub_msg": "This ban will last for 1 more seconds"}})

    def server_error_reply(self, status: int) -> Reply:
        return Reply(status, {"error_response": {"code": 15, "msg": "Remote service error",
                                                 "sub_code": "isp.remote-service-error"}})

    # ---------------------------------------------------------------- push
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall:
        raw = orjson.dumps({"msg_id": msg_id, "topic": "taobao_trade_TradeChanged", "content": payload})
        params = {"method": PUSH_METHOD, "app_key": app_key, "timestamp": shanghai_text(now),
                  "sign_method": "md5"}
        params["sign"] = top_md5_sign(params, raw, secret)
        return ApiCall("POST", "", query=params, headers={"Content-Type": "application/json"}, raw=raw)

    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float, max_age_s: float) -> Pushed:
        params = dict(call.query)
        if not same(top_md5_sign(params, call.raw or b"", secret), params.get("sign")):
            raise SignatureError("sign does not match the message (tampered, or another secret)")
        try:
            sent_at = epoch_from_shanghai(params.get("timestamp", ""))
        except ValueError:
            raise SignatureError("timestamp: expected yyyy-MM-dd HH:mm:ss") from None
        check_age(sent_at, now, max_age_s)
        body = json_object(call.raw, "push")
        if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
            raise SignatureError("push: expected {msg_id, topic, content}")
        return Pushed(str(body.get("msg_id", "")), sent_at, body["content"])
