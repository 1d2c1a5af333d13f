"""Platform API descriptions (both ends agree), push signatures, and the simulated world."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

import app.channels as channels_module
from app.platforms import CHANNELS, api_for
from app.platforms.base import ApiCall, ApiError, ListQuery, RateLimitedError, Reply, SignatureError, Window
from app.simulator.render import modified_time, render
from app.simulator.world import WorldSpec, generate_world

START = 1_764_000_000.0
WORLD = generate_world(WorldSpec(channels=CHANNELS, orders=160, skew_s={"douyin": 2.0, "jd": -3.0}))


def _registry():  # type: ignore[no-untyped-def]
    """The registry the workers use: every built-in channel once the mapping files are in."""
    build = getattr(channels_module, "builtin_registry", None) or channels_module.default_registry
    return build()


def _orders(channel: str):  # type: ignore[no-untyped-def]
    return [o for o in WORLD.orders if o.channel == channel]


def test_the_world_is_the_same_for_the_same_seed_and_changes_move_forward() -> None:
    again = generate_world(dataclasses.replace(WORLD.spec))
    assert again == WORLD
    other = generate_world(dataclasses.replace(WORLD.spec, seed=8))
    assert other != WORLD
    for order in WORLD.orders:
        times = [modified_time(WORLD, order, i, START) for i in range(len(order.changes))]
        assert times == sorted(times) and len(set(times)) == len(times)
        visible = [c.visible_at for c in order.changes]
        assert visible == sorted(visible) and all(c.visible_at >= c.at for c in order.changes)
    assert {o.changes[0].state for o in WORLD.orders if o.channel in ("jd", "pdd")} == {"PAID"}


@pytest.mark.parametrize("channel", CHANNELS)
def test_rendered_orders_are_read_back_by_the_platform_description(channel: str) -> None:
    api = api_for(channel)
    for order in _orders(channel):
        for i in range(len(order.changes)):
            ref = api.ref(render(WORLD, order, i, START))
            assert ref.external_id == order.external_id
            assert ref.modified == pytest.approx(modified_time(WORLD, order, i, START))


@pytest.mark.parametrize("channel", CHANNELS)
def test_rendered_orders_adapt_where_the_registry_knows_the_channel(channel: str) -> None:
    registry = _registry()
    if channel not in registry:
        assert channel not in ("taobao", "tmall")  # the TOP adapters are always there
        return
    expected = {"UNPAID": "PENDING_PAYMENT", "PAID": "PAID", "SHIPPED": "SHIPPED", "COMPLETED": "COMPLETED",
                "CANCELLED": "CANCELLED", "CLOSED": "CLOSED"}
    for order in _orders(channel):
        for i, change in enumerate(order.changes):
            adapted = registry.get(channel).adapt(render(WORLD, order, i, START), shop_id=order.shop_id)
            assert adapted.external_id == order.external_id
            assert str(adapted.status.value if hasattr(adapted.status, "value") else adapted.status) \
                == expected[change.state]


@pytest.mark.parametrize("channel", CHANNELS)
def test_list_requests_and_pages_survive_the_trip_through_both_ends(channel: str) -> None:
    api = api_for(channel)
    window = Window(START, START + 600)
    call = api.list_call(app_key="app", token="shop-1", window=window, page_token=None, page_size=20)
    query = api.list_query(call)
    assert query.token == "shop-1" and query.page_size == 20
    assert query.window.start == pytest.approx(window.start) and query.window.end == pytest.approx(window.end)
    orders = [render(WORLD, o, 0, START) for o in _orders(channel)[:3]]
    reply = api.list_reply(orders, query=dataclasses.replace(query, page_token=None), next_token="2", total=45)
    page = api.read_list(reply)
    assert [r.external_id for r in page.refs] == [o.external_id for o in _orders(channel)[:3]]
    assert page.next_token is not None
    if not api.needs_detail:
        assert all(r.payload is not None and r.modified is not None for r in page.refs)
    last = api.read_list(api.list_reply(orders, query=query, next_token=None, total=3))
    assert last.next_token is None


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_platforms_rate_limit_and_5xx_answers_are_told_apart(channel: str) -> None:
    api = api_for(channel)
    with pytest.raises(RateLimitedError):
        api.read_list(api.rate_limited_reply())
    with pytest.raises(ApiError) as excinfo:
        api.read_list(api.server_error_reply(503))
    assert not isinstance(excinfo.value, RateLimitedError) and excinfo.value.retriable


@pytest.mark.parametrize(("channel", "body", "limited"), [
    ("taobao", {"error_response": {"code": 8, "msg": "App Call Exceeds Limited Frequency"}}, True),
    ("tmall", {"error_response": {"code": 7, "msg": "App Call Limited"}}, True),
    ("taobao", {"error_response": {"code": 27, "msg": "Invalid session"}}, False),
    ("jd", {"error_response": {"code": "2", "zh_desc": "限制时间内调用失败次数", "en_desc": "App Call Limited"}}, True),
    ("jd", {"error_response": {"code": "19", "zh_desc": "无效的access_token"}}, False),  # not a rate limit
    ("kuaishou", {"result": 805, "error_msg": "Exceed qps limit, KEY [apiId:open.order.cursor.list;appkey:ks1], "
                                            "MAX_QPS [300.0]"}, True),
    ("kuaishou", {"result": 805, "error_msg": "Exceed quota limit, KEY [appkey:ks1]"}, False),  # daily quota
])
def test_the_documented_rate_limit_answers_are_recognised(channel: str, body: dict, limited: bool) -> None:
    with pytest.raises(ApiError) as excinfo:
        api_for(channel).read_list(Reply(200, body))
    assert isinstance(excinfo.value, RateLimitedError) is limited


@pytest.mark.parametrize("channel", [c for c in CHANNELS if api_for(c).needs_detail])
def test_detail_calls_round_trip(channel: str) -> None:
    api = api_for(channel)
    order = _orders(channel)[0]
    call = api.detail_call(app_key="app", token="shop-1", external_id=order.external_id)
    assert api.detail_query(call) == ("shop-1", order.external_id)
    payload = render(WORLD, order, 0, START)
    assert api.read_detail(api.detail_reply(payload)) == payload
    with pytest.raises(ApiError):
        api.read_detail(api.detail_reply(None))


# ------------------------------------------------------------------ push signatures

NOW = START + 100


def _push(channel: str) -> tuple[ApiCall, dict]:  # type: ignore[type-arg]
    payload = render(WORLD, _orders(channel)[0], 0, START)
    return api_for(channel).push_call(payload, app_key="app", secret="s3cret", msg_id="m-1", now=NOW), payload


def _tamper(call: ApiCall) -> ApiCall:
    assert call.raw is not None
    return dataclasses.replace(call, raw=call.raw.replace(b"1", b"2", 1))


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_valid_push_is_accepted(channel: str) -> None:
    call, payload = _push(channel)
    pushed = api_for(channel).read_push(call, app_key="app", secret="s3cret", now=NOW + 5, max_age_s=300)
    assert pushed.payload == payload and pushed.msg_id == "m-1"


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_tampered_body_or_another_secret_is_refused(channel: str) -> None:
    call, _ = _push(channel)
    api = api_for(channel)
    with pytest.raises(SignatureError):
        api.read_push(_tamper(call), app_key="app", secret="s3cret", now=NOW, max_age_s=300)
    with pytest.raises(SignatureError):
        api.read_push(call, app_key="app", secret="another", now=NOW, max_age_s=300)


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_old_push_is_refused_as_a_replay(channel: str) -> None:
    call, _ = _push(channel)
    with pytest.raises(SignatureError, match="replay"):
        api_for(channel).read_push(call, app_key="app", secret="s3cret", now=NOW + 3600, max_age_s=300)


def test_a_forged_timestamp_breaks_the_signature() -> None:
    """Where the timestamp is signed, moving it forward to pass the age check breaks the signature."""
    for channel in ("taobao", "kuaishou", "jd", "pdd", "wechat"):
        call, _ = _push(channel)
        query = dict(call.query)
        headers = dict(call.headers)
        if "timestamp" in query:
            query["timestamp"] = str(int(NOW + 3600)) if query["timestamp"].isdigit() else "2099-01-01 00:00:00"
        else:
            headers["X-Orderhub-Timestamp"] = str(int(NOW + 3600))
        forged = dataclasses.replace(call, query=query, headers=headers)
        with pytest.raises(SignatureError):
            api_for(channel).read_push(forged, app_key="app", secret="s3cret", now=NOW + 3600, max_age_s=300)


def test_list_query_errors_name_the_parameter() -> None:
    with pytest.raises(ApiError, match="30 minutes"):
        api_for("pdd").list_query(api_for("pdd").list_call(app_key="a", token="t", window=Window(0, 3600),
                                                           page_token=None, page_size=10))
    bad = ApiCall("GET", "/order/searchList", query={"param_json": orjson.dumps({"page": 0}).decode()})
    with pytest.raises(ApiError, match="update_time_start"):
        api_for("douyin").list_query(bad)
    assert isinstance(api_for("kuaishou").list_query(api_for("kuaishou").list_call(
        app_key="a", token="t", window=Window(1, 2), page_token="x", page_size=500)), ListQuery)
