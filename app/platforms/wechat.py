"""Pure: WeChat 微信小店 order API (POST /channels/ec/order/list/get → ids, /order/get → order).

The list names order ids only (``update_time_range`` in unix seconds, ``next_key``
paging), so every listed id costs a detail call. Pushes are signed WeChat-style:
``msg_signature = SHA1(sort(token, timestamp, nonce, body))`` in the query, with the
shop's secret as the token. Rate limit: errcode 45011 (API minute-quota reached).
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
from app.platforms.signing import same, wechat_msg_signature

RATE_LIMIT_ERRCODE = 45011


class WechatApi:
    name = "wechat"
    needs_detail = True
    paging = "cursor"
    max_span_s = 30 * 60
    resolution_s = 1.0
    max_page_size = 100

    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall:
        body: dict[str, Any] = {"update_time_range": {"start_time": int(window.start), "end_time": int(window.end)},
                                "page_size": page_size}
        if page_token:
            body["next_key"] = page_token
        return ApiCall("POST", "/channels/ec/order/list/get", query={"access_token": token}, body=body)

    def read_list(self, reply: Reply) -> ListPage:
        body = self._checked(reply)
        ids = body.get("order_id_list") or []
        return ListPage([OrderRef(str(i)) for i in ids], body.get("next_key") if body.get("has_more") else None)

    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall:
        return ApiCall("POST", "/channels/ec/order/get", query={"access_token": token},
                       body={"order_id": external_id})

    def read_detail(self, reply: Reply) -> dict[str, Any]:
        body = self._checked(reply)
        required(body, "order", "order/get response")
        return body

    def ref(self, payload: dict[str, Any]) -> OrderRef:
        order = payload["order"] if "order" in payload else payload
        return OrderRef(str(order["order_id"]), float(order["update_time"]), str(order["status"]), payload)

    def _checked(self, reply: Reply) -> dict[str, Any]:
        code = reply_object(reply).get("errcode", 0)
        return checked(reply, f"WeChat errcode {code} {reply.body.get('errmsg') or ''}".strip() if code != 0 else None,
                       rate_limited=code == RATE_LIMIT_ERRCODE)

    # ---------------------------------------------------------------- server
    def list_query(self, call: ApiCall) -> ListQuery:
        body = call.body if isinstance(call.body, dict) else {}
        try:
            r = body["update_time_range"]
            window = Window(float(r["start_time"]), float(r["end_time"]))
        except (KeyError, TypeError, ValueError):
            raise ApiError("update_time_range: expected {start_time, end_time}") from None
        if window.end - window.start > 7 * 86400:
            raise ApiError("update_time_range must not exceed 7 days")
        return ListQuery(call.query.get("access_token", ""), "", window, body.get("next_key") or None,
                         min(int(body.get("page_size", 10)), self.max_page_size))

    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply:
        return Reply(200, {"errcode": 0, "errmsg": "ok", "order_id_list": [o["order"]["order_id"] for o in orders],
                           "next_key": next_token or "", "has_more": next_token is not None})

    def detail_query(self, call: ApiCall) -> tuple[str, str]:
        body = call.body if isinstance(call.body, dict) else {}
        return call.query.get("access_token", ""), str(body.get("order_id", ""))

    def detail_reply(self, payload: dict[str, Any] | None) -> Reply:
        if payload is None:
            return Reply(200, {"errcode": 100002, "errmsg": "order not exist"})
        return Reply(200, payload)

    def rate_limited_reply(self) -> Reply:
        return Reply(200, {"errcode": RATE_LIMIT_ERRCODE,
                           "errmsg": "api minute-quota reach limit  mustslower  retry next minute"})

    def server_error_reply(self, status: int) -> Reply:
        return Reply(status, {"errcode": -1, "errmsg": "system error"})

    # ---------------------------------------------------------------- push
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall:
        order = payload["order"]
        raw = orjson.dumps({"ToUserName": app_key, "CreateTime": int(now), "MsgType": "event",
                            "Event": "channels_ec_order_ext_info_update", "msg_id": msg_id,
                            "order_info": {"order_id": order["order_id"], "status": order["status"]},
                            "order": payload})
        timestamp, nonce = str(int(now)), msg_id[-8:]
        return ApiCall("POST", "", query={"timestamp": timestamp, "nonce": nonce,
                                          "msg_signature": wechat_msg_signature(secret, timestamp, nonce, raw)},
                       headers={"Content-Type": "application/json"}, raw=raw)

    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float, max_age_s: float) -> Pushed:
        q = call.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if not timestamp.isdigit():
            raise SignatureError("timestamp: missing")
        if not same(wechat_msg_signature(secret, timestamp, nonce, call.raw or b""), q.get("msg_signature")):
            raise SignatureError("msg_signature does not match the message (tampered, or another token)")
        check_age(float(timestamp), now, max_age_s)
        body = json_object(call.raw, "push")
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise SignatureError("push: expected an order event with the order")
        return Pushed(str(body.get("msg_id", "")), float(timestamp), body["order"])
