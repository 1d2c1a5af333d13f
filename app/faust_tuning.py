"""Faust wiring: the one place that adjusts Faust internals that have no setting.

1. The consumer's fetch wait. 2. `CommitGate`: exactly_once commits only between events,
with the table changelog in the same transaction, counting only events the agents
processed. 3. Offset-gap accounting that could commit past a message not yet processed,
or never past a gap after offset 0. 4. `seek_before_resume`: after a rebalance, stream
partitions flow again only once sought and with Faust's buffers emptied.
5. `fetch_only_active_partitions`: a fetch never returns records of paused partitions
(which Faust would drop after aiokafka's position had moved past them: lost or stalled
partitions after a restart). Findings and evidence: docs/reliability.md.
6. `DeliveryGuard`: at least once, no offset commit after an output that failed to be delivered.
7. `true_changelog_highwaters`: table recovery reads the changelog up to its real end.
8. `long_transaction_timeout`: a broker outage does not time out the open transactions.
9. `retry_coordinator_lookups`: a connection lost while a commit looks up its coordinator is retried.
10. `commit_before_forgetting_revoked`: no exactly_once transaction stays open across a rebalance.
11. `stop_producers_of_moved_partitions`: a partition that moved away leaves no producer behind.

Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500`` for the worker consumer
(faust/transport/drivers/aiokafka.py). On a quiet topic a fetch then waits up to 1.5 s
before returning, which puts a floor under payment → command latency. We wrap the
factory and lower the wait to `ORDERHUB_CONSUMER_FETCH_WAIT_MS`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import faust.streams as faust_streams
from faust.transport.drivers import aiokafka as faust_aiokafka

_PATCHED = "_orderhub_fetch_wait_patched"


def set_consumer_fetch_wait(ms: int) -> None:
    cls = faust_aiokafka.AIOKafkaConsumerThread
    original = getattr(cls, _PATCHED, None) or cls._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = ms
        return consumer

    setattr(cls, _PATCHED, original)
    cls._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]


class ActivePartitions:
    """What aiokafka may return to Faust's fetch: the partitions active *now*, even if none.

    Faust passes its live set of active partitions to aiokafka's `Fetcher.fetched_records`,
    which waits for records and, on every wake-up, returns those of the partitions in the
    set, or of *every* assigned partition when the set is empty (`if partitions and tp not
    in partitions`). When Faust pauses all its partitions while a fetch is waiting (the end
    of changelog recovery pauses the changelog partitions while the stream partitions are
    still paused), the fetch returns records of paused partitions; Faust drops them, but
    aiokafka's position has moved past them. This view is never empty to aiokafka and
    answers membership from the live set.
    """

    __slots__ = ("_live",)

    def __init__(self, live: Any) -> None:
        self._live = live

    def __contains__(self, tp: object) -> bool:
        return tp in self._live

    def __bool__(self) -> bool:
        return True


def fetch_only_active_partitions() -> None:
    """Never let a fetch return records of partitions Faust has paused (see `ActivePartitions`).

    Without this, a restarted worker could lose its stream partitions' positions at the end
    of recovery: Faust's seek to the committed offsets repairs only partitions that have a
    committed offset (aiokafka's `seek_to_committed` skips the others, which then jump to
    the log end unprocessed) and were sought after the dropped fetch returned (the others
    are never fetched again: the partition stalls at its committed offset, without error).
    """
    cls = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(cls, "_orderhub_fetch_active_only", False):
        return
    original = cls._fetch_records

    async def _fetch_records(self: Any, consumer: Any, active_partitions: Any,
                             timeout: float | None = None,  # noqa: ASYNC109 — Faust's signature
                             max_records: int | None = None) -> Any:
        if active_partitions is not None:  # None: a client-only app, which fetches everything
            active_partitions = ActivePartitions(active_partitions)
        return await original(self, consumer, active_partitions, timeout=timeout, max_records=max_records)

    cls._fetch_records = _fetch_records  # type: ignore[method-assign]
    cls._orderhub_fetch_active_only = True  # type: ignore[attr-defined]


#: how often a commit waiting for events or changelog records checks whether the worker crashed
CRASH_CHECK_S = 1.0


class WorkerCrashed(Exception):
    """A commit gave up waiting because the worker has crashed."""


class CommitGate:
    """Exactly-once commits that line up with events, whatever Faust's offset bookkeeping says.

    Three Faust behaviours break exactly_once as shipped (faust/transport/consumer.py):
    - commits run on a timer with the offsets acked so far, so an event whose outputs were
      sent but which was not acked yet has its outputs committed without its offset; after
      a crash it is processed again and read_committed consumers see it twice
      (faust-streaming#517);
    - table changelog records wait in a buffer (`Topic.send_soon`) and can join the *next*
      transaction, so a crash can keep an event's command but lose the state change;
    - a stream acks every event it hands out once the agent asks for the next one (the
      pure-Python stream also the stale ones it skips itself): an event the agent did not
      process counts as done and the next commit moves past it (finding 15).
    So agents hold the gate while they process an event and ack it before leaving; the
    commit waits until no event is in flight, holds new ones back (writer preference, so
    it cannot starve) and waits until every buffered changelog record has been written
    before committing. (Faust's own `ProducerBuffer.flush` is not enough: it gives up when
    no record was sent within 0.1 s, which a loaded event loop easily exceeds, and it
    counts a record being handed to the producer as already sent.) On the topics the
    agents read (`guard`), only the ack the gate makes for a processed event counts, at
    least once too.
    """

    def __init__(self) -> None:
        self._buffered: list[asyncio.Future[Any]] = []
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()
        self._guarded: set[str] = set()
        self._acking: Any = None  # the message whose ack the gate is making

    def guard(self, topics: Iterable[str]) -> None:
        """Count acks on `topics` only for events the gate let through (see `counts`)."""
        self._guarded.update(topics)

    def counts(self, message: Any) -> bool:
        """Whether an ack of `message` may mark its offset as done: on a guarded topic only
        if the gate let the event through to be processed. An event skipped at a rebalance
        (`processing` yielded False, or Faust's stream skipped it as stale) is acked by
        Faust's stream anyway; counted, its offset would be committed unprocessed."""
        return message.topic not in self._guarded or message is self._acking

    def ack(self, event: Any) -> None:
        """Acknowledge an event the agent has processed (the ack that counts)."""
        self._acking = event.message
        try:
            event.ack()
        finally:
            self._acking = None

    @contextlib.asynccontextmanager
    async def processing(self, event: Any, current: Callable[[Any], bool] = lambda event: True,
                         ) -> AsyncIterator[bool]:
        """Hold the gate while `event` is processed; yields False (process nothing, no ack) when
        `current(event)` says, once the gate is open, that the event no longer belongs to this
        worker's current assignment: an agent can hold an event across a rebalance, and the
        rebalance's commit has then ended the transaction its outputs would join."""
        await self._open.wait()
        if not current(event):
            yield False
            return
        self._active += 1
        self._idle.clear()
        try:
            yield True
            self.ack(event)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    def track(self, record: asyncio.Future[Any]) -> None:
        """Note a record put in Faust's producer buffer; it resolves once written."""
        self._buffered.append(record)

    async def written(self, crashed: Callable[[], bool] = lambda: False) -> None:
        """Wait until every tracked record is written (or raise its send error). Gives up with
        `WorkerCrashed` once `crashed()` says the worker has crashed: its producer buffer may
        be gone with records that will never be written, and a commit waiting for them kept
        a crashed worker from stopping (Faust's stop waits for the commit in progress)."""
        while self._buffered:
            records, self._buffered = self._buffered, []
            pending = set(records)
            while pending:
                done, pending = await asyncio.wait(pending, timeout=CRASH_CHECK_S)
                for record in done:
                    record.result()
                if pending and crashed():
                    raise WorkerCrashed("the worker crashed with changelog records unwritten: no commit")

    @contextlib.asynccontextmanager
    async def exclusive(self, crashed: Callable[[], bool] = lambda: False) -> AsyncIterator[None]:
        self._open.clear()
        try:
            while not self._idle.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), CRASH_CHECK_S)
                if not self._idle.is_set() and crashed():
                    raise WorkerCrashed("the worker crashed with an event in flight: no commit")
            yield
        finally:
            self._open.set()


