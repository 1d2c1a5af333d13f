"""Pure: generated, realistic order traffic for the demo and the tests.

An order's story is a list of `Send`s (topic kind, key, value) with a relative time: the
platform creates the order unpaid, the buyer pays (the payment may reach us before, after,
or twice), the platform then reports it paid; some orders are cancelled before payment,
some stay unpaid; a share of deliveries is duplicated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from app.domain.identity import make_oli, source_key

SHANGHAI = timezone(timedelta(hours=8))

PROVINCES = [
    ("浙江省", "杭州市", "西湖区", "三墩镇"), ("广东省", "深圳市", "南山区", "粤海街道"),
    ("上海市", "上海市", "浦东新区", "张江镇"), ("北京市", "北京市", "朝阳区", "望京街道"),
    ("江苏省", "南京市", "鼓楼区", "宁海路街道"), ("四川省", "成都市", "武侯区", "簇桥街道"),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "燕儿窝街道"), ("广东省", "东莞市", "", "松山湖"),
    ("河南省", "", "济源市", "沁园街道"), ("湖北省", "武汉市", "洪山区", "关山街道"),
]
PRODUCTS = [("T恤", 9900, 250), ("牛仔裤", 19900, 650), ("运动鞋", 39900, 1100), ("保温杯", 5900, 400),
            ("蓝牙耳机", 12900, 120), ("羽绒服", 59900, 1300), ("茶叶礼盒", 25800, 900)]
SURNAMES = "张王李赵刘陈杨黄周吴"


@dataclass(frozen=True, slots=True)
class Send:
    at: float  # seconds after the order's start
    kind: str  # "channel_order" | "payment"
    key: bytes
    value: bytes


@dataclass(slots=True)
class OrderStory:
    oli: str
    fate: str  # "paid" | "cancelled" | "unpaid"
    sends: list[Send] = field(default_factory=list)
    duplicates: int = 0


def _fmt(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _trade(rng: random.Random, tid: str, status: str, created: datetime, modified: datetime,
           pay_time: datetime | None, lines: list[tuple[str, int, int, int]], place: tuple[str, ...]) -> dict[str, Any]:
    total = sum(price * qty for _, price, qty, _ in lines)
    province, city, district, town = place
    trade: dict[str, Any] = {
        "tid": tid, "tid_str": tid, "status": status, "type": "fixed",
        "buyer_nick": f"{rng.choice('abcdefgh')}**{rng.randint(1, 9)}",
        "created": _fmt(created), "modified": _fmt(modified),
        "payment": f"{total / 100:.2f}", "total_fee": f"{total / 100:.2f}", "post_fee": "0.00",
        "discount_fee": "0.00",
        "receiver_name": f"{rng.choice(SURNAMES)}*", "receiver_mobile": f"138****{rng.randint(1000, 9999)}",
        "receiver_state": province, "receiver_city": city, "receiver_district": district,
        "receiver_town": town, "receiver_address": f"{town}{rng.randint(1, 999)}号", "receiver_zip": "000000",
        "seller_memo": "", "buyer_message": rng.choice(["", "", "周末送", "请尽快发货"]),
        "orders": {"order": [
            {"oid": f"{tid}{i}", "num_iid": 680000000 + i, "sku_id": str(5000000 + i), "outer_iid": f"SPU-{i:02d}",
             "outer_sku_id": f"SKU-{title}-{i}", "title": title, "num": qty, "price": f"{price / 100:.2f}",
             "total_fee": f"{price * qty / 100:.2f}", "payment": f"{price * qty / 100:.2f}",
             "divide_order_fee": f"{price * qty / 100:.2f}", "status": status, "refund_status": "NO_REFUND"}
            for i, (title, price, qty, _w) in enumerate(lines)]},
    }
    if pay_time is not None:
        trade["pay_time"] = _fmt(pay_time)
    return trade


def generate(n: int, *, seed: int = 7, start: datetime | None = None, shops: int = 3,
             duplicate_share: float = 0.10) -> list[OrderStory]:
    """`n` order stories: ~85% paid, ~5% cancelled before payment, ~10% left unpaid."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
    stories = []
    for i in range(n):
        channel = "tmall" if i % 4 == 3 else "taobao"
        shop_id = f"{channel}-shop-{i % shops + 1}"
        tid = str(3300000000000000000 + seed * 10_000_000 + i)
        oli = make_oli(channel, shop_id, tid)
        key = source_key(channel, shop_id, tid).encode()
        created = start + timedelta(seconds=i)
        place = rng.choice(PROVINCES)
        lines = [(t, p, rng.randint(1, 3), w) for t, p, w in rng.sample(PRODUCTS, rng.randint(1, 3))]
        roll = rng.random()
        fate = "paid" if roll < 0.85 else "cancelled" if roll < 0.90 else "unpaid"
        story = OrderStory(oli=oli, fate=fate)

        def envelope(status: str, modified: datetime, pay_time: datetime | None, *, tid: str = tid,
                     created: datetime = created, lines: list[Any] = lines, place: tuple[str, ...] = place,
                     channel: str = channel, shop_id: str = shop_id) -> bytes:
            trade = _trade(rng, tid, status, created, modified, pay_time, lines, place)
            return orjson.dumps({"channel": channel, "shop_id": shop_id, "received_at": modified.isoformat(),
                                 "payload": {"trade_fullinfo_get_response": {"trade": trade}}})

        create = Send(0.0, "channel_order", key, envelope("WAIT_BUYER_PAY", created, None))
        if fate == "paid":
            paid_at = created + timedelta(seconds=rng.randint(5, 120))
            total = sum(p * q for _, p, q, _ in lines)
            payment = Send(0.0, "payment", oli.encode(), orjson.dumps({
                "payment_id": f"pay-{tid}", "channel": channel, "shop_id": shop_id, "external_id": tid,
                "amount": total, "currency": "CNY", "paid_at": paid_at.isoformat(),
                "provider": rng.choice(["alipay", "wechat"])}))
            paid_update = envelope("WAIT_SELLER_SEND_GOODS", paid_at + timedelta(seconds=1), paid_at)
            timing = rng.random()
            if timing < 0.2:  # the payment reaches us before the order itself
                story.sends += [replace_at(payment, 0.0), replace_at(create, 0.05)]
            else:
                story.sends += [create, replace_at(payment, 0.05)]
            if timing > 0.9:  # delivered twice
                story.sends.append(replace_at(payment, 0.1))
                story.duplicates += 1
            story.sends.append(Send(0.3, "channel_order", key, paid_update))
        elif fate == "cancelled":
            story.sends += [create, Send(0.2, "channel_order", key,
                                         envelope("TRADE_CLOSED_BY_TAOBAO", created + timedelta(minutes=30), None))]
        else:
            story.sends.append(create)
        if rng.random() < duplicate_share:
            dup = rng.choice([s for s in story.sends if s.kind == "channel_order"])
            story.sends.append(replace_at(dup, dup.at + 0.4))
            story.duplicates += 1
        stories.append(story)
    return stories


