"""Faust wiring shared by the agents: sending outputs, dead-lettering, publishing a `Decision`.

Under exactly_once every output of an event must join the Kafka transaction that commits
that event's source offset. Faust's `Topic.send` picks the transaction by the
*destination* partition (faust/transport/consumer.py `TransactionManager.send`), so an
output keyed differently from its input (or on a topic in another assignor group) lands
in another partition's transaction and is committed, or aborted, independently of its
input: duplicates after a crash, or lost outputs. `send` below names the source
partition's transactional id explicitly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from agents.history import record as record_history
from app import codec, metrics, tracing
from app.dlq import dlq_entry, encode_entry
from app.domain.errors import OrderhubError
from app.domain.transitions import Decision
from app.logs import get_logger
from app.main import app, commit_gate, delivery_guard, settings
from app.offset_trace import processed as trace_processed
from app.retries import RetryPolicy
from app.topics import alerts_topic, dlq_topics, fulfillment_commands_topic, order_events_topic

# bound once (the worker configures logging before the agents are imported): calls skip the lazy proxy
log = get_logger("orderhub.agents").bind()
#: transient failures (broker timeouts, a geocoder that does not answer) are tried again (app/retries.py)
retry_policy = RetryPolicy.from_settings(settings)


def utcnow() -> datetime:
    return datetime.now(UTC)


async def consume(stream: Any, handle: Callable[[Any], Awaitable[None]]) -> None:
    """Run `handle` on each event, one at a time, inside the commit gate.

    `handle` dead-letters what it cannot process. Anything that still escapes (the broker
    refused an output, the DLQ itself failed) stops the worker instead of letting Faust
    restart the agent and skip the offset (faust-streaming#315): after a restart the
    event is processed again from the last commit, so nothing is lost.
    """
    gated = app.in_transaction  # only exactly_once commits need to wait for events in flight
    commit_gate.guard(getattr(stream.channel, "topics", ()))  # only the acks below count (finding 15)
    async for event in stream.events():
        metrics.events_in.labels(event.message.topic, metrics.channel_of_key(event.message.key)).inc()
        try:
            with tracing.step(event.message):
                if gated:
                    async with commit_gate.processing(event, current=still_current) as go:
                        if go:
                            await handle(event)
                            trace_processed(event.message)
                else:
                    await handle(event)
                    commit_gate.ack(event)
                    trace_processed(event.message)
        except Exception as exc:
            log.critical("worker.crashing", topic=event.message.topic, partition=event.message.partition,
                         offset=event.message.offset, error=repr(exc), exc_info=True)
            await app.crash(exc)
            raise


def still_current(event: Any) -> bool:
    """Whether an event may still be processed: fetched in the current generation and no
    rebalance under way. Faust checks this when a stream hands an event out; an agent that
    then waits for the commit gate can see a rebalance begin and end meanwhile. A skipped
    event does not count as acked (the stream's own ack of it is refused, `CommitGate.counts`),
    so it is read again by whoever owns the partition now."""
    return bool(app.flow_control.is_active()) and event.message.generation_id == app.consumer_generation_id


async def send(topic: Any, key: bytes | None, value: bytes, source: Any) -> None:
    """Send one output of the event `source` (a Faust event) within its transaction, if any.

    At least once, the output goes straight to the producer rather than through
    `Topic.send` (its channel, callbacks and sensors cost more than the send): the
    consumer flushes the producer before it commits offsets, so an event's outputs are
    written before its offset is committed, and a failed delivery stops the worker
    (`DeliveryGuard`) instead of being committed past.

    A send the producer refuses transiently (`KafkaTimeoutError`: no metadata, buffer full)
    is tried again with backoff; if it still fails the error stops the worker (`consume`),
    which resumes from its last commit: an event whose outputs are partly out is never
    dead-lettered, so a message is never both processed and in the DLQ.
    """
    try:
        await _send_once(topic, key, value, source)
    except Exception as exc:  # noqa: BLE001 — retry_after raises it again unless it is transient
        await retry_policy.retry_after(exc, lambda: _send_once(topic, key, value, source), what="send")


async def _send_once(topic: Any, key: bytes | None, value: bytes, source: Any) -> None:
    headers = [(metrics.ORIGIN_HEADER, str(origin_ms(source)).encode())]
    tracing.inject(headers)
    if app.in_transaction:
        message = source.message
        group = app.assignor.group_for_topic(message.topic)
        transactional_id = f"{app.conf.id}-{group}-{message.partition}"
        await app.consumer.transactions.producer.send(
            topic.get_topic_name(), key, value, None, None, headers, transactional_id=transactional_id)
    else:
        delivery_guard.watch(await app.producer.send(topic.get_topic_name(), key, value, None, None, headers))
    metrics.events_out.labels(topic.get_topic_name(), metrics.channel_of_key(key)).inc()


def origin_ms(source: Any) -> int:
    """When the first input of this chain reached Kafka: the source's origin header, else its timestamp."""
    headers = source.message.headers
    for name, value in headers.items() if isinstance(headers, dict) else headers or ():
        if name == metrics.ORIGIN_HEADER and value:
            try:
                return int(value)
            except ValueError:
                break
    return int((source.message.timestamp or utcnow().timestamp()) * 1000)


async def dead_letter(event: Any, exc: BaseException, *, stage: str) -> None:
    """Send the event's original bytes and the reason to `<topic>.dlq`; the agent goes on."""
    message = event.message
    entry = dlq_entry(topic=message.topic, partition=message.partition, offset=message.offset,
                      key=message.key, value=message.value, headers=message.headers,
                      exc=exc, stage=stage)
    level = log.warning if isinstance(exc, OrderhubError) else log.error
    tracing.mark_failed(exc, stage=stage)
    level("order.dead_lettered", stage=stage, topic=message.topic, partition=message.partition,
          offset=message.offset, error_type=entry["error_type"], error=entry["error"][:300],
          exc_info=not isinstance(exc, OrderhubError))
    await send(dlq_topics[message.topic], message.key, encode_entry(entry), event)
    metrics.dlq_messages.labels(message.topic, entry["error_type"]).inc()


async def publish(decision: Decision, source: Any) -> None:
    """Emit what a decision says, in order: commands, order events, alerts; then record the
    events in the order's history."""
    for command in decision.commands:
        tracing.tag(command_id=command.command_id, warehouse=command.warehouse, carrier=command.carrier)
        await send(fulfillment_commands_topic, command.oli.encode(), codec.encode(command), source)
        if command.attempt > 1:  # the stuck-order watchdog's re-send of the same command_id
            metrics.recommands.inc()
        elif command.type == "SHIP":
            metrics.payment_to_command.observe(max(0.0, utcnow().timestamp() - origin_ms(source) / 1000))
    events = []
    for order_event in decision.events:
        encoded = codec.encode(order_event)
        events.append(encoded)
        await send(order_events_topic, order_event.oli.encode(), encoded, source)
        if order_event.type == "OrderHeld" and order_event.order.holds:
            metrics.holds.labels(order_event.order.holds[-1].reason).inc()
    for alert in decision.alerts:
        await send(alerts_topic, alert.kind.encode(), codec.encode(alert), source)
        metrics.alerts.labels(alert.kind).inc()
        log.warning("order.alert", oli=alert.oli, kind=alert.kind, detail=alert.detail)
    record_history(events=events)
