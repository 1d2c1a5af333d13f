"""Per-event cost of the tracing hooks of one agent step: prints the median of 5 timings per mode.

One event = what `agents/wiring.py` and the route step do per input: open the step's span
from the input's headers (`step`), set the order's attributes (`tag`), and put the context
on two outputs (`inject`: the command and the order event). Modes:

- ``none``: ORDERHUB_TRACING=none (the default), the hooks return at once;
- ``sdk, no export``: the OpenTelemetry SDK records every span and sends it nowhere;
- ``sdk, batch export``: the same with the batch processor the worker uses, to an exporter
  that drops the spans (the export itself runs in the processor's thread);
- ``sdk, sampled out``: the input's traceparent says "not sampled" (ORDERHUB_TRACE_SAMPLE_PCT
  below 100 where the trace started): the context travels, nothing is recorded.

Figures are CPU time of the whole process (the export thread included) per event.

Run: .venv/bin/python bench/tracing_overhead.py [--events 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from app import tracing
from app.settings import Settings
from app.topic_names import TopicNames

NAMES = TopicNames("orderhub")


@dataclass
class Message:
    topic: str = NAMES.order_inputs
    partition: int = 1
    offset: int = 12345
    headers: Any = field(default_factory=lambda: [
        ("orderhub-origin-ts", b"1764079200000"),
        ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])


class Discard(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def one_event(message: Message) -> None:
    with tracing.step(message):
        tracing.tag(oli="tb-shop1-3312456789012345678", version=3, channel="taobao", event_type="payment",
                    outcome="applied", commands=1)
        for _ in range(2):
            headers = [("orderhub-origin-ts", b"1764079200000")]
            tracing.inject(headers)


def bare_event(message: Message) -> None:
    for _ in range(2):
        headers = [("orderhub-origin-ts", b"1764079200000")]  # noqa: F841 — what send() builds anyway


def per_event_us(fn: Any, events: int, message: Message | None = None) -> float:
    message = message or Message()
    timings = []
    for _ in range(5):
        t0 = time.process_time()  # CPU time of the process (with the export thread): robust on a busy machine
        for _ in range(events):
            fn(message)
        timings.append(time.process_time() - t0)
    return statistics.median(timings) / events * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    events = parser.parse_args(argv).events

    bare = per_event_us(bare_event, events)
    print(f"without hooks (baseline)      median {bare:6.2f} µs CPU/event")
    settings = Settings()
    tracing.setup_tracing(settings, service="bench")
    none = per_event_us(one_event, events)
    print(f"ORDERHUB_TRACING=none         median {none:6.2f} µs CPU/event  (+{none - bare:.2f} over the baseline)")
    tracing.setup_tracing(Settings(tracing="console"), service="bench", provider=TracerProvider())
    print(f"sdk, no export                median {per_event_us(one_event, events):6.2f} µs CPU/event")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    tracing.setup_tracing(Settings(tracing="console"), service="bench", provider=provider)
    print(f"sdk, batch export (discarded) median {per_event_us(one_event, events):6.2f} µs CPU/event")
    unsampled = Message(headers=[("orderhub-origin-ts", b"1764079200000"),
                                 ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")])
    print(f"sdk, sampled out              median {per_event_us(one_event, events, unsampled):6.2f} µs CPU/event")
    provider.shutdown()
    tracing.setup_tracing(settings, service="bench")


if __name__ == "__main__":
    main()
