"""Unit: offset gaps (transaction markers, aborted records) in Faust's own fetch loop and commit
bookkeeping, with `fix_gap_accounting` installed. No broker: the consumer's fetch is a fake
that yields the offsets a read_committed fetch returns."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.types import TP

from app.faust_tuning import ReadOffset, ReadOffsets, fix_gap_accounting

TOPIC_PARTITION = TP("orderhub.order-inputs", 0)


class Message:
    def __init__(self, offset: int) -> None:
        self.tp = TOPIC_PARTITION
        self.topic, self.partition, self.offset = self.tp.topic, self.tp.partition, offset
        self.key, self.value = b"k", b"v"


async def _drain(batches: list[list[int]], *, committed: int | None = None) -> Any:
    """Run Faust's `Consumer._drain_messages` over `batches` of offsets; return the consumer."""
    fix_gap_accounting()
    app = faust.App("orderhub-gap-test", broker="kafka://127.0.0.1:1")  # never connects
    consumer = app.consumer
    consumer._committed_offset[TOPIC_PARTITION] = committed
    delivered: list[int] = []
    fetcher = faust.Service()

    async def callback(message: Message) -> None:
        delivered.append(message.offset)

    async def getmany(timeout: float) -> Any:  # noqa: ASYNC109 — Faust's signature
        if batches:
            for offset in batches.pop(0):
                yield TOPIC_PARTITION, Message(offset)
        else:
            fetcher._stopped.set()

    consumer.callback = callback
    consumer.getmany = getmany
    app.topics.acks_enabled_for = lambda topic: True
    await asyncio.wait_for(consumer._drain_messages(fetcher), 10)
    consumer.delivered = delivered
    return consumer


async def test_a_gap_right_after_offset_0_is_recorded_and_committed_past() -> None:
    # offset 0 committed, 1-4 an aborted transaction and its marker, then 5 and 6
    consumer = await _drain([[0], [5, 6]])
    assert consumer.delivered == [0, 5, 6]
    assert [(i.begin, i.end) for i in consumer._gap[TOPIC_PARTITION]] == [(1, 5)]
    consumer._committed_offset[TOPIC_PARTITION] = 1
    consumer._acked[TOPIC_PARTITION] = [5, 6]
    assert consumer._new_offset(TOPIC_PARTITION) == 7  # without the fix: None, for good


async def test_the_record_after_a_gap_is_not_counted_as_acked_before_it_is_processed() -> None:
    consumer = await _drain([[3], [9]], committed=3)
    assert [(i.begin, i.end) for i in consumer._gap[TOPIC_PARTITION]] == [(4, 9)]
    consumer._acked[TOPIC_PARTITION] = [3, 9]
    assert consumer._new_offset(TOPIC_PARTITION) == 10


async def test_consecutive_offsets_record_no_gap() -> None:
    consumer = await _drain([[0, 1, 2], [3]])
    assert consumer.delivered == [0, 1, 2, 3]
    assert not consumer._gap[TOPIC_PARTITION]


@pytest.mark.parametrize("offset", [0, 7])
def test_read_offsets_keep_the_value_and_make_offset_0_true(offset: int) -> None:
    offsets = ReadOffsets()
    offsets[TOPIC_PARTITION] = offset
    assert offsets[TOPIC_PARTITION] == offset and offsets[TOPIC_PARTITION]
    assert offsets[TOPIC_PARTITION] + 1 == offset + 1
    assert offsets[TP("other", 1)] is None  # Faust's default for a partition never read
    offsets.update({TOPIC_PARTITION: None})
    assert offsets[TOPIC_PARTITION] is None
    assert isinstance(ReadOffset(0) + 1, int)
