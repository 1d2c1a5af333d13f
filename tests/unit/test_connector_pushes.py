"""A push claims its change before the broker has it: what a window and a checkpoint may assume."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from app.connectors.cursor import Cursor
from app.connectors.errors import PushNotDelivered
from app.connectors.puller import ShopConnector
from app.connectors.shops import ShopConfig
from app.platforms import api_for
from app.platforms.base import OrderRef

SHOP = ShopConfig("jd", "jd-shop-1", "http://127.0.0.1:1/jd", "jd-app", "secret", "jd-shop-1", rps=4.0,
                  app_rps=6.0, overlap_s=10.0)


class Outbox:
    """Envelopes the test delivers (or fails) by hand."""

    def __init__(self) -> None:
        self.sent: list[asyncio.Future[Any]] = []

    async def envelope(self, channel: str, shop_id: str, external_id: str, payload: dict[str, Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append(future)
        return future


class Store:
    def __init__(self) -> None:
        self.saved: list[Cursor] = []

    async def save(self, key: str, cursor: Cursor) -> None:
        self.saved.append(cursor)


def connector() -> tuple[ShopConnector, Outbox, Store]:
    outbox, store = Outbox(), Store()
    shop = ShopConnector(SHOP, api_for("jd"), None, outbox, store, Cursor(1000.0), settle_s=1.0,  # type: ignore[arg-type]
                         poll_s=1.0, stats=Counter())
    return shop, outbox, store


def ref(modified: float, status: str = "WAIT_SELLER_STOCK_OUT") -> OrderRef:
    return OrderRef("42", modified, status, {"orderId": "42"})


async def test_a_checkpoint_never_holds_the_claim_of_a_push_still_in_flight() -> None:
    shop, outbox, store = connector()
    await shop.offer(ref(1001.0), {}, None, "push")
    await shop.checkpoint()
    assert "42" not in store.saved[-1].seen  # after kill -9 the pull must list it again
    outbox.sent[0].set_result(None)
    await asyncio.sleep(0)
    await shop.checkpoint()
    assert store.saved[-1].seen["42"] == (1001.0, "WAIT_SELLER_STOCK_OUT")


async def test_a_push_that_fails_gives_its_claim_back_unless_a_newer_state_replaced_it() -> None:
    shop, outbox, _store = connector()
    await shop.offer(ref(1001.0), {}, None, "push")
    outbox.sent[0].set_exception(ConnectionError("broker gone"))
    await asyncio.sleep(0)
    assert shop.seen.is_new("42", 1001.0, "WAIT_SELLER_STOCK_OUT")  # the retry or the pull produces it

    await shop.offer(ref(1002.0), {}, None, "push")
    await shop.offer(ref(1003.0, "FINISHED_L"), {}, None, "push")
    outbox.sent[1].set_exception(ConnectionError("broker gone"))
    await asyncio.sleep(0)
    assert not shop.seen.is_new("42", 1003.0, "FINISHED_L")  # the newer claim stands


async def test_a_window_waits_for_the_pushes_in_flight_and_fails_if_one_was_lost() -> None:
    shop, outbox, _store = connector()
    await shop.offer(ref(1001.0), {}, None, "push")
    waiting = asyncio.create_task(shop._pushes_delivered())
    await asyncio.sleep(0)
    assert not waiting.done()
    outbox.sent[0].set_exception(ConnectionError("broker gone"))
    with pytest.raises(PushNotDelivered):
        await waiting