#: the gate the patched Faust methods consult (the last one installed)
_installed: list[CommitGate] = []


def install_commit_gate(gate: CommitGate) -> None:
    """Route Faust's transactional commits, changelog buffer and acks through `gate`."""
    from faust.transport.consumer import Consumer, TransactionManager
    from faust.transport.producer import ProducerBuffer

    from app.logs import get_logger

    _installed[:] = [gate]
    if getattr(TransactionManager, "_orderhub_gated", False):
        return
    original_commit = TransactionManager.commit
    original_put = ProducerBuffer.put
    original_ack = Consumer.ack
    skip_log = get_logger("orderhub.rebalance")

    def refused(consumer: Any, message: Any) -> bool:
        """Refuse the final ack of an event the gate did not let through: mark it acked so
        nothing counts it, and let Faust stop waiting for it. Its offset is read again from
        the last commit, by this worker after the rebalance's seek or by the partition's
        new owner."""
        if message.acked or _installed[0].counts(message):
            return False
        message.acked = True
        consumer._unacked_messages.discard(message)
        skip_log.info("rebalance.event_skipped", tp=f"{message.topic}[{message.partition}]", offset=message.offset)
        return True

    def ack(self: Any, message: Any) -> bool:  # Faust's pure-Python stream, `Event.ack`
        return False if refused(self, message) else bool(original_ack(self, message))

    base_iterator = faust_streams._CStreamIterator
    if base_iterator is not None:  # Faust's compiled stream acks without `Consumer.ack`

        class GatedStreamIterator(base_iterator):  # type: ignore[misc,valid-type]
            def after(self, event: Any, do_ack: Any, sensor_state: Any) -> Any:
                if do_ack and event is not None and event.message.refcount <= 1:  # its final ack
                    refused(self.consumer, event.message)
                return super().after(event, do_ack, sensor_state)

        faust_streams._CStreamIterator = GatedStreamIterator

    def put(self: Any, fut: Any) -> None:
        if self.app.in_transaction:  # only transactional commits wait for them
            _installed[0].track(fut)
        original_put(self, fut)

    async def commit(self: Any, offsets: Any, start_new_transaction: bool = True) -> bool:
        def crashed() -> bool:
            return bool(self.app.crashed)

        gate = _installed[0]
        async with gate.exclusive(crashed):
            try:
                await gate.written(crashed)
                return await original_commit(self, offsets, start_new_transaction)
            except Exception as exc:
                # The transaction's outcome is unknown; continuing would commit later
                # offsets over lost outputs. Stop: a restart rebuilds state from Kafka.
                await self.app.crash(exc)
                raise

    ProducerBuffer.put = put  # type: ignore[method-assign]
    TransactionManager.commit = commit  # type: ignore[method-assign]
    Consumer.ack = ack  # type: ignore[method-assign]
    TransactionManager._orderhub_gated = True  # type: ignore[attr-defined]