def replace_at(send: Send, at: float) -> Send:
    return Send(at, send.kind, send.key, send.value)


def poison_messages() -> list[tuple[str, bytes, bytes]]:
    """(kind, key, value) messages that must end on a DLQ, each for a different reason."""
    rng = random.Random(1)
    when = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    good_trade = _trade(rng, "1", "NO_SUCH_STATUS", when, when, None, [("T恤", 9900, 1, 250)],
                        PROVINCES[0])
    return [
        ("channel_order", b"garbage", bytes(random.Random(1).getrandbits(8) for _ in range(1_000_000))),
        ("channel_order", b"bad-utf8", b'{"channel": "taobao", "shop_id": "\xff\xfe"}'),
        ("channel_order", b"wrong-shape", orjson.dumps(
            {"channel": "taobao", "shop_id": "s", "received_at": "2026-11-11T00:00:00+00:00", "payload": "n/a"})),
        ("channel_order", b"unknown-channel", orjson.dumps(
            {"channel": "myspace", "shop_id": "s", "received_at": "2026-11-11T00:00:00+00:00", "payload": {}})),
        ("channel_order", b"unknown-status", orjson.dumps(
            {"channel": "taobao", "shop_id": "s", "received_at": "2026-11-11T00:00:00+00:00",
             "payload": {"trade_fullinfo_get_response": {"trade": good_trade}}})),
    ]
