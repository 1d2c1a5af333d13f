"""Offset tracing (ORDERHUB_TRACE_OFFSETS=1): what Faust fetched, delivered, acked, sought and committed.

For diagnosing lost or stuck input partitions (docs/reliability.md); off by default, as it
logs several lines per record. Each line is a `trace.*` event: `fetched` (offset ranges per
partition returned by a fetch), `deliver`/`delivered` (a record handed to the streams),
`processed` (an agent finished it), `ack`, `gap` (offsets Faust counts as done without a
record), `pause`/`resume`, `flow.stop`/`flow.resume`, `seek.start`/`seek.done` (read and
committed offsets after the seek), `recovery` (recovery steps), `commit` and `no_commit`
(a partition with acknowledged records that Faust will not commit).
"""

from __future__ import annotations

from typing import Any

from app.logs import get_logger

log = get_logger("orderhub.trace")
ENABLED = False


def _tp(tp: Any) -> str:
    return f"{tp.topic}[{tp.partition}]"


def _offsets(mapping: Any) -> dict[str, Any]:
    return {_tp(tp): offset for tp, offset in dict(mapping).items()}


def processed(message: Any) -> None:
    if ENABLED:
        log.info("trace.processed", tp=f"{message.topic}[{message.partition}]", offset=message.offset)


def install(enabled: bool) -> None:  # noqa: C901 — one wrapper per traced method, nothing shared
    global ENABLED
    if not enabled or ENABLED:
        return
    ENABLED = True
    from faust.tables.recovery import Recovery
    from faust.transport.conductor import Conductor
    from faust.transport.consumer import Consumer
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    add_gap = Consumer._add_gap

    async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        log.info("trace.gap", tp=_tp(tp), start=offset_from, end=offset_to,
                 committed=self._committed_offset.get(tp))
        await add_gap(self, tp, offset_from, offset_to)

    perform_seek = Consumer.perform_seek

    async def traced_perform_seek(self: Any) -> None:
        log.info("trace.seek.start", active=sorted(map(_tp, self._active_partitions or ())),
                 paused=sorted(map(_tp, self._paused_partitions)))
        await perform_seek(self)
        log.info("trace.seek.done", read=_offsets(self._read_offset), committed=_offsets(self._committed_offset))

    pause = Consumer.pause_partitions
    resume = Consumer.resume_partitions

    def pause_partitions(self: Any, tps: Any) -> None:
        tps = set(tps)
        log.info("trace.pause", tps=sorted(map(_tp, tps)))
        pause(self, tps)

    def resume_partitions(self: Any, tps: Any) -> None:
        tps = set(tps)
        log.info("trace.resume", tps=sorted(map(_tp, tps)))
        resume(self, tps)

    stop_flow = Consumer.stop_flow
    resume_flow = Consumer.resume_flow

    def traced_stop_flow(self: Any) -> None:
        log.info("trace.flow.stop")
        stop_flow(self)

    def traced_resume_flow(self: Any) -> None:
        log.info("trace.flow.resume", active=sorted(map(_tp, self._active_partitions or ())))
        resume_flow(self)

    ack = Consumer.ack

    def traced_ack(self: Any, message: Any) -> bool:
        was = message.acked
        result = ack(self, message)
        if not was:
            log.info("trace.ack", tp=_tp(message.tp), offset=message.offset, counted=result,
                     committed=self._committed_offset.get(message.tp))
        return result

    new_offset = Consumer._new_offset

    def traced_new_offset(self: Any, tp: Any) -> Any:
        acked = list(self._acked.get(tp) or ())
        result = new_offset(self, tp)
        if acked and result is None:
            log.info("trace.no_commit", tp=_tp(tp), committed=self._committed_offset.get(tp),
                     acked_min=min(acked), acked_max=max(acked), acked_n=len(acked))
        return result

    commit_offsets = Consumer._commit_offsets

    async def traced_commit_offsets(self: Any, offsets: Any, start_new_transaction: bool = True) -> bool:
        result = await commit_offsets(self, offsets, start_new_transaction)
        log.info("trace.commit", offsets=_offsets(offsets), ok=result)
        return result

    fetch = AIOKafkaConsumerThread._fetch_records

    async def _fetch_records(self: Any, consumer: Any, active_partitions: Any, timeout: Any = None,  # noqa: ASYNC109
                             max_records: Any = None) -> Any:
        records = await fetch(self, consumer, active_partitions, timeout=timeout, max_records=max_records)
        if records:
            log.info("trace.fetched", ranges={_tp(tp): [recs[0].offset, recs[-1].offset, len(recs)]
                                              for tp, recs in records.items() if recs})
        return records

    compile_handler = Conductor._compile_message_handler

    def _compile_message_handler(self: Any) -> Any:
        on_message = compile_handler(self)

        async def traced_on_message(message: Any) -> None:
            log.info("trace.deliver", tp=_tp(message.tp), offset=message.offset,
                     generation=message.generation_id)
            await on_message(message)
            log.info("trace.delivered", tp=_tp(message.tp), offset=message.offset)

        return traced_on_message

    for name in ("on_recovery_completed", "_resume_streams"):
        original = getattr(Recovery, name)

        def wrap(original: Any, name: str) -> Any:
            async def traced(self: Any, generation_id: int = 0) -> None:
                log.info("trace.recovery", step=name, phase="start", generation=generation_id,
                         app_generation=self.app.consumer_generation_id)
                try:
                    await original(self, generation_id)
                except BaseException as exc:
                    log.info("trace.recovery", step=name, phase="raised", generation=generation_id, error=repr(exc))
                    raise
                log.info("trace.recovery", step=name, phase="end", generation=generation_id)
            return traced

        setattr(Recovery, name, wrap(original, name))

    Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    Consumer.perform_seek = traced_perform_seek  # type: ignore[method-assign]
    Consumer.pause_partitions = pause_partitions  # type: ignore[method-assign]
    Consumer.resume_partitions = resume_partitions  # type: ignore[method-assign]
    Consumer.stop_flow = traced_stop_flow  # type: ignore[method-assign]
    Consumer.resume_flow = traced_resume_flow  # type: ignore[method-assign]
    Consumer.ack = traced_ack  # type: ignore[method-assign]
    Consumer._new_offset = traced_new_offset  # type: ignore[method-assign]
    Consumer._commit_offsets = traced_commit_offsets  # type: ignore[method-assign]
    AIOKafkaConsumerThread._fetch_records = _fetch_records  # type: ignore[method-assign]
    Conductor._compile_message_handler = _compile_message_handler  # type: ignore[method-assign]
