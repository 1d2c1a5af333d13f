"""Pause / resume of input topics and channels on every worker, through `<prefix>.control`.

Every worker follows the whole control topic with a group-less consumer (a consumer
group would give each worker only some of its partitions) and pauses fetching from the
partitions it is assigned of every paused topic (aiokafka's `pause`, see `set_fetching`).
The workers keep running, keep their assignments and keep committing what they have
processed, so the lag of a paused topic keeps growing and keeps being reported.
Faust resumes all partitions after each rebalance; the pause is re-applied every second.
A paused channel is not a partition: its envelopes are parked by the ingest agent
(app/parking.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from app.admin import client_security, ensure_topics
from app.log_ends import stop_helper
from app.logs import get_logger
from app.operations.control import ControlCommand, PauseState
from app.operations.errors import OperationsError
from app.settings import Settings
from app.topic_names import TopicNames

log = get_logger("orderhub.control")

#: how long a starting worker's ingest waits for the control topic before it goes on without it
CATCH_UP_TIMEOUT_S = 30.0


async def ensure_control_topic(settings: Settings) -> str:
    topic = TopicNames(settings.topic_prefix).control
    await ensure_topics(settings.bootstrap_servers, [topic], partitions=1, replication=settings.replication,
                        config={"cleanup.policy": "compact"}, **client_security(settings))
    return topic


async def ensure_parked_topic(settings: Settings, channel: str) -> str:
    """`<prefix>.channel-orders.parked.<channel>`, with the partitions of the other order topics."""
    topic = TopicNames(settings.topic_prefix).parked(channel)
    await ensure_topics(settings.bootstrap_servers, [topic], partitions=settings.partitions,
                        replication=settings.replication, **client_security(settings))
    return topic


def _consumer(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                            auto_offset_reset="earliest", fetch_max_wait_ms=500, **client_security(settings))


def _apply_record(state: PauseState, value: bytes | None) -> ControlCommand | None:
    try:
        command = ControlCommand.from_dict(orjson.loads(value or b"null"))
    except (orjson.JSONDecodeError, OperationsError) as exc:
        log.warning("control.unreadable", error=str(exc))
        return None
    state.apply(command)
    return command


async def read_state(settings: Settings) -> PauseState:
    """The current paused state, from the whole control topic."""
    topic = await ensure_control_topic(settings)
    state = PauseState()
    consumer = _consumer(settings)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(tp, timeout_ms=1000)).values():
                for record in records:
                    _apply_record(state, record.value)
    finally:
        await consumer.stop()
    return state


async def send_command(settings: Settings, command: ControlCommand) -> None:
    topic = await ensure_control_topic(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                **client_security(settings))
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=command.key.encode(), value=orjson.dumps(command.as_dict()))
    finally:
        await producer.stop()


class PauseController:
    """Follows the control topic and pauses this worker's partitions of paused topics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = PauseState()
        self._paused_here: set[Any] = set()
        self._by_operator: set[Any] = set()
        self._parked_topics_known: set[str] = set()
        #: set once the whole control topic has been read: until then a paused channel looks resumed
        self.caught_up = asyncio.Event()

    async def wait_caught_up(self, timeout_s: float = CATCH_UP_TIMEOUT_S) -> None:
        """Before the first envelope: wait until the paused state is known (bounded, so a control topic
        that cannot be read delays ingestion but does not stop it)."""
        try:
            await asyncio.wait_for(self.caught_up.wait(), timeout_s)
        except TimeoutError:
            log.warning("control.not_caught_up", waited_s=timeout_s)
            self.caught_up.set()

    @property
    def paused_topics(self) -> frozenset[str]:
        return self.state.topics

    @property
    def paused_channels(self) -> frozenset[str]:
        return self.state.channels

    async def follow(self) -> None:
        topic = await ensure_control_topic(self.settings)
        consumer = _consumer(self.settings)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning()
            end = (await consumer.end_offsets([tp]))[tp]
            # rebuilt from the start (the topic is compacted); it replaces the current state once caught up
            state = PauseState()
            while True:
                if state is not self.state and await consumer.position(tp) >= end:
                    self.state = state
                    self.caught_up.set()
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        await self._ensure_parked_topic(record.value)
                        command = _apply_record(state, record.value)
                        if command is not None:
                            log.info("control.applied", action=command.action, target_type=command.target_type,
                                     target=command.target, reason=command.reason)
        finally:
            await stop_helper(consumer, "control")

    async def _ensure_parked_topic(self, value: bytes | None) -> None:
        """A channel's parking topic exists before this worker parks into it (`orderhub pause`
        creates it too; this covers commands written by other tools)."""
        try:
            data = orjson.loads(value or b"null")
        except orjson.JSONDecodeError:
            return
        if isinstance(data, dict) and data.get("target_type") == "channel" and data.get("action") == "pause" \
                and isinstance(data.get("target"), str) and data["target"] not in self._parked_topics_known:
            await ensure_parked_topic(self.settings, data["target"])
            self._parked_topics_known.add(data["target"])

    async def apply(self, faust_consumer: Any, held: set[Any] = frozenset()) -> None:  # type: ignore[assignment]
        """Pause the assigned partitions of paused topics and the `held` ones; resume the ones no
        longer paused nor held."""
        assigned = set(faust_consumer.assignment())
        by_operator = {tp for tp in assigned if tp.topic in self.state.topics}
        paused = by_operator | (held & assigned)
        resumed = (self._paused_here - paused) & assigned
        if paused or resumed:
            # idempotent; a rebalance gives the consumer fresh partition states, unpaused
            await set_fetching(faust_consumer, pause=paused, resume=resumed)
        if by_operator != self._by_operator:
            log.info("control.partitions", paused=sorted(f"{tp.topic}:{tp.partition}" for tp in by_operator))
        self._paused_here, self._by_operator = paused, by_operator


async def set_fetching(faust_consumer: Any, *, pause: set[Any], resume: set[Any]) -> None:
    """Pause and resume fetching with aiokafka's own `pause`/`resume`, in the consumer's thread.

    Not with Faust's `pause_partitions`: that only takes the partitions out of Faust's active
    set, and Faust's fetch loop drops the records of inactive partitions it already holds
    (aiokafka's position has moved past them), so a pause in the middle of a batch lost the
    rest of that partition's records, and the next record's offset gap was counted as
    processed. aiokafka's pause discards only what it has not handed out yet, without
    moving the position: fetching resumes at the first record Faust has not seen.
    """
    thread = faust_consumer._thread

    async def apply() -> None:
        consumer = thread._ensure_consumer()
        assigned = consumer.assignment()
        paused = [TopicPartition(tp.topic, tp.partition) for tp in pause]
        resumed = [TopicPartition(tp.topic, tp.partition) for tp in resume]
        if paused := [tp for tp in paused if tp in assigned]:
            consumer.pause(*paused)
        if resumed := [tp for tp in resumed if tp in assigned]:
            consumer.resume(*resumed)

    await thread.call_thread(apply)