class ReadOffset(int):
    """A read offset of 0 that is true: Faust tests the read offset for truth where it means
    "a record was read" (see `ReadOffsets`)."""

    def __bool__(self) -> bool:
        return True


class ReadOffsets(dict[Any, Any]):
    """Faust's per-partition read offsets (`Consumer._read_offset`, a defaultdict of None),
    storing 0 as a true `ReadOffset`.

    Faust's fetch loop records an offset gap only `if gap > 1 and r_offset`
    (faust/transport/consumer.py, `_drain_messages`), so after reading offset 0 a jump over
    transaction markers or aborted records is not recorded; its commit then never passes the
    hole (it tolerates one offset only) and the partition stalls with everything after it
    processed but never committed.
    """

    def __missing__(self, tp: Any) -> None:
        return None

    def __setitem__(self, tp: Any, offset: int | None) -> None:
        super().__setitem__(tp, ReadOffset(0) if offset is not None and offset == 0 else offset)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for tp, offset in dict(*args, **kwargs).items():
            self[tp] = offset


def fix_gap_accounting() -> None:
    """Offset gaps (transaction markers under exactly_once, aborted records, compaction) that
    Faust records as already acked so commits can pass them, recorded exactly.

    - Faust passes the offset of the message just fetched as the gap's inclusive end
      (faust/transport/consumer.py, `_add_gap(tp, r_offset + 1, offset)`), so that message
      counts as acked before it is processed; a commit then can move past it and a crash
      loses it. We end the gap one offset earlier.
    - A gap right after offset 0 is not recorded at all (`ReadOffsets`): the partition's
      commits stop there for good. Seen in the single-worker kill test, where a killed
      worker's aborted transaction left records 1-4 of a lane's partition after its first
      record: 218 records processed and never committed (docs/reliability.md, finding 14).
    """
    from faust.transport.consumer import Consumer

    if getattr(Consumer, "_orderhub_gap_fixed", False):
        return
    original = Consumer._add_gap
    init = Consumer.__init__

    async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        await original(self, tp, offset_from, offset_to - 1)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        read_offsets = ReadOffsets()
        read_offsets.update(self._read_offset)
        self._read_offset = read_offsets

    Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    Consumer.__init__ = __init__  # type: ignore[method-assign]
    Consumer._orderhub_gap_fixed = True  # type: ignore[attr-defined]


