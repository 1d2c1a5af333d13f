"""Tracing: OpenTelemetry spans for each processing step, W3C trace context in Kafka headers.

`ORDERHUB_TRACING` picks the exporter: ``none`` (default), ``console`` (one JSON span per
line on stdout) or ``otlp`` (OTLP/HTTP to ``ORDERHUB_OTLP_ENDPOINT``). A process calls
`setup_tracing` once at start; until then, and with ``none``, every function here returns
at its first line: no span, context or header is built, so the per-event cost is a few
function calls (bench/tracing_overhead.py).

The trace starts where an order enters Kafka (the connectors' envelope, the demo's
producer: `producing`); each agent step continues it from the input's ``traceparent``
header (`step`), and every output the step sends carries the step's context (`inject`),
so commands, order events, audit entries and DLQ entries stay in the input's trace.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import IO, TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter, Setter

from app.topic_names import TopicNames

if TYPE_CHECKING:
    from app.domain.model import Order
    from app.domain.transitions import Decision
    from app.settings import Settings

# opentelemetry.propagate (it scans the installed packages' entry points) and the SDK are
# imported on first use: every orderhub command imports this module through app.logs.

__all__ = [
    "TRACEPARENT", "add_trace_ids", "current_trace_id", "enabled", "envelope", "extract", "inject", "mark_failed",
    "producing", "setup_tracing", "step", "step_names", "tag", "tag_decision", "trace_id_of",
]

TRACEPARENT = "traceparent"
#: attribute names of the orderhub spans (besides OpenTelemetry's `messaging.*`)
ATTRIBUTES = {"oli": "orderhub.oli", "version": "orderhub.version", "channel": "orderhub.channel",
              "event_type": "orderhub.event_type", "outcome": "orderhub.outcome",
              "command_id": "orderhub.command_id", "commands": "orderhub.commands",
              "warehouse": "orderhub.warehouse", "carrier": "orderhub.carrier", "stage": "orderhub.stage"}

#: False until `setup_tracing` installs an exporter; every hook checks it first
enabled = False
_tracer: trace.Tracer | None = None
_steps: dict[str, str] = {}
_NOOP: AbstractContextManager[Any] = nullcontext()
_NO_HEADERS: AbstractContextManager[Any] = nullcontext(None)


def step_names(names: TopicNames) -> dict[str, str]:
    """Input topic → the name of the span of the step that consumes it."""
    return {names.channel_orders: "orderhub.ingest", names.payments: "orderhub.payments",
            names.order_inputs: "orderhub.route", names.order_inputs_paid: "orderhub.route",
            names.wms_events: "orderhub.wms",
            names.ops_commands: "orderhub.ops", names.alerts: "orderhub.alerts"}


def otlp_traces_url(endpoint: str) -> str:
    """``ORDERHUB_OTLP_ENDPOINT`` is the collector's base URL (like OTEL_EXPORTER_OTLP_ENDPOINT)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def setup_tracing(settings: Settings, *, service: str, provider: Any = None, console_out: IO[str] | None = None) -> None:
    """Install the exporter `settings` ask for (``none``: nothing at all).

    `provider` replaces the SDK provider built here (tests pass one with an in-memory exporter);
    `console_out` is where ``console`` writes spans (stdout by default).
    """
    global enabled, _tracer
    if settings.tracing == "none" and provider is None:
        enabled, _tracer = False, None
        return
    if provider is None:
        provider = _sdk_provider(settings, service, console_out or sys.stdout)
        trace.set_tracer_provider(provider)  # once per process; OpenTelemetry warns on a second call
    _steps.clear()
    _steps.update(step_names(TopicNames(settings.topic_prefix)))
    _tracer = provider.get_tracer("orderhub")
    enabled = True


