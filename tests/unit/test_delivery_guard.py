"""DeliveryGuard: a failed output delivery is remembered, so no offset is committed past it."""

from __future__ import annotations

import asyncio

from app.faust_tuning import DeliveryGuard


async def test_a_failed_delivery_is_remembered_and_successes_are_not() -> None:
    guard = DeliveryGuard()
    loop = asyncio.get_running_loop()
    ok, failed, later = loop.create_future(), loop.create_future(), loop.create_future()
    for delivery in (ok, failed, later):
        guard.watch(delivery)
    ok.set_result("metadata")
    await asyncio.sleep(0)
    assert guard.error is None
    failed.set_exception(TimeoutError("broker gone"))
    later.set_exception(ValueError("second"))
    await asyncio.sleep(0)
    assert isinstance(guard.error, TimeoutError)  # the first failure is kept


async def test_the_failure_is_seen_before_a_flush_waiting_on_the_batch_returns() -> None:
    guard = DeliveryGuard()
    loop = asyncio.get_running_loop()
    batch, message = loop.create_future(), loop.create_future()
    guard.watch(message)

    async def flush() -> BaseException | None:
        await asyncio.wait([batch])
        return guard.error

    flushing = asyncio.ensure_future(flush())
    await asyncio.sleep(0)
    # aiokafka resolves the batch future, then its message futures, in one step
    batch.set_exception(TimeoutError("request timed out"))
    message.set_exception(TimeoutError("request timed out"))
    assert isinstance(await flushing, TimeoutError)
