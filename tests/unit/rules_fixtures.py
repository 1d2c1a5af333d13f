"""Shared test data for the rules, catalog and routing unit tests: orders and a fake geocoder."""

from __future__ import annotations

from datetime import UTC, datetime

from app.address.model import Candidate, NormalizedAddress
from app.domain.identity import make_oli
from app.domain.model import Address, Amounts, Line, Order, OrderStatus, Receiver

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)

URUMQI = Address(province="新疆维吾尔自治区", city="乌鲁木齐市", district="天山区", detail="解放北路1号")
HANGZHOU = Address(province="浙江省", city="杭州市", district="西湖区", detail="文三路1号")
LHASA = Address(province="西藏自治区", city="拉萨市", district="城关区", detail="北京中路1号")
#: a district name that exists in several cities: the fake geocoder says "ambiguous"
AMBIGUOUS = Address(province="", city="", district="", detail="朝阳区建国路1号")

ADCODES = {"天山区": "650102", "西湖区": "330106", "城关区": "540102"}


class FakeGeocoder:
    """A fake (not a mock): resolves split fields it knows, reports 朝阳区 text as ambiguous."""

    def __init__(self) -> None:
        self.calls = 0

    def normalize(self, address: Address) -> NormalizedAddress:
        self.calls += 1
        if address.district in ADCODES and address.province:
            return NormalizedAddress(address.province, address.city, address.district, ADCODES[address.district],
                                     address.detail, 1.0, True)
        if "朝阳区" in address.detail:
            return NormalizedAddress(detail=address.detail, confidence=0.3, resolved=False, candidates=(
                Candidate("北京市", "北京市", "朝阳区", "110105"), Candidate("吉林省", "长春市", "朝阳区", "220104")))
        return NormalizedAddress(detail=address.detail, resolved=False)


def order(address: Address = HANGZHOU, *, lines: tuple[Line, ...] | None = None, total: int = 19800,
          channel: str = "taobao", tags: tuple[str, ...] = (), memo: str = "", external_id: str = "1001") -> Order:
    return Order(
        oli=make_oli(channel, "shop1", external_id), version=2, channel=channel, shop_id="shop1",
        external_id=external_id, status=OrderStatus.PAID, channel_status="WAIT_SELLER_SEND_GOODS",
        updated_at=T0, receiver=Receiver("张*", "138****5678", address),
        lines=lines if lines is not None else (Line("1", "5000001", "SKU-01-RED-M", quantity=2, unit_price=9900,
                                                     amount=19800),),
        amounts=Amounts(total=total, paid=total), created_at=T0, paid_at=T0, tags=tags, buyer_memo=memo)

NOW_FIXTURE = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
