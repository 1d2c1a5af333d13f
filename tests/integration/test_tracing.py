"""Integration, real broker: one order's trace from its envelope to its command, history and DLQ.

The worker exports OTLP/HTTP to a collector this test serves on 127.0.0.1 (aiohttp,
decoding the protobuf export requests with opentelemetry-proto).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from app.brokers import free_port
from app.console.roles import hash_token
from app.demo_data import generate
from app.tracing import trace_id_of
from tests.integration.harness import PARTITIONS, Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # trace propagation: broker-independent, once

ORDER_TRACE = "0af7651916cd43dd8448eb211c80319c"
POISON_TRACE = "5c1d2e3f405162738495a6b7c8d9e0f1"
TOKEN = "test-token-tracing-0001"


def traceparent(trace_id: str) -> bytes:
    return f"00-{trace_id}-b7ad6b7169203331-01".encode()


class Collector:
    """The OTLP/HTTP trace endpoint of a collector: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    async def export(self, request: web.Request) -> web.Response:
        body = ExportTraceServiceRequest()
        body.ParseFromString(await request.read())
        for resource_spans in body.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes}
                    self.spans.append({"name": span.name, "trace_id": span.trace_id.hex(),
                                       "parent": span.parent_span_id.hex(), "service": service,
                                       "status": span.status.code, "attributes": attributes})
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    async def wait_for(self, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not check(self.spans):
            if time.monotonic() > deadline:
                raise AssertionError(f"spans not received in {timeout:.0f} s: "
                                     f"{[(s['name'], s['trace_id'], s['attributes']) for s in self.spans]}")
            await asyncio.sleep(0.2)


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, int]]:
    received = Collector()
    server = web.Application()
    server.router.add_post("/v1/traces", received.export)
    runner = web.AppRunner(server)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield received, port
    finally:
        await runner.cleanup()


async def _records(bootstrap: str, topic: str, until: Callable[[list[Any]], bool], timeout: float = 90.0) -> list[Any]:  # noqa: ASYNC109
    """Kafka records of `topic` with their headers, from the start, until `until(records)`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + timeout
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out on {topic} with {len(records)} records")
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_one_order_trace_from_envelope_to_command_history_and_dlq(
        pipeline: Pipeline, collector: tuple[Collector, int]) -> None:
    spans, port = collector
    (pipeline.tmp / "tokens.yaml").write_text(f"tokens:\n  - {{name: ada, role: admin, sha256: {hash_token(TOKEN)}}}\n")
    web_port = free_port()
    await asyncio.to_thread(pipeline.start_worker, web_port=web_port, extra_env={
        "ORDERHUB_TRACING": "otlp", "ORDERHUB_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_BSP_SCHEDULE_DELAY": "200", "ORDERHUB_TOKENS_FILE": str(pipeline.tmp / "tokens.yaml")})

    story = next(s for s in generate(20, seed=23) if s.fate == "paid")
    paid_envelope = story.sends[-1]  # WAIT_SELLER_SEND_GOODS: created already paid → one SHIP
    assert orjson.loads(paid_envelope.value)["payload"]["trade_fullinfo_get_response"]["trade"]["status"] \
        == "WAIT_SELLER_SEND_GOODS"
    producer = AIOKafkaProducer(bootstrap_servers=pipeline.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(pipeline.names.channel_orders, key=paid_envelope.key, value=paid_envelope.value,
                                     headers=[("traceparent", traceparent(ORDER_TRACE))])
        await producer.send_and_wait(pipeline.names.channel_orders, key=b"poison", value=b"not json",
                                     headers=[("traceparent", traceparent(POISON_TRACE))])
    finally:
        await producer.stop()

    # the command carries the envelope's trace
    (command,) = await _records(pipeline.bootstrap, pipeline.names.fulfillment_commands, lambda r: len(r) >= 1)
    value = orjson.loads(command.value)
    assert value["oli"] == story.oli and value["type"] == "SHIP"
    assert trace_id_of(command.headers) == ORDER_TRACE

    # so does the DLQ entry: in its headers (the step's context) and in the original headers it keeps
    (dead,) = await _records(pipeline.bootstrap, pipeline.names.dlq(pipeline.names.channel_orders),
                             lambda r: len(r) >= 1)
    assert trace_id_of(dead.headers) == POISON_TRACE
    entry = orjson.loads(dead.value)
    assert base64.b64decode(entry["headers"]["traceparent"]) == traceparent(POISON_TRACE)

    # each step is a span of the envelope's trace, naming the order
    def order_steps(received: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in received if s["trace_id"] == ORDER_TRACE}

    # (the history is written inside the route step: there is no separate history span)
    await spans.wait_for(lambda r: {"orderhub.ingest", "orderhub.route"} <= set(order_steps(r)))
    steps = order_steps(spans.spans)
    assert steps["orderhub.ingest"]["parent"] == "b7ad6b7169203331"  # child of the envelope's span
    for name in ("orderhub.ingest", "orderhub.route"):
        assert steps[name]["attributes"]["orderhub.oli"] == story.oli, (name, steps[name])
        assert steps[name]["service"] == "orderhub-worker"
    route = steps["orderhub.route"]["attributes"]
    assert route["orderhub.command_id"] == value["command_id"]
    assert route["orderhub.channel"] in ("taobao", "tmall")
    assert isinstance(steps["orderhub.route"]["attributes"]["orderhub.version"], int)
    await spans.wait_for(lambda r: any(s["name"] == "orderhub.ingest" and s["trace_id"] == POISON_TRACE
                                       and s["attributes"].get("orderhub.dead_lettered") for s in r))

    # the order's history names its trace
    url = f"http://127.0.0.1:{web_port}/api/orders/{quote(story.oli, safe='')}/history"
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        while True:
            async with session.get(url) as response:
                body = await response.json() if response.status == 200 else {}
            entries = body.get("entries") or []
            if entries or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
    assert entries, f"no history for {story.oli}"
    assert {e.get("trace_id") for e in entries} == {ORDER_TRACE}, entries
    # the route span names the order's version after the step (the command names the one that caused it)
    assert route["orderhub.version"] == max(e["version"] for e in entries) >= value["version"]

    # and the worker's log lines of the failed step carry the poison's trace id
    dead_lines = pipeline.log_entries('"order.dead_lettered"')
    assert [line.get("trace_id") for line in dead_lines] == [POISON_TRACE]
