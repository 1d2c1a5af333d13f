"""Pure: JD 京东 POP order API (jingdong.pop.order.enSearch by modified time; complete orders).

``dateType=0`` filters on the order's modified (state / waybill change) time; times are
"yyyy-MM-dd HH:mm:ss" Asia/Shanghai; pages from 1. Pushes use orderhub's HMAC scheme (JD
pushes through JMQ, not a signed HTTP call). Rate limit: JOS gateway code 2 "App Call Limited".
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
    epoch_from_shanghai,
    orderhub_push,
    read_orderhub_push,
    reply_object,
    required,
    shanghai_text,
)

METHOD = "jingdong.pop.order.enSearch"
_RESPONSE = "jingdong_pop_order_enSearch_responce"  # sic: JD's spelling
ALL_STATES = ("WAIT_SELLER_STOCK_OUT,WAIT_SELLER_DELIVERY,WAIT_SEND_CODE,SEND_TO_DISTRIBUTION_CENER,"
              "DISTRIBUTION_CENTER_RECEIVED,WAIT_GOODS_RECEIVE_CONFIRM,RECEIPTS_CONFIRM,FINISHED_L,"
              "TRADE_CANCELED,LOCKED,PAUSE,POP_ORDER_PAUSE")
#: JOS gateway code 2 "App Call Limited" (限制时间内调用失败次数), from a third-party copy of
#: the JOS gateway error table (the official page was not read: PARTLY CONFIRMED)
RATE_LIMIT_CODE = "2"


class JdApi:
    name = "jd"
    needs_detail = False
    paging = "pages"
    max_span_s = 30 * 60
    resolution_s = 1.0
    max_page_size = 100
    first_page = 1

    def list_call(self, *, app_key: str, token: str, window: Window, page_token: str | None,
                  page_size: int) -> ApiCall:
        param = {"start_date": shanghai_text(window.start), "end_date": shanghai_text(window.end),
                 "order_state": ALL_STATES, "optional_fields": "*", "page": page_token or "1",
                 "page_size": str(page_size), "dateType": "0", "sortType": "0"}
        return ApiCall("GET", "/routerjson", query={
            "method": METHOD, "app_key": app_key, "access_token": token, "v": "2.0",
            "360buy_param_json": orjson.dumps(param).decode()})

    def read_list(self, reply: Reply) -> ListPage:
        body = self._checked(reply)
        result = required(required(body, _RESPONSE, "enSearch response"), "searchorderinfo_result", _RESPONSE)
        orders = result.get("orderInfoList") or []
        total = int(result.get("orderTotal") or 0)
        page, size = int(result.get("page", 1)), int(result.get("page_size", len(orders) or 1))
        return ListPage([self.ref(o) for o in orders], str(page + 1) if page * size < total else None, total)

    def detail_call(self, *, app_key: str, token: str, external_id: str) -> ApiCall:
        raise ApiError("jd: the enSearch list is complete, no detail call")

    def read_detail(self, reply: Reply) -> dict[str, Any]:
        raise ApiError("jd: the enSearch list is complete, no detail call")

    def ref(self, payload: dict[str, Any]) -> OrderRef:
        return OrderRef(str(payload["orderId"]), epoch_from_shanghai(payload["modified"]),
                        str(payload["orderState"]), payload)

    def _checked(self, reply: Reply) -> dict[str, Any]:
        error = reply_object(reply).get("error_response")
        if not error:
            return checked(reply, None)
        return checked(reply, f"JD error {error.get('code')} {error.get('zh_desc') or error.get('en_desc') or ''}".strip(),
                       rate_limited=str(error.get("code")) == RATE_LIMIT_CODE)

    # ---------------------------------------------------------------- server
    def list_query(self, call: ApiCall) -> ListQuery:
        try:
            param = orjson.loads(call.query.get("360buy_param_json", ""))
            window = Window(epoch_from_shanghai(param["start_date"]), epoch_from_shanghai(param["end_date"]))
            if param.get("dateType", "0") == "1":
                raise ApiError("dateType=1 filters by creation time, not modified time")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ApiError("360buy_param_json: expected start_date/end_date") from None
        return ListQuery(call.query.get("access_token", ""), call.query.get("app_key", ""), window,
                         str(param.get("page", "1")), min(int(param.get("page_size", 20)), self.max_page_size))

    def list_reply(self, orders: list[dict[str, Any]], *, query: ListQuery, next_token: str | None,
                   total: int) -> Reply:
        return Reply(200, {_RESPONSE: {"code": "0", "searchorderinfo_result": {
            "apiResult": {"success": True, "resultCode": "", "chineseErrCode": "成功", "englishErrCode": "success",
                          "numberCode": 10100000},
            "orderTotal": total, "page": int(query.page_token or 1), "page_size": query.page_size,
            "orderInfoList": orders}}})

    def detail_query(self, call: ApiCall) -> tuple[str, str]:
        raise ApiError("no detail call")

    def detail_reply(self, payload: dict[str, Any] | None) -> Reply:
        return self.server_error_reply(404)

    def rate_limited_reply(self) -> Reply:
        return Reply(200, {"error_response": {"code": RATE_LIMIT_CODE, "zh_desc": "调用频率超限",
                                              "en_desc": "call frequency limited"}})

    def server_error_reply(self, status: int) -> Reply:
        return Reply(status, {"error_response": {"code": "66", "zh_desc": "平台连接后端服务不可用",
                                                 "en_desc": "service unavailable"}})

    # ---------------------------------------------------------------- push
    def push_call(self, payload: dict[str, Any], *, app_key: str, secret: str, msg_id: str,
                  now: float) -> ApiCall:
        return orderhub_push({"msg_id": msg_id, "topic": "jd_order_changed", "order": payload},
                             secret=secret, now=now)

    def read_push(self, call: ApiCall, *, app_key: str, secret: str, now: float, max_age_s: float) -> Pushed:
        body, sent_at = read_orderhub_push(call, secret=secret, now=now, max_age_s=max_age_s)
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise SignatureError("push: expected {msg_id, topic, order}")
        return Pushed(str(body.get("msg_id", "")), sent_at, body["order"])