def seek_before_resume() -> None:
    """Resume stream partitions only after they are sought and Faust's buffers are cleared.

    After a rebalance, Faust's recovery (faust/tables/recovery.py, `on_recovery_completed`;
    `_resume_streams` in apps without tables) resumes the stream partitions, seeks them to
    their committed offsets, then resumes the flow, which empties the streams' buffers
    (mode's `FlowControlEvent.resume`). Each step can lose or strand input (the first was
    observed, docs/reliability.md finding 1; the others follow from reading the code):

    - records fetched between the resume and the seek are processed while the seek runs; the
      seek resets Faust's read offsets underneath them, and the next record looks like an
      offset gap, which Faust counts as acknowledged: records skipped;
    - records delivered to a stream before the flow resume are dropped from its buffer while
      Faust's read offset has moved past them: never processed, never acknowledged, never
      fetched again. One such record is committed past (Faust's commit tolerates a hole of one
      offset after the committed one, meant for a transaction marker); two or more and the
      commit never includes the partition again: the partition stalls;
    - when another rebalance starts while the seek runs, Faust abandons this recovery; the
      partitions of the *new* assignment are already paused, and resuming them now would let
      them flow before their own recovery and seek, with both effects above.

    So the resume is held back until the whole step has completed for the same generation
    (seek done, flow resumed, buffers emptied). If it does not complete, the partitions stay
    paused and the next recovery resumes them.
    """
    from faust.tables.recovery import Recovery

    if getattr(Recovery, "_orderhub_seek_first", False):
        return
    Recovery.on_recovery_completed = resume_when_sought(Recovery.on_recovery_completed)  # type: ignore[method-assign]
    Recovery._resume_streams = resume_when_sought(Recovery._resume_streams)  # type: ignore[method-assign]
    Recovery._orderhub_seek_first = True  # type: ignore[attr-defined]


