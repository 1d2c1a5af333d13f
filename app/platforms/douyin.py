"""Pure: Douyin Shop 抖店 order API (order.searchList by update_time; complete orders in the list).

Times are unix seconds; pages count from 0. Pushes carry ``event-sign =
MD5(app_key + body + app_secret)`` and ``app-id`` headers; the body is a list of
``{tag, msg_id, data}`` with ``data`` a JSON string (here ``{"ts": <sent>, "order": …}``).
Errors are ``{code, msg, sub_code, sub_msg}`` (10000 success, 20000 ``dop.service-error``:
抖店's base error table); the rate-limit answer is a stand-in: no source gives 抖店's code.
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
    json_object,
    reply_object,
    required,
)
from app.platforms.signing import douyin_event_sign, same

OK = 10000
#: stand-in code of the simulator (UNCONFIRMED for the real platform, see docs/connectors.md)
RATE_LIMIT_SUB_CODE = "isv.access-frequency-limited"


class DouyinApi:
    name = "douyin"
    needs_detail = False
    paging = "pages"
    max_span_s = 30 * 60
    resolution_s = 1.0
    max_page_size = 100
    first_page = 0

    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall:
        param = {"update_time_start": int(window.start), "update_time_end": int(window.end),
                 "order_by": "update_time", "order_asc": True, "page": int(page_token or 0), "size": page_size}
        return ApiCall("GET", "/order/searchList", query={
            "method": "order.searchList", "app_key": app_key, "access_token": token, "v": "2",
            "param_json": orjson.dumps(param).decode()})

    def read_list(self, reply: Reply) -> ListPage:
        body = self._checked(reply)
        data = required(body, "data", "searchList response")
        orders = data.get("shop_order_list") or []
        page, size, total = int(data.get("page", 0)), int(data.get("size", 0)), int(data.get("total", 0))
        more = (page + 1) * size < total
        return ListPage([self.ref(o) for o in orders], str(page + 1) if more else None, total)

    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall:
        return ApiCall("GET", "/order/orderDetail", query={
            "method": "order.orderDetail", "app_key": app_key, "access_token": token, "v": "2",
            "param_json": orjson.dumps({"shop_order_id": external_id}).decode()})

    def read_detail(self, reply: Reply) -> dict[str, Any]:
        body = self._checked(reply)
        return dict(required(required(body, "data", "orderDetail response"), "shop_order_detail", "data"))

    def ref(self, payload: dict[str, Any]) -> OrderRef:
        return OrderRef(str(payload["order_id"]), float(payload["update_time"]), str(payload["order_status"]),
                        payload)

    def _checked(self, reply: Reply) -> dict[str, Any]:
        body = reply_object(reply)
        if body.get("code") == OK:
            return body
        return checked(reply, f"抖店 error {body.get('code')} {body.get('msg')} {body.get('sub_code') or ''}".strip(),
                       rate_limited=body.get("sub_code") == RATE_LIMIT_SUB_CODE)

    # ---------------------------------------------------------------- server
    def list_query(self, call: ApiCall) -> ListQuery:
        try:
            param = orjson.loads(call.query.get("param_json", ""))
            window = Window(float(param["update_time_start"]), float(param["update_time_end"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ApiError("param_json: expected update_time_start/update_time_end") from None
        return ListQuery(call.query.get("access_token", ""), call.query.get("app_key", ""), window,
                         str(param.get("page", 0)), min(int(param.get("size", 20)), self.max_page_size))

    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply:
        return Reply(200, {"code": OK, "msg": "success", "sub_code": "", "sub_msg": "", "data": {
            "page": int(query.page_token or 0), "size": query.page_size, "total": total, "shop_order_list": orders}})

    def detail_query(self, call: ApiCall) -> tuple[str, str]:
        param = orjson.loads(call.query.get("param_json", "{}"))
        return call.query.get("access_token", ""), str(param.get("shop_order_id", ""))

    def detail_reply(self, payload: dict[str, Any] | None) -> Reply:
        if payload is None:
            return Reply(200, {"code": 30002, "msg": "订单不存在", "sub_code": "isv.order-not-exist"})
        return Reply(200, {"code": OK, "msg": "success", "data": {"shop_order_detail": payload}})

    def rate_limited_reply(self) -> Reply:
        return Reply(200, {"code": 50002, "msg": "访问太频繁", "sub_code": RATE_LIMIT_SUB_CODE,
                           "sub_msg": "请求过于频繁，请稍后重试"})

    def server_error_reply(self, status: int) -> Reply:
        return Reply(status, {"code": 20000, "msg": "服务不可用", "sub_code": "dop.service-error",
                              "sub_msg": "服务调用失败,请稍后重试"})

    # ---------------------------------------------------------------- push
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall:
        data = orjson.dumps({"ts": int(now), "order": payload}).decode()
        raw = orjson.dumps([{"tag": "105", "msg_id": msg_id, "data": data}])
        return ApiCall("POST", "", headers={"app-id": app_key, "event-sign": douyin_event_sign(app_key, raw, secret),
                                            "Content-Type": "application/json"}, raw=raw)

    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float, max_age_s: float) -> Pushed:
        headers = {k.lower(): v for k, v in call.headers.items()}
        if not same(douyin_event_sign(app_key, call.raw or b"", secret), headers.get("event-sign")):
            raise SignatureError("event-sign does not match the message (tampered, or another secret)")
        body = json_object(call.raw, "push")
        try:
            message = body[0]
            data = orjson.loads(message["data"])
            sent_at, order = float(data["ts"]), data["order"]
        except (IndexError, KeyError, TypeError, ValueError, orjson.JSONDecodeError):
            raise SignatureError("push: expected [{tag, msg_id, data: {ts, order}}]") from None
        check_age(sent_at, now, max_age_s)
        return Pushed(str(message.get("msg_id", "")), sent_at, order)
