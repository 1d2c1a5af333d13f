"""Log end offsets as the records say, not only as ListOffsets says.

The embedded broker (Tansu) answers ListOffsets "latest" with the *last batch's base
offset + 1*, not with the offset after its last record: five records produced in one
batch at offsets 0..4 report an end of 1. Lag and DLQ counts computed from that answer
come out short by the last batch's size minus one, and a consumer that has read
everything looks ahead of the end. Apache Kafka answers correctly.

`log_end_offsets` asks ListOffsets, then fetches from `reported - 1` on each partition
whose answer moved since the last call: the batch that comes back ends at the true end.
One fetch round for the partitions that changed; none for idle ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from app.logs import get_logger

log = get_logger("orderhub.kafka")

#: how long the fetch of the last batches may take before the reported ends are kept
FETCH_S = 5.0
#: how long a helper consumer's `stop()` may take at shutdown
STOP_S = 10.0


class LogEnds:
    """Remembers (reported, true) per partition so unchanged partitions are not fetched again.

    Uses `consumer` for fetching and leaves it assigned and paused (`park`): give it a consumer of its own."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self._known: dict[TopicPartition, tuple[int, int]] = {}

    async def __call__(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        reported: dict[TopicPartition, int] = await self.consumer.end_offsets(list(tps))
        todo = {tp: end for tp, end in reported.items() if end > 0 and self._known.get(tp, (-1,))[0] != end}
        if todo:
            found = await _last_offsets(self.consumer, todo)
            for tp, end in todo.items():
                self._known[tp] = (end, max(end, found.get(tp, end)))
        return {tp: self._known[tp][1] if tp in self._known and self._known[tp][0] == end else end
                for tp, end in reported.items()}


async def log_end_offsets(consumer: AIOKafkaConsumer, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """One-shot `LogEnds` (the consumer is left parked, see `park`)."""
    return await LogEnds(consumer)(tps)


async def _last_offsets(consumer: AIOKafkaConsumer, reported: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Offset after the last record of the batch at `reported - 1`, per partition that answered in time."""
    consumer.assign(list(reported))
    found: dict[TopicPartition, int] = {}
    try:
        for tp, end in reported.items():
            consumer.seek(tp, end - 1)
        def first_batch(tp: TopicPartition, records: list[ConsumerRecord]) -> bool:
            found[tp] = records[-1].offset + 1
            return True

        await asyncio.wait_for(_fetch(consumer, reported, first_batch), FETCH_S)
    except TimeoutError:
        pass  # the partitions that did not answer keep their reported end
    finally:
        park(consumer)
    return found


async def after_last_records(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int],
                             ) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last record below `ends` that `consumer` is given
    (with read_committed: the last committed record), 0 when there is none.

    Under exactly_once a changelog's end is a transaction marker, not a record. Faust's
    recovery then never reads "up to the end" and gives up waiting only after two idle
    5-second rounds (faust/tables/recovery.py, `_slurp_changelogs`): ten seconds on every
    start and every takeover. Looks back from each end in widening windows (a trailing
    commit marker is one offset; aborted batches can be more); the partitions that do not
    answer within FETCH_S keep `ends`."""
    found: dict[TopicPartition, int] = {}
    todo = {tp: end for tp, end in ends.items() if end > 0}
    found.update({tp: 0 for tp, end in ends.items() if end <= 0})
    window = 2
    try:
        while todo:
            consumer.assign(list(todo))
            starts = {tp: max(0, end - window) for tp, end in todo.items()}
            for tp, start in starts.items():
                consumer.seek(tp, start)
            last: dict[TopicPartition, int] = {}

            def below_end(tp: TopicPartition, records: list[ConsumerRecord], ends: dict[TopicPartition, int] = todo,
                          last: dict[TopicPartition, int] = last) -> bool:
                offsets = [r.offset for r in records if r.offset < ends[tp]]
                if offsets:
                    last[tp] = max(last.get(tp, -1), offsets[-1])
                return False

            await asyncio.wait_for(_fetch(consumer, todo, below_end), FETCH_S)
            for tp in list(todo):
                if tp in last:
                    found[tp] = last[tp] + 1
                    del todo[tp]
                elif starts[tp] == 0:
                    found[tp] = 0  # no record at all: only markers and aborted batches
                    del todo[tp]
            window *= 16
    except TimeoutError:
        pass
    finally:
        park(consumer)
    return {tp: found.get(tp, end) for tp, end in ends.items()}


async def _fetch(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int],
                 take: Callable[[TopicPartition, list[ConsumerRecord]], bool]) -> None:
    """Fetch the sought partitions until `take(tp, records)` says a partition is done or its
    position reaches its end (a transaction marker at the end has no record)."""
    pending = set(ends)
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=200)
        for tp, records in batch.items():
            if records and take(tp, records):
                pending.discard(tp)
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)


async def stop_helper(consumer: AIOKafkaConsumer, what: str) -> bool:
    """Stop a helper consumer, but give up after STOP_S (with a warning): aiokafka 0.14's
    `stop()` can fail to return (see `park`), and a worker's shutdown must not wait on a
    helper. Faust waits at most 60 s for its consumer thread, and process supervisors send
    SIGKILL sooner than that."""
    try:
        await asyncio.wait_for(consumer.stop(), STOP_S)
    except TimeoutError:
        log.warning("helper_consumer.stop_timeout", consumer=what, waited_s=STOP_S)
        return False
    return True


def park(consumer: AIOKafkaConsumer) -> None:
    """Stop a helper consumer's background fetching between uses by pausing what it is
    assigned. Not `assign([])`: aiokafka 0.14's `stop()` then never returns (its fetch
    routine does not finish cancelling), which hung the lag reader's shutdown."""
    consumer.pause(*consumer.assignment())