class DeliveryGuard:
    """Remembers the first output the producer failed to deliver; commits refuse to run after it.

    At least once, agents hand outputs to the producer without waiting for each
    acknowledgement; Faust flushes the producer before it commits offsets, but a flush
    returns whether the batches succeeded or failed. aiokafka resolves a batch's message
    futures in the same step as the batch future the flush waits on, so their callbacks
    run before the flush returns: the commit sees the failure and stops the worker
    instead of committing past the lost output.
    """

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def watch(self, delivery: asyncio.Future[Any]) -> None:
        delivery.add_done_callback(self._on_done)

    def _on_done(self, delivery: asyncio.Future[Any]) -> None:
        if self.error is None and not delivery.cancelled() and delivery.exception() is not None:
            self.error = delivery.exception()


class OutputNotDeliveredError(RuntimeError):
    """An output could not be written to Kafka; the worker stops rather than commit past it."""


def install_delivery_guard(guard: DeliveryGuard) -> None:
    from faust.transport.consumer import ThreadDelegateConsumer

    if getattr(ThreadDelegateConsumer, "_orderhub_delivery_guarded", False):
        return
    original = ThreadDelegateConsumer._commit

    async def _commit(self: Any, offsets: Any) -> bool:
        if guard.error is not None:
            exc = OutputNotDeliveredError(f"an output was not delivered: {guard.error!r}")
            await self.app.crash(exc)
            raise exc
        return await original(self, offsets)

    ThreadDelegateConsumer._commit = _commit  # type: ignore[method-assign]
    ThreadDelegateConsumer._orderhub_delivery_guarded = True  # type: ignore[attr-defined]


