"""Pure: Pinduoduo 拼多多 order API (pdd.order.number.list.increment.get; complete orders).

``start_updated_at``/``end_updated_at`` in unix seconds, at most 30 minutes apart; pages
from 1 with ``use_has_next``. The list returns full order objects (the fields of
pdd.order.information.get). Pushes use orderhub's HMAC scheme (PDD pushes over 多多云
websockets). The rate-limit answer is a stand-in code (UNCONFIRMED).
"""

from __future__ import annotations

from typing import Any

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
    checked,
    epoch_from_shanghai,
    int_param,
    orderhub_push,
    read_orderhub_push,
    reply_object,
    required,
)

METHOD = "pdd.order.number.list.increment.get"
_RESPONSE = "order_sn_increment_get_response"
#: stand-in error_code of the simulator for "rate limited" (UNCONFIRMED)
RATE_LIMIT_CODE = 70031


class PddApi:
    name = "pdd"
    needs_detail = False
    paging = "pages"
    max_span_s = 30 * 60
    resolution_s = 1.0
    max_page_size = 100
    first_page = 1

    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall:
        return ApiCall("POST", "/api/router", query={
            "type": METHOD, "client_id": app_key, "access_token": token, "data_type": "JSON",
            "start_updated_at": str(int(window.start)), "end_updated_at": str(int(window.end)),
            "is_lucky_flag": "0", "order_status": "5", "refund_status": "5",
            "page": page_token or "1", "page_size": str(page_size), "use_has_next": "true"})

    def read_list(self, reply: Reply) -> ListPage:
        body = self._checked(reply)
        response = required(body, _RESPONSE, "increment response")
        page = int(response.get("page") or 1)
        return ListPage([self.ref(o) for o in response.get("order_sn_list") or []],
                        str(page + 1) if response.get("has_next") else None, response.get("total_count"))

    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall:
        raise ApiError("pdd: the increment list is complete, no detail call")

    def read_detail(self, reply: Reply) -> dict[str, Any]:
        raise ApiError("pdd: the increment list is complete, no detail call")

    def ref(self, payload: dict[str, Any]) -> OrderRef:
        status = f"{payload.get('order_status')}/{payload.get('confirm_status')}/{payload.get('refund_status')}"
        return OrderRef(str(payload["order_sn"]), epoch_from_shanghai(payload["updated_at"]), status, payload)

    def _checked(self, reply: Reply) -> dict[str, Any]:
        error = reply_object(reply).get("error_response")
        if not error:
            return checked(reply, None)
        return checked(reply, f"PDD error {error.get('error_code')} {error.get('error_msg') or ''}".strip(),
                       rate_limited=error.get("error_code") == RATE_LIMIT_CODE)

    # ---------------------------------------------------------------- server
    def list_query(self, call: ApiCall) -> ListQuery:
        q = call.query
        if q.get("type") != METHOD:
            raise ApiError(f"unknown type {q.get('type')!r}")
        window = Window(float(int_param(q, "start_updated_at")), float(int_param(q, "end_updated_at")))
        if window.end - window.start > 30 * 60:
            raise ApiError("end_updated_at - start_updated_at must not exceed 30 minutes")
        return ListQuery(q.get("access_token", ""), q.get("client_id", ""), window, q.get("page"),
                         min(int_param(q, "page_size", 100), self.max_page_size))

    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply:
        return Reply(200, {_RESPONSE: {"order_sn_list": orders, "has_next": next_token is not None,
                                       "page": int(query.page_token or 1), "total_count": total}})

    def detail_query(self, call: ApiCall) -> tuple[str, str]:
        raise ApiError("no detail call")

    def detail_reply(self, payload: dict[str, Any] | None) -> Reply:
        return self.server_error_reply(404)

    def rate_limited_reply(self) -> Reply:
        return Reply(200, {"error_response": {"error_code": RATE_LIMIT_CODE, "error_msg": "调用过于频繁",
                                              "sub_code": "70031", "sub_msg": "请降低调用频率"}})

    def server_error_reply(self, status: int) -> Reply:
        return Reply(status, {"error_response": {"error_code": 50000, "error_msg": "系统错误"}})

    # ---------------------------------------------------------------- push
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall:
        return orderhub_push({"msg_id": msg_id, "type": "pdd_trade_TradeModified", "order": payload},
                             secret=secret, now=now)

    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float, max_age_s: float) -> Pushed:
        body, sent_at = read_orderhub_push(call, secret=secret, now=now, max_age_s=max_age_s)
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise SignatureError("push: expected {msg_id, type, order}")
        return Pushed(str(body.get("msg_id", "")), sent_at, body["order"])
