"""Pure: Kuaishou 快手小店 order API (open.order.cursor.list by update time; complete orders).

``queryType=2`` selects by update time, ``beginTime``/``endTime`` in unix milliseconds,
keyset ``cursor`` ("" first, "nomore" at the end). Pushes use orderhub's HMAC scheme
(Kuaishou's HTTP push signature is not in the reference notes). The rate-limit answer is
told by its documented message ("Exceed qps limit, …"); its result code is a stand-in.
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
    checked,
    orderhub_push,
    read_orderhub_push,
    reply_object,
    required,
)

END = "nomore"
#: Kuaishou's QPS answer reads "Exceed qps limit, KEY [apiId:…;appkey:…], MAX_QPS [300.0]"
#: (its FAQ K1008 "API调用触发限流告警"); the result code beside it is not documented there,
#: so the message is what tells it ("Exceed quota limit" is the daily quota: not a pace problem)
RATE_LIMIT_MESSAGE = "exceed qps limit"
RATE_LIMIT_RESULT = 28  # the simulator's stand-in result code (UNCONFIRMED)


class KuaishouApi:
    name = "kuaishou"
    needs_detail = False
    paging = "cursor"
    max_span_s = 30 * 60
    resolution_s = 0.001
    max_page_size = 100

    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall:
        param = {"queryType": 2, "beginTime": round(window.start * 1000), "endTime": round(window.end * 1000),
                 "cursor": page_token or "", "pageSize": page_size, "sort": 1, "cpsType": 0}
        return ApiCall("GET", "/open/order/cursor/list", query={
            "method": "open.order.cursor.list", "appkey": app_key, "access_token": token, "version": "1",
            "param": orjson.dumps(param).decode()})

    def read_list(self, reply: Reply) -> ListPage:
        body = self._checked(reply)
        data = required(body, "data", "cursor.list response")
        cursor = data.get("cursor") or END
        return ListPage([self.ref(o) for o in data.get("orderList") or []], None if cursor == END else cursor)

    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall:
        return ApiCall("GET", "/open/order/detail", query={
            "method": "open.order.detail", "appkey": app_key, "access_token": token, "version": "1",
            "param": orjson.dumps({"oid": int(external_id)}).decode()})

    def read_detail(self, reply: Reply) -> dict[str, Any]:
        return dict(required(self._checked(reply), "data", "order.detail response"))

    def ref(self, payload: dict[str, Any]) -> OrderRef:
        base = payload["orderBaseInfo"]
        return OrderRef(str(base["oid"]), base["updateTime"] / 1000, str(base["status"]), payload)

    def _checked(self, reply: Reply) -> dict[str, Any]:
        body = reply_object(reply)
        if body.get("result") == 1:
            return body
        message = str(body.get("error_msg") or body.get("msg") or "")
        return checked(reply, f"快手 error result={body.get('result')} {message}".strip(),
                       rate_limited=message.lower().startswith(RATE_LIMIT_MESSAGE))

    # ---------------------------------------------------------------- server
    def list_query(self, call: ApiCall) -> ListQuery:
        try:
            param = orjson.loads(call.query.get("param", ""))
            if param.get("queryType") != 2:
                raise ApiError("queryType must be 2 (update time) for an incremental pull")
            window = Window(param["beginTime"] / 1000, param["endTime"] / 1000)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise ApiError("param: expected beginTime/endTime in ms") from None
        return ListQuery(call.query.get("access_token", ""), call.query.get("appkey", ""), window,
                         param.get("cursor") or None, min(int(param.get("pageSize", 20)), self.max_page_size))

    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply:
        return Reply(200, {"result": 1, "msg": "success", "data": {
            "cursor": next_token or END, "pageSize": query.page_size, "orderList": orders}})

    def detail_query(self, call: ApiCall) -> tuple[str, str]:
        param = orjson.loads(call.query.get("param", "{}"))
        return call.query.get("access_token", ""), str(param.get("oid", ""))

    def detail_reply(self, payload: dict[str, Any] | None) -> Reply:
        if payload is None:
            return Reply(200, {"result": 10001, "error_msg": "订单不存在"})
        return Reply(200, {"result": 1, "msg": "success", "data": payload})

    def rate_limited_reply(self) -> Reply:
        return Reply(200, {"result": RATE_LIMIT_RESULT, "error_msg": "Exceed qps limit, KEY [apiId:open.order.cursor.list;"
                                                                      "appkey:kuaishou-app], MAX_QPS [300.0]"})

    def server_error_reply(self, status: int) -> Reply:
        return Reply(status, {"result": 2, "error_msg": "系统繁忙"})

    # ---------------------------------------------------------------- push
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall:
        return orderhub_push({"msg_id": msg_id, "event": "kwaishop_order_statusChange", "info": payload},
                             secret=secret, now=now)

    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float, max_age_s: float) -> Pushed:
        body, sent_at = read_orderhub_push(call, secret=secret, now=now, max_age_s=max_age_s)
        if not isinstance(body, dict) or not isinstance(body.get("info"), dict):
            raise SignatureError("push: expected {msg_id, event, info}")
        return Pushed(str(body.get("msg_id", "")), sent_at, body["info"])