def resume_when_sought(step: Any) -> Any:
    """Wrap a Faust recovery step so its `resume_partitions` runs only after the step succeeded
    for its generation, and never for partitions that were not sought."""
    async def recover(self: Any, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        perform_seek = consumer.perform_seek
        held: set[Any] = set()
        sought = False

        async def seek() -> None:
            nonlocal sought
            await perform_seek()
            sought = True

        consumer.resume_partitions = held.update
        consumer.perform_seek = seek
        try:
            await step(self, generation_id)
        finally:
            del consumer.resume_partitions
            del consumer.perform_seek
        if not held or self.app.consumer_generation_id != generation_id:
            return  # nothing to resume, or a newer rebalance owns the partitions now
        if not sought:  # no such path in Faust today; never let unsought partitions flow
            await perform_seek()
        consumer.resume_partitions(held)

    return recover


def rebuild_regained_partitions() -> None:
    """Under exactly_once, a table partition this worker gives up is rebuilt from the
    committed changelog if the worker ever gets it back, instead of reusing its local store.

    RocksDB is written as events are processed, before their Kafka transaction commits. A
    partition revoked while a transaction was open (or whose producer was fenced) keeps
    those aborted writes, and its persisted changelog offset can be ahead of the committed
    changelog: on regaining it, Faust crashed with "persisted offset 2 > highwater -1"
    (ConsistencyError), or could have skipped events as already applied. Kafka Streams
    wipes such a store and restores it; so does this: the revoked partition is marked, and
    its local files are removed the next time the store opens it (the old handle is gone
    by then), so recovery reads the partition's committed changelog from the start.
    """
    import shutil

    from faust.stores import rocksdb

    store_cls = rocksdb.Store
    if getattr(store_cls, "_orderhub_rebuilds_regained", False):
        return
    revoke, open_partition = store_cls.revoke_partitions, store_cls._open_for_partition

    def revoke_partitions(self: Any, table: Any, tps: Any) -> None:
        revoke(self, table, tps)
        if self.app.in_transaction:
            marked = self.__dict__.setdefault("_orderhub_rebuild", set())
            marked.update(tp.partition for tp in tps if tp.topic in table.changelog_topic.topics)

    def _open_for_partition(self: Any, partition: int) -> Any:
        marked = self.__dict__.get("_orderhub_rebuild")
        if marked and partition in marked:
            marked.discard(partition)
            shutil.rmtree(self.partition_path(partition), ignore_errors=True)
        return open_partition(self, partition)

    store_cls.revoke_partitions = revoke_partitions  # type: ignore[method-assign]
    store_cls._open_for_partition = _open_for_partition  # type: ignore[method-assign]
    store_cls._orderhub_rebuilds_regained = True  # type: ignore[attr-defined]


def true_changelog_highwaters(client: dict[str, Any]) -> None:
    """Table recovery (faust/tables/recovery.py, `_build_highwaters`) reads each changelog
    partition up to the highwater Faust's consumer gives it, and Faust gets that wrong twice:

    - under exactly_once it takes the last stable offset from the consumer's *fetch state*,
      which is -1 for a changelog partition not fetched yet. A worker that took a partition
      over then skipped its recovery (state empty: orders decided again, a second SHIP with
      another command_id), and one restarted on its own data dir crashed with
      "persisted offset 34 > highwater -1" (ConsistencyError);
    - otherwise it asks ListOffsets, and the embedded broker answers with the last batch's
      base offset + 1 (app/log_ends.py): recovery stopped before the batch's other records.

    Both now come from a consumer of its own (`client`: aiokafka client arguments) through
    `LogEnds`: ListOffsets with the isolation level of the mode (read_committed under
    exactly_once gives the last stable offset from the broker), then the last batch read.
    Under exactly_once the end is then moved back to just after the last committed record
    (`after_last_records`): a trailing transaction marker otherwise kept recovery waiting
    for two idle 5-second rounds on every start and takeover.
    """
    from aiokafka import AIOKafkaConsumer

    from app.log_ends import LogEnds, after_last_records, stop_helper

    cls = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(cls, "_orderhub_true_highwaters", False):
        return

    async def _highwaters(self: Any, partitions: Any) -> Any:
        ends = self.__dict__.get("_orderhub_log_ends")
        if ends is None:
            isolation = "read_committed" if self.consumer.in_transaction else "read_uncommitted"
            probe = AIOKafkaConsumer(**client, enable_auto_commit=False, isolation_level=isolation,
                                     max_partition_fetch_bytes=1024 * 1024)
            await probe.start()
            ends = self.__dict__["_orderhub_log_ends"] = LogEnds(probe)
        found = await ends(partitions)
        if self.consumer.in_transaction:
            return await after_last_records(ends.consumer, found)
        return found

    stop = cls.on_thread_stop

    async def on_thread_stop(self: Any) -> None:
        await stop(self)
        ends = self.__dict__.pop("_orderhub_log_ends", None)
        if ends is not None:
            await stop_helper(ends.consumer, "recovery-highwaters")

    cls._highwaters = _highwaters  # type: ignore[method-assign]
    cls.on_thread_stop = on_thread_stop  # type: ignore[method-assign]
    cls._orderhub_true_highwaters = True  # type: ignore[attr-defined]


#: the transaction timeout of the exactly_once producers (aiokafka's default: 60 s)
TRANSACTION_TIMEOUT_MS = 300_000


def long_transaction_timeout() -> None:
    """A transaction left open longer than its timeout is aborted by the broker and its
    producer fenced; the worker then stops (`CommitGate`). With aiokafka's 60 s, a broker
    stopped for 20 s plus a minute to start again under load fenced the worker that the
    outage test expects to carry on by itself. 5 minutes: an outage of that length passes;
    a killed worker's open transaction is still aborted at once by the next owner's
    producer (same transactional id). The broker's `transaction.max.timeout.ms` (15 min by
    default) must allow it.
    """
    cls = faust_aiokafka.Producer
    if getattr(cls, "_orderhub_transaction_timeout", False):
        return
    original = cls._settings_extra

    def _settings_extra(self: Any) -> Any:
        extra = dict(original(self))
        if self.app.in_transaction:
            extra["transaction_timeout_ms"] = TRANSACTION_TIMEOUT_MS
        return extra

    cls._settings_extra = _settings_extra  # type: ignore[method-assign]
    cls._orderhub_transaction_timeout = True  # type: ignore[attr-defined]


def retry_coordinator_lookups() -> None:
    """aiokafka 0.14's transactional sender gives up on a coordinator lookup that fails with a
    connection error (`Sender._find_coordinator` retries only CoordinatorNotAvailable,
    NodeNotReady and RequestTimedOut) and its sender routine then dies with "Unexpected error
    during batch delivery". A broker that goes away while an offset commit looks up the group
    coordinator thus crashed the worker instead of letting it wait for the broker (seen in the
    outage test; aiokafka issues #1134 and #1151 are about the same path). A retriable error
    is now retried like the others: metadata refreshed, then again after the backoff.
    """
    from aiokafka.errors import KafkaError
    from aiokafka.producer.sender import Sender

    if getattr(Sender, "_orderhub_coordinator_retry", False):
        return
    original = Sender._find_coordinator

    async def _find_coordinator(self: Any, coordinator_type: Any, coordinator_key: Any) -> Any:
        while True:
            try:
                return await original(self, coordinator_type, coordinator_key)
            except KafkaError as exc:
                cause = exc.__cause__
                if not (type(exc) is KafkaError and isinstance(cause, KafkaError) and cause.retriable):
                    raise
                await self.client.force_metadata_update()
                await asyncio.sleep(self._retry_backoff)

    Sender._find_coordinator = _find_coordinator  # type: ignore[method-assign]
    Sender._orderhub_coordinator_retry = True  # type: ignore[attr-defined]


def commit_before_forgetting_revoked() -> None:
    """Under exactly_once, the commit Faust makes when partitions are revoked includes them.

    On a rebalance Faust first forgets the acked offsets of every revoked partition
    (faust/transport/consumer.py, `Consumer.on_partitions_revoked`) and only then lets its
    handler wait for the agents and commit: the commit finds nothing to commit for them
    ("Discarded commit for revoked partitions"), and their transactions stay open. A
    partition that moves to another worker is safe: the new owner's producer fences the old
    one and the broker aborts that transaction. A partition the worker keeps (eager
    rebalancing revokes everything, then hands most partitions back) is not: its producer
    and its open transaction carry on, the consumer is sought back to the last committed
    offset, and table recovery re-reads the committed changelog over the newer local state.
    The events since the last commit are then processed again on that older state, and
    their outputs, already in the open transaction, are written a second time into it: one
    decision's command twice with the same command_id (docs/reliability.md, finding 3).

    Here the offsets are forgotten after the handler, so its commit (Faust's
    `commit_and_end_transactions`, after the agents went idle) covers the revoked
    partitions as Kafka Streams commits its tasks on revocation: no event's outputs span a
    rebalance. The member still owns its partitions until it rejoins, so no other worker
    can have started on them yet. That commit begins the next transactions at once (only
    a stop ends them): timers write tables between the revocation and the assignment.
    """
    from faust.transport.consumer import CONSUMER_PARTITIONS_REVOKED, Consumer
    from faust.utils.tracing import traced_from_parent_span
    from mode import Service

    from app.logs import get_logger

    if getattr(Consumer, "_orderhub_commit_before_forgetting", False):
        return
    revoke_log = get_logger("orderhub.rebalance")
    original = Consumer.on_partitions_revoked

    async def on_partitions_revoked(self: Any, revoked: Any) -> None:
        if not self.app.in_transaction:
            return await original(self, revoked)
        span = self.app._start_span_from_rebalancing("on_partitions_revoked")
        T = traced_from_parent_span(span)  # noqa: N806 — Faust's name for it
        with span:
            if self._active_partitions is not None:
                self._active_partitions.difference_update(revoked)
            self._paused_partitions.difference_update(revoked)
            pending = sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked if self._acked.get(tp))
            if pending:  # what Faust would have left in open transactions
                revoke_log.info("rebalance.commit_revoked", partitions=pending)
            try:
                await T(self._on_partitions_revoked, partitions=revoked)(revoked)
            finally:
                for tp in revoked:
                    self._gap.pop(tp, None)
                    self._acked.pop(tp, None)
                    self._acked_index.pop(tp, None)
                    self._read_offset.pop(tp, None)
                    self._committed_offset.pop(tp, None)
        return None

    async def commit_and_end_transactions(self: Any) -> None:
        # Faust ends the transactions here, at a rebalance as at a stop. At a rebalance the
        # worker goes on: timers still write tables (changelog records) before the partitions
        # are assigned again, and a producer without a transaction refuses them ("Can't send
        # messages while not in transaction", a crash). So only a stop ends them.
        await self.commit(start_new_transaction=bool(not self.should_stop and self.app.in_transaction
                                                     and not self.app.should_stop))

    Consumer.on_partitions_revoked = Service.transitions_to(CONSUMER_PARTITIONS_REVOKED)(  # type: ignore[method-assign]
        on_partitions_revoked)
    Consumer.commit_and_end_transactions = commit_and_end_transactions  # type: ignore[method-assign]
    Consumer._orderhub_commit_before_forgetting = True  # type: ignore[attr-defined]


