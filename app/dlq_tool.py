"""DLQ tooling: list, show and replay dead-lettered messages (`orderhub dlq`, `/api/dlq`).

Reads the `<input>.dlq` topics with a group-less read_committed consumer, so listing
never moves anyone's offsets. Replay produces the original key, value and headers back
into the source topic with three headers:

- `orderhub-replays`: how many times the message has been replayed (= the entry's
  `attempts`); if it fails again the new DLQ entry has attempts + 1;
- `orderhub-first-failed-at`: carried over, so the new entry keeps the first failure time;
- `orderhub-replayed-from`: the DLQ id it came from.

Nothing is ever deleted. Each replayed id is recorded on the compacted topic
`<prefix>.dlq-replays` (key = DLQ id), and later replays skip recorded ids unless told
otherwise, so running the same replay twice does not send the messages twice.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from app.admin import client_security, ensure_topics, topic_partitions
from app.dlq import FIRST_FAILED_HEADER, REPLAYS_HEADER
from app.log_ends import log_end_offsets
from app.metrics import ORIGIN_HEADER
from app.operations.dlq_ids import DlqId, dlq_topic_for
from app.operations.errors import NotFoundError, OperationsError
from app.settings import Settings
from app.topic_names import TopicNames

REPLAYED_FROM_HEADER = "orderhub-replayed-from"
#: replaced on replay; the origin time is dropped so a replay is measured from the replay
_OUR_HEADERS = frozenset({REPLAYS_HEADER, FIRST_FAILED_HEADER, REPLAYED_FROM_HEADER, ORIGIN_HEADER})
REPLAY_BATCH = 500
_READ_TIMEOUT_S = 30.0


class DlqToolError(Exception):
    """The broker could not be used (unreachable, a topic missing); one line for the user."""


@dataclass(frozen=True, slots=True)
class DlqRecord:
    """One DLQ entry as stored, with where it is and whether it was replayed already."""

    id: DlqId
    key: bytes | None
    entry: dict[str, Any]
    replayed: dict[str, Any] | None = None

    @property
    def failed_at(self) -> datetime | None:
        raw = self.entry.get("last_failed_at")
        try:
            return datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None

    def summary(self) -> dict[str, Any]:
        e = self.entry
        return {"id": str(self.id), "topic": e.get("topic"), "partition": e.get("partition"),
                "offset": e.get("offset"), "key": e.get("key"), "stage": e.get("stage"),
                "error_type": e.get("error_type"), "error": e.get("error"), "attempts": e.get("attempts"),
                "first_failed_at": e.get("first_failed_at"), "last_failed_at": e.get("last_failed_at"),
                "replayed_at": (self.replayed or {}).get("replayed_at")}

    def detail(self) -> dict[str, Any]:
        """The whole entry plus the decoded value (JSON when it is JSON, else text or base64)."""
        value = decode_b64(self.entry.get("value_b64"))
        shown: Any = None
        if value is not None:
            try:
                shown = orjson.loads(value)
            except orjson.JSONDecodeError:
                try:
                    shown = value.decode()
                except UnicodeDecodeError:
                    shown = None
        return {**self.summary(), "value": shown, "value_bytes": None if value is None else len(value),
                "headers": self.entry.get("headers") or {}, "replay": self.replayed}


@dataclass
class ReplayReport:
    selected: int = 0
    replayed: int = 0
    skipped_already_replayed: int = 0
    dry_run: bool = False
    ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"selected": self.selected, "replayed": self.replayed, "dry_run": self.dry_run,
                "skipped_already_replayed": self.skipped_already_replayed, "ids": self.ids}


def decode_b64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def replay_headers(record: DlqRecord) -> list[tuple[str, bytes]]:
    """The original headers (ours replaced) plus the replay count, first failure and origin."""
    original = record.entry.get("headers") or {}
    headers: list[tuple[str, bytes]] = []
    for name, value in original.items():
        if name in _OUR_HEADERS or value is None:
            continue
        headers.append((name, base64.b64decode(value) if isinstance(value, str) else str(value).encode()))
    attempts = int(record.entry.get("attempts") or 1)
    headers.append((REPLAYS_HEADER, str(attempts).encode()))
    if record.entry.get("first_failed_at"):
        headers.append((FIRST_FAILED_HEADER, str(record.entry["first_failed_at"]).encode()))
    headers.append((REPLAYED_FROM_HEADER, str(record.id).encode()))
    return headers


class DlqTool:
    """The DLQs of one orderhub deployment (`ORDERHUB_TOPIC_PREFIX`) on one cluster."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.names = TopicNames(settings.topic_prefix)
        self._client = {"bootstrap_servers": settings.bootstrap_servers, "request_timeout_ms": 15000,
                        **client_security(settings)}

    @property
    def dlq_topics(self) -> list[str]:
        return [self.names.dlq(t) for t in self.names.inputs]

    def resolve_topics(self, topic: str | None) -> list[str]:
        if topic is None:
            return self.dlq_topics
        return [dlq_topic_for(topic, self.names.prefix, self.names.inputs)]

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(**self._client, isolation_level="read_committed", enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=100,
                                max_partition_fetch_bytes=16 * 1024 * 1024)

    async def _read(self, topics: Iterable[str]) -> AsyncIterator[Any]:
        """Every record of `topics` up to their end offsets at the time of the call."""
        consumer = self._consumer()
        try:
            await consumer.start()
            tps = await topic_partitions(consumer, topics)
            if not tps:
                return
            # the true ends: the embedded broker reports the last batch's base offset + 1, and
            # reading only that far left the rest of a DLQ's last batch out of list and replay
            ends = await log_end_offsets(consumer, tps)
            consumer.assign(tps)
            consumer.resume(*tps)
            await consumer.seek_to_beginning(*tps)
            pending = {tp for tp in tps if ends[tp] > 0}
            deadline = time.monotonic() + _READ_TIMEOUT_S
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset < ends[tp]:
                            yield record
                    deadline = time.monotonic() + _READ_TIMEOUT_S
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
                if time.monotonic() > deadline:
                    raise DlqToolError(f"reading {', '.join(sorted({tp.topic for tp in pending}))} "
                                       f"made no progress for {_READ_TIMEOUT_S:.0f} s")
        except KafkaError as exc:
            raise DlqToolError(f"broker {self.settings.bootstrap_servers}: {exc}") from None
        finally:
            await consumer.stop()

    async def replay_markers(self) -> dict[str, dict[str, Any]]:
        markers: dict[str, dict[str, Any]] = {}
        async for record in self._read([self.names.dlq_replays]):
            if record.key is None:
                continue
            if record.value is None:
                markers.pop(record.key.decode(), None)
            else:
                markers[record.key.decode()] = orjson.loads(record.value)
        return markers

    async def entries(self, *, topic: str | None = None, since: datetime | None = None,
                      ids: Iterable[DlqId] | None = None) -> list[DlqRecord]:
        """DLQ entries, oldest first per partition, filtered by topic, failure time and ids."""
        wanted = set(ids) if ids is not None else None
        topics = self.resolve_topics(topic)
        if wanted is not None:
            unknown = {i.topic for i in wanted} - set(self.dlq_topics)
            if unknown:
                raise OperationsError(f"not an orderhub DLQ topic: {', '.join(sorted(unknown))}")
            topics = sorted({i.topic for i in wanted} & set(topics))
        markers = await self.replay_markers()
        found: list[DlqRecord] = []
        async for record in self._read(topics):
            dlq_id = DlqId(record.topic, record.partition, record.offset)
            if wanted is not None and dlq_id not in wanted:
                continue
            try:
                entry = orjson.loads(record.value)
            except orjson.JSONDecodeError:
                entry = {"error_type": "unreadable_dlq_entry", "error": "the DLQ record is not JSON"}
            item = DlqRecord(dlq_id, record.key, entry, markers.get(str(dlq_id)))
            if since is not None and (item.failed_at is None or item.failed_at < since):
                continue
            found.append(item)
        if wanted is not None:
            missing = wanted - {r.id for r in found}
            if missing:
                raise NotFoundError(f"no DLQ entry {', '.join(sorted(map(str, missing)))}")
        return found

    async def show(self, dlq_id: DlqId) -> DlqRecord:
        return (await self.entries(ids=[dlq_id]))[0]

    async def replay(self, records: list[DlqRecord], *, dry_run: bool = False, include_replayed: bool = False,
                     progress: Callable[[int], None] | None = None) -> ReplayReport:
        """Produce `records` back into their source topics in batches; record each replayed id."""
        report = ReplayReport(selected=len(records), dry_run=dry_run)
        todo = []
        for record in records:
            if record.replayed is not None and not include_replayed:
                report.skipped_already_replayed += 1
            elif not record.entry.get("topic") or record.entry.get("error_type") == "unreadable_dlq_entry":
                raise OperationsError(f"DLQ entry {record.id} does not name its source topic; not replayable")
            else:
                todo.append(record)
        report.ids = [str(r.id) for r in todo]
        if dry_run or not todo:
            return report
        await ensure_topics(self.settings.bootstrap_servers, [self.names.dlq_replays],
                            partitions=1, replication=self.settings.replication,
                            config={"cleanup.policy": "compact"}, **client_security(self.settings))
        producer = AIOKafkaProducer(**self._client, acks="all", linger_ms=5,
                                    max_request_size=8 * 1024 * 1024)
        try:
            await producer.start()
            for start in range(0, len(todo), REPLAY_BATCH):
                batch = todo[start:start + REPLAY_BATCH]
                for record in batch:
                    await producer.send(record.entry["topic"], key=record.key,
                                        value=decode_b64(record.entry.get("value_b64")),
                                        headers=replay_headers(record))
                await producer.flush()
                # markers only after the batch is on the broker: a crash in between replays
                # that batch again on the next run (at least once), never loses it
                now = datetime.now(UTC).isoformat()
                for record in batch:
                    await producer.send(self.names.dlq_replays, key=str(record.id).encode(), value=orjson.dumps(
                        {"replayed_at": now, "target": record.entry["topic"],
                         "replays": int(record.entry.get("attempts") or 1)}))
                await producer.flush()
                report.replayed += len(batch)
                if progress is not None:
                    progress(len(batch))
        except KafkaError as exc:
            raise DlqToolError(f"replay stopped after {report.replayed} of {len(todo)} messages: {exc}") from None
        finally:
            await producer.stop()
        return report
