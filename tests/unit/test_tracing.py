"""Tracing: W3C trace context through Kafka headers, step spans and their attributes, none-mode."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import tracing
from app.connectors.kafka import Outbox
from app.settings import Settings, SettingsError
from app.topic_names import TopicNames

NAMES = TopicNames("orderhub")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@dataclass
class Message:
    """The fields of a Faust message that tracing reads."""

    topic: str
    headers: Any = field(default_factory=list)
    partition: int = 0
    offset: int = 0


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.setup_tracing(Settings(tracing="console"), service="test", provider=provider)
    yield exporter
    tracing.setup_tracing(Settings(), service="test")


@pytest.fixture
def untraced() -> Iterator[None]:
    tracing.setup_tracing(Settings(), service="test")
    yield


def _hex_trace_id(span: Any) -> str:
    return trace.format_trace_id(span.context.trace_id)


def test_a_step_continues_the_trace_of_its_input_and_its_outputs_carry_it(spans: InMemorySpanExporter) -> None:
    message = Message(NAMES.channel_orders, [("orderhub-origin-ts", b"1"), ("traceparent", PARENT.encode())],
                      partition=2, offset=41)
    outputs: list[tuple[str, bytes]] = [("orderhub-origin-ts", b"1")]
    with tracing.step(message):
        tracing.tag(oli="tb-s1-1", channel="taobao", event_type="channel_order", version=None)
        tracing.inject(outputs)
        step_span_id = trace.get_current_span().get_span_context().span_id
    (span,) = spans.get_finished_spans()
    assert span.name == "orderhub.ingest"
    assert span.kind is trace.SpanKind.CONSUMER
    assert _hex_trace_id(span) == TRACE_ID
    assert span.parent is not None and span.parent.span_id == 0x00F067AA0BA902B7
    assert span.attributes["orderhub.oli"] == "tb-s1-1"
    assert span.attributes["orderhub.channel"] == "taobao"
    assert "orderhub.version" not in span.attributes  # None: not known at this step, not set
    assert span.attributes["messaging.destination.name"] == NAMES.channel_orders
    assert span.attributes["messaging.kafka.offset"] == 41
    traceparent = dict(outputs)["traceparent"].decode()
    assert traceparent == f"00-{TRACE_ID}-{trace.format_span_id(step_span_id)}-01"
    assert tracing.trace_id_of(outputs) == TRACE_ID


def test_headers_round_trip_through_a_producer_span_and_a_dict_carrier(spans: InMemorySpanExporter) -> None:
    with tracing.producing("orderhub.envelope", NAMES.channel_orders, oli="tb-s1-9") as headers:
        assert headers is not None
        started = trace.get_current_span().get_span_context()
    assert [name for name, _ in headers] == ["traceparent"]
    # Faust may hand headers over as a dict
    with tracing.step(Message(NAMES.order_inputs, dict(headers))):
        assert tracing.current_trace_id() == trace.format_trace_id(started.trace_id)
    producer, route = spans.get_finished_spans()
    assert producer.kind is trace.SpanKind.PRODUCER and producer.attributes["orderhub.oli"] == "tb-s1-9"
    assert route.name == "orderhub.route"
    assert route.parent is not None and route.parent.span_id == started.span_id


def test_inject_replaces_a_stale_traceparent(spans: InMemorySpanExporter) -> None:
    headers = [("traceparent", PARENT.encode())]
    with tracing.producing("orderhub.payment", NAMES.payments):
        tracing.inject(headers)
    assert len(headers) == 1 and tracing.trace_id_of(headers) != TRACE_ID


def test_an_input_without_traceparent_starts_a_trace_and_steps_are_named_by_topic(
        spans: InMemorySpanExporter) -> None:
    for topic in (NAMES.payments, NAMES.wms_events, NAMES.ops_commands, NAMES.alerts, "other.topic"):
        with tracing.step(Message(topic)):
            pass
    names = [s.name for s in spans.get_finished_spans()]
    assert names == ["orderhub.payments", "orderhub.wms", "orderhub.ops", "orderhub.alerts", "process other.topic"]
    assert all(s.parent is None for s in spans.get_finished_spans())


def test_dead_lettering_marks_the_step_span_as_failed(spans: InMemorySpanExporter) -> None:
    with tracing.step(Message(NAMES.channel_orders)):
        tracing.mark_failed(ValueError("not JSON"), stage="ingest")
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.attributes["orderhub.dead_lettered"] is True
    assert [e.name for e in span.events] == ["exception"]


def test_log_lines_in_a_step_carry_its_trace_id(spans: InMemorySpanExporter) -> None:
    assert tracing.add_trace_ids(None, "info", {"event": "outside"}) == {"event": "outside"}
    with tracing.step(Message(NAMES.channel_orders, [("traceparent", PARENT.encode())])):
        line = tracing.add_trace_ids(None, "debug", {"event": "order.ingested"})
    assert line["trace_id"] == TRACE_ID and len(line["span_id"]) == 16


def test_route_step_attributes_name_the_version_outcome_and_commands(spans: InMemorySpanExporter) -> None:
    @dataclass
    class Decision:  # the fields tag_decision reads
        order: Any
        outcome: str = "applied"
        commands: tuple[Any, ...] = ("SHIP",)

    @dataclass
    class State:
        version: int
        channel: str

    with tracing.step(Message(NAMES.order_inputs)):
        tracing.tag_decision("tb-s1-1", object(), None, Decision(order=State(3, "taobao")))  # type: ignore[arg-type]
    attributes = spans.get_finished_spans()[0].attributes
    assert attributes["orderhub.version"] == 3
    assert attributes["orderhub.event_type"] == "payment"
    assert attributes["orderhub.outcome"] == "applied" and attributes["orderhub.commands"] == 1


def test_none_mode_builds_no_span_and_adds_no_header(untraced: None) -> None:
    assert tracing.enabled is False
    message = Message(NAMES.channel_orders, [("traceparent", PARENT.encode())])
    context = tracing.step(message)
    assert context is tracing.step(message)  # one shared no-op object, nothing built per event
    with context:
        assert trace.get_current_span() is trace.INVALID_SPAN
        tracing.tag(oli="tb-s1-1")
        tracing.mark_failed(ValueError("x"), stage="ingest")
        assert tracing.current_trace_id() == ""
        assert tracing.add_trace_ids(None, "info", {"event": "e"}) == {"event": "e"}
    headers = [("orderhub-origin-ts", b"1")]
    tracing.inject(headers)
    assert headers == [("orderhub-origin-ts", b"1")]
    with tracing.producing("orderhub.envelope", NAMES.channel_orders) as produced:
        assert produced is None
    with tracing.envelope(NAMES.channel_orders, "taobao", "s1", "1") as produced:
        assert produced is None
    # reading a traceparent needs no set-up (history, tools)
    assert tracing.trace_id_of(message.headers) == TRACE_ID
    assert tracing.trace_id_of([("traceparent", b"garbage")]) == ""


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, topic: str, **kwargs: Any) -> Any:
        self.sent.append({"topic": topic, **kwargs})
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


async def test_the_connector_envelope_starts_the_order_trace(spans: InMemorySpanExporter) -> None:
    producer = FakeProducer()
    outbox = Outbox(producer, NAMES)  # type: ignore[arg-type]
    await outbox.envelope("taobao", "s1", "77", {"tid": 77})
    (span,) = spans.get_finished_spans()
    assert span.name == "orderhub.envelope" and span.parent is None
    assert span.attributes["orderhub.oli"] == "tb-s1-77"
    (sent,) = producer.sent
    assert tracing.trace_id_of(sent["headers"]) == _hex_trace_id(span)


async def test_an_untraced_connector_sends_no_headers(untraced: None) -> None:
    producer = FakeProducer()
    await Outbox(producer, NAMES).envelope("taobao", "s1", "77", {"tid": 77})  # type: ignore[arg-type]
    assert producer.sent[0]["headers"] is None


def test_tracing_settings_are_validated() -> None:
    assert Settings.from_env({}).tracing == "none"
    with pytest.raises(SettingsError, match="ORDERHUB_TRACING must be one of none, console, otlp"):
        Settings.from_env({"ORDERHUB_TRACING": "jaeger"})
    with pytest.raises(SettingsError, match="ORDERHUB_OTLP_ENDPOINT"):
        Settings.from_env({"ORDERHUB_TRACING": "otlp", "ORDERHUB_OTLP_ENDPOINT": "127.0.0.1:4318"})
    with pytest.raises(SettingsError, match="ORDERHUB_TRACE_SAMPLE_PCT"):
        Settings.from_env({"ORDERHUB_TRACE_SAMPLE_PCT": "101"})
    assert tracing.otlp_traces_url("http://127.0.0.1:4318/") == "http://127.0.0.1:4318/v1/traces"
    assert tracing.otlp_traces_url("https://c.example/v1/traces") == "https://c.example/v1/traces"


def test_console_exporter_writes_one_json_span_per_line() -> None:
    out = io.StringIO()
    provider = tracing._sdk_provider(Settings(tracing="console", app_id="hub"), "orderhub-worker", out)
    try:
        with provider.get_tracer("t").start_as_current_span("orderhub.ingest"):
            pass
        provider.force_flush()
    finally:
        provider.shutdown()
    (line,) = out.getvalue().splitlines()
    span = json.loads(line)
    assert span["name"] == "orderhub.ingest"
    assert span["resource"]["attributes"]["service.name"] == "orderhub-worker"
    assert span["resource"]["attributes"]["service.namespace"] == "hub"


def test_an_unsampled_trace_still_travels_and_names_its_trace_id() -> None:
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.0)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.setup_tracing(Settings(tracing="console"), service="test", provider=provider)
    try:
        unsampled = f"00-{TRACE_ID}-00f067aa0ba902b7-00"
        outputs: list[tuple[str, bytes]] = []
        with tracing.step(Message(NAMES.channel_orders, [("traceparent", unsampled.encode())])):
            tracing.tag(oli="tb-s1-1")
            tracing.inject(outputs)
            assert tracing.current_trace_id() == TRACE_ID
        with tracing.producing("orderhub.envelope", NAMES.channel_orders) as headers:
            assert headers and not int(dict(headers)["traceparent"][-2:], 16) & 1  # flags: not sampled
        assert exporter.get_finished_spans() == ()
        assert tracing.trace_id_of(outputs) == TRACE_ID and dict(outputs)["traceparent"].endswith(b"-00")
    finally:
        tracing.setup_tracing(Settings(), service="test")