def _in_transaction(producer: Any) -> bool:
    manager = getattr(producer, "_txn_manager", None)
    return manager is not None and manager.is_in_transaction()


def stop_producers_of_moved_partitions() -> None:
    """Under exactly_once, a rebalance stops the producer of every partition that is no longer
    this worker's to process, including those it now keeps only a standby copy of.

    Faust stops the transactional producers of the revoked partitions (faust/transport/
    consumer.py, `TransactionManager.on_rebalance`) but skips each partition the assignor
    has just made a standby of this worker (`_tps_to_active_tpgs`). The assignor lists the
    standby partitions of a topic group for its source topics too, so with one standby
    replica every partition that moves to another worker becomes a standby here and its
    producer is never stopped. The new owner's producer fences it. When the partition
    comes back (its owner was killed), Faust finds that fenced producer, fails to begin a
    transaction on it ("IN_TRANSACTION -> IN_TRANSACTION", logged and ignored) and uses it:
    the first send or commit fails ("Can't send messages while not in transaction",
    `ProducerFenced`) and the worker crashes (docs/reliability.md, finding 13).

    Here every producer whose transactional id no active partition of the new assignment
    maps to is stopped before Faust starts those of the assignment, so a partition that
    comes back gets a new producer, which fences the previous owner's as it should. Its
    transaction is empty: the revoke commit (`commit_before_forgetting_revoked`) committed
    the partition's work and no event is processed between the revocation and the assignment.
    """
    from faust.transport.consumer import TransactionManager

    from app.logs import get_logger

    if getattr(TransactionManager, "_orderhub_stops_moved", False):
        return
    rebalance_log = get_logger("orderhub.rebalance")
    original = TransactionManager.on_rebalance
    original_start = TransactionManager._start_transactions

    async def on_rebalance(self: Any, assigned: Any, revoked: Any, newly_assigned: Any) -> None:
        producers = self.producer._transaction_producers
        moved = sorted(set(producers) - self._tps_to_transactional_ids(assigned))
        if moved:
            rebalance_log.info("rebalance.producers_stopped", transactional_ids=moved)
            await self._stop_transactions(moved)
        await original(self, assigned, revoked, newly_assigned)

    async def _start_transactions(self: Any, tids: Any) -> None:
        # a kept partition's transaction was begun by the revoke commit already; beginning it
        # again only logs "Invalid state transition IN_TRANSACTION -> IN_TRANSACTION"
        producers = self.producer._transaction_producers
        await original_start(self, [tid for tid in tids if not _in_transaction(producers.get(tid))])

    TransactionManager.on_rebalance = on_rebalance  # type: ignore[method-assign]
    TransactionManager._start_transactions = _start_transactions  # type: ignore[method-assign]
    TransactionManager._orderhub_stops_moved = True  # type: ignore[attr-defined]