def _sdk_provider(settings: Settings, service: str, console_out: IO[str]) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from app import __version__

    exporter: Any
    if settings.tracing == "console":
        exporter = ConsoleSpanExporter(out=console_out, formatter=lambda span: span.to_json(indent=None) + "\n")
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(settings.otlp_endpoint))
    provider = TracerProvider(
        # a trace's sampling is decided where it starts; the workers follow the traceparent's flag
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_pct / 100)),
        resource=Resource.create({"service.name": service, "service.version": __version__,
                                  "service.namespace": settings.app_id}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


# ------------------------------------------------------------ Kafka headers as a carrier


class _HeadersGetter(Getter[Any]):
    """Kafka headers: a list of (name, bytes) pairs (aiokafka, Faust) or a dict."""

    def get(self, carrier: Any, key: str) -> list[str] | None:
        values = [v.decode("latin-1") if isinstance(v, bytes) else str(v)
                  for k, v in _items(carrier) if k == key and v is not None]
        return values or None

    def keys(self, carrier: Any) -> list[str]:
        return [k for k, _ in _items(carrier)]


class _HeadersSetter(Setter[list[tuple[str, bytes]]]):
    def set(self, carrier: list[tuple[str, bytes]], key: str, value: str) -> None:
        carrier[:] = [(k, v) for k, v in carrier if k != key]
        carrier.append((key, value.encode("latin-1")))


def _items(headers: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(headers, Mapping):
        return headers.items()
    return headers or ()


_GETTER = _HeadersGetter()
_SETTER = _HeadersSetter()


def extract(headers: Any) -> Any:
    """The OpenTelemetry context that Kafka `headers` carry (an empty one without a traceparent)."""
    from opentelemetry import propagate

    return propagate.extract(headers, getter=_GETTER)


def inject(headers: list[tuple[str, bytes]]) -> None:
    """Add the current span's context (``traceparent``) to the outgoing `headers`, when tracing."""
    if enabled:
        from opentelemetry import propagate

        propagate.inject(headers, setter=_SETTER)


def trace_id_of(headers: Any) -> str:
    """The trace id (32 hex digits) in `headers`' traceparent, or ""; works without tracing set up."""
    context = trace.get_current_span(extract(headers)).get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else ""


# ------------------------------------------------------------ spans


def step(message: Any) -> AbstractContextManager[Any]:
    """The span of one agent step on one Kafka message, a child of the message's traceparent."""
    if not enabled:
        return _NOOP
    assert _tracer is not None
    topic = message.topic
    return _tracer.start_as_current_span(
        _steps.get(topic) or f"process {topic}", context=extract(message.headers), kind=trace.SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.operation.type": "process",
                    "messaging.destination.name": topic,
                    "messaging.destination.partition.id": str(message.partition),
                    "messaging.kafka.offset": message.offset})


@contextmanager
def producing(name: str, topic: str, **attributes: Any) -> Iterator[list[tuple[str, bytes]] | None]:
    """A producer span where a trace starts; yields the headers to send (None when not tracing)."""
    if not enabled:
        yield None
        return
    assert _tracer is not None
    with _tracer.start_as_current_span(name, kind=trace.SpanKind.PRODUCER, attributes={
            "messaging.system": "kafka", "messaging.operation.type": "send",
            "messaging.destination.name": topic, **_attributes(attributes)}):
        headers: list[tuple[str, bytes]] = []
        inject(headers)
        yield headers


def envelope(topic: str, channel: str, shop_id: str, external_id: str) -> AbstractContextManager[Any]:
    """`producing` the envelope of a platform order: the span where the order's trace starts."""
    if not enabled:
        return _NO_HEADERS
    from app.domain.identity import make_oli

    try:
        oli = make_oli(channel, shop_id, external_id)
    except ValueError:
        oli = None  # the ingest step dead-letters it; the trace still shows where it came from
    return producing("orderhub.envelope", topic, oli=oli, channel=channel, shop_id=shop_id,
                     external_id=external_id, event_type="channel_order")


def tag(**attributes: Any) -> None:
    """Set orderhub attributes (oli, version, channel, event_type, ...) on the current step's span."""
    if enabled:
        trace.get_current_span().set_attributes(_attributes(attributes))


def tag_decision(oli: str, item: Any, order: Order | None, decision: Decision) -> None:
    """`tag` the route/wms step with what it decided: the order's version after the input, outcome, commands."""
    if not enabled:
        return
    from app.domain.model import Order, WmsEvent

    state = decision.order or order
    tag(oli=oli, version=state.version if state else None, channel=state.channel if state else None,
        event_type=item.event.value if isinstance(item, WmsEvent) else
        "channel_order" if isinstance(item, Order) else "payment",
        outcome=decision.outcome, commands=len(decision.commands))


def _attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {ATTRIBUTES.get(k, "orderhub." + k): v for k, v in attributes.items() if v is not None and v != ""}


def mark_failed(exc: BaseException, *, stage: str) -> None:
    """The current step dead-lettered its input: an error on its span."""
    if enabled:
        span = trace.get_current_span()
        span.record_exception(exc)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"dead-lettered at {stage}"))
        span.set_attribute("orderhub.dead_lettered", True)


def current_trace_id() -> str:
    """The current span's trace id (32 hex digits), or "" when not tracing."""
    if not enabled:
        return ""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else ""


def add_trace_ids(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: `trace_id` and `span_id` of the span a log line is written in."""
    if enabled and "trace_id" not in event_dict:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event_dict["trace_id"] = trace.format_trace_id(context.trace_id)
            event_dict["span_id"] = trace.format_span_id(context.span_id)
    return event_dict
