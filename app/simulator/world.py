"""Pure: the simulated platforms' orders and every change made to them, from a seed.

A `World` is generated once from a `WorldSpec`: per channel and shop, orders that are
created, paid, shipped, completed, cancelled or closed over the run. Each change has the
moment it happens (seconds after the run's start), the platform's modified time (the
channel's clock skew added) and the moment it becomes visible to the list API (a late
write: the platform indexes it a little after stamping it). Changes of one order are at
least 1.5 s apart, so second-resolution modified times always move forward. The same
spec and seed give the same world, change for change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from app.domain.identity import make_oli, source_key

__all__ = ["Change", "SimOrder", "World", "WorldSpec", "generate_world"]

STATES = ("UNPAID", "PAID", "SHIPPED", "COMPLETED", "CANCELLED", "CLOSED")
#: channels whose list APIs show no unpaid orders (JD POP, Pinduoduo): their orders start paid
STARTS_PAID = frozenset({"jd", "pdd"})
MIN_GAP_S = 1.5


@dataclass(frozen=True, slots=True)
class WorldSpec:
    channels: tuple[str, ...]
    orders: int = 600  # over all channels
    shops_per_channel: int = 2
    duration_s: float = 30.0  # orders are created during this time; changes stop at 1.5 x
    seed: int = 7
    #: platform clock minus real clock, per channel (seconds); missing channels: 0
    skew_s: dict[str, float] = field(default_factory=dict)
    late_write_max_s: float = 2.0
    push_drop_share: float = 0.0  # share of changes whose push is lost

    def shops(self, channel: str) -> list[str]:
        return [f"{channel}-shop-{i + 1}" for i in range(self.shops_per_channel)]


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    state: str
    at: float  # seconds after the run's start, real clock
    visible_at: float  # when the list API starts showing it (>= at)
    pushed: bool  # False: the platform's push for this change is lost


@dataclass(frozen=True, slots=True)
class SimOrder:
    channel: str
    shop_id: str
    external_id: str
    number: int  # running number within the world, drives the payload's details
    changes: tuple[Change, ...]

    @property
    def key(self) -> str:
        return source_key(self.channel, self.shop_id, self.external_id)

    @property
    def oli(self) -> str:
        return make_oli(self.channel, self.shop_id, self.external_id)

    def visible_index(self, t: float) -> int | None:
        """Index of the change the list API shows at run time `t` (None: not visible yet)."""
        shown = None
        for i, change in enumerate(self.changes):
            if change.visible_at <= t:
                shown = i
            else:
                break
        return shown

    def change_index(self, state: str, upto: int) -> int | None:
        for i in range(upto + 1):
            if self.changes[i].state == state:
                return i
        return None


@dataclass(frozen=True, slots=True)
class World:
    spec: WorldSpec
    orders: tuple[SimOrder, ...]

    def skew(self, channel: str) -> float:
        return self.spec.skew_s.get(channel, 0.0)

    def by_shop(self) -> dict[tuple[str, str], list[SimOrder]]:
        shops: dict[tuple[str, str], list[SimOrder]] = {}
        for order in self.orders:
            shops.setdefault((order.channel, order.shop_id), []).append(order)
        return shops

    def changes(self) -> int:
        return sum(len(o.changes) for o in self.orders)


def _external_id(channel: str, number: int, seed: int) -> str:
    n = seed * 1_000_000 + number
    return {
        "taobao": f"33{n:017d}", "tmall": f"34{n:017d}", "douyin": f"69{n:017d}", "kuaishou": f"22{n:014d}",
        "jd": f"24{n:010d}", "pdd": f"{240601 + number % 30:06d}-{n:015d}", "wechat": f"37{n:017d}",
        "shopify": f"55{n:011d}",
    }.get(channel, f"{n}")


def _lifecycle(rng: random.Random, channel: str) -> list[str]:
    states = ["PAID"] if channel in STARTS_PAID else ["UNPAID"]
    roll = rng.random()
    if states[0] == "UNPAID":
        if roll < 0.12:
            return states + ["CANCELLED"]
        if roll < 0.20:
            return states
        states.append("PAID")
    roll = rng.random()
    if roll < 0.05:
        return states + ["CLOSED"]
    if roll < 0.85:
        states.append("SHIPPED")
        if rng.random() < 0.7:
            states.append("COMPLETED")
    return states


def generate_world(spec: WorldSpec) -> World:
    rng = random.Random(spec.seed)
    orders = []
    horizon = spec.duration_s * 1.5
    for number in range(spec.orders):
        channel = spec.channels[number % len(spec.channels)]
        shops = spec.shops(channel)
        shop_id = shops[(number // len(spec.channels)) % len(shops)]
        at = rng.uniform(0.0, spec.duration_s)
        visible = 0.0
        changes = []
        for seq, state in enumerate(_lifecycle(rng, channel)):
            if seq:
                at += rng.uniform(MIN_GAP_S, max(MIN_GAP_S * 2, spec.duration_s / 3))
            if at > horizon:
                break
            visible = max(visible, at + rng.uniform(0.0, spec.late_write_max_s))
            changes.append(Change(seq, state, round(at, 3), round(visible, 3),
                                  pushed=rng.random() >= spec.push_drop_share))
        orders.append(SimOrder(channel, shop_id, _external_id(channel, number, spec.seed), number, tuple(changes)))
    return World(spec, tuple(orders))
