"""Integration, real broker: a consumer group that stops committing raises a lag alert within 60 s
(default lag settings) that reaches a DingTalk-style webhook, `orderhub lag` shows it, and
/metrics reflects the orders that flowed."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from app.demo_data import generate, poison_messages
from tests.integration.harness import PARTITIONS, Pipeline, free_port
from tests.integration.test_pipeline import _messages

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]  # the stalled-committer scenario, on Apache Kafka


async def _commit_once_then_stop(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """A 'WMS' consumer group that commits one position per partition and then never again."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        committed = {tp.partition: min(1, ends[tp]) for tp in tps}
        await consumer.commit({tp: committed[tp.partition] for tp in tps})
        return committed
    finally:
        await consumer.stop()


class Webhook:
    """A group robot on 127.0.0.1 that records what it is sent and answers like DingTalk."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Webhook:
        async def hook(request: web.Request) -> web.Response:
            self.received.append(orjson.loads(await request.read()))
            return web.json_response({"errcode": 0, "errmsg": "ok"})

        app = web.Application()
        app.router.add_post("/robot/send", hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token=test"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_stalled_group_raises_a_lag_alert_within_60s_and_metrics_show_the_flow(pipeline: Pipeline) -> None:
    async with Webhook() as robot:
        await _scenario(pipeline, robot)


async def _scenario(pipeline: Pipeline, robot: Webhook) -> None:
    names = pipeline.names
    wms_group = f"{pipeline.prefix}-wms"
    port = free_port()
    await asyncio.to_thread(pipeline.start_worker, web_port=port, extra_env={
        "ORDERHUB_LAG_GROUPS": wms_group, "ORDERHUB_ALERT_WEBHOOK_URL": robot.url,
        "ORDERHUB_ALERT_WEBHOOK_FORMAT": "dingtalk", "ORDERHUB_ALERT_WEBHOOK_SECRET": "SECtest"})

    stories = generate(120, seed=17)
    paid = {s.oli for s in stories if s.fate == "paid"}
    await pipeline.produce(_messages(pipeline, stories) + [(names.channel_orders, k, v) for _, k, v in poison_messages()])
    t0 = time.monotonic()
    await pipeline.collect(names.fulfillment_commands, until=lambda r: {c["oli"] for c in r} >= paid,
                           timeout=90, settle=0)
    print(f"\n[lag] {len(paid)} paid orders commanded in {time.monotonic() - t0:.1f} s")

    committed = await _commit_once_then_stop(pipeline.bootstrap, wms_group, names.fulfillment_commands)
    stopped_at = time.monotonic()
    assert sum(committed.values()) >= 1

    def stalled(alerts: list[dict]) -> bool:
        return any(a["kind"] == "consumer_stalled" and a.get("group") == wms_group for a in alerts)

    alerts = await pipeline.collect(names.alerts, until=stalled, timeout=75, settle=0)
    detected_s = time.monotonic() - stopped_at
    print(f"\n[lag] stall of {wms_group} detected {detected_s:.1f} s after its last commit")
    assert not any(a.get("group") == pipeline.prefix for a in alerts), alerts  # the healthy worker group
    alert = next(a for a in alerts if a["kind"] == "consumer_stalled")
    assert detected_s < 60, f"stall detected after {detected_s:.0f} s"
    assert alert["topic"] == names.fulfillment_commands and alert["lag"] > 0 and alert["partitions"]
    assert alert["oli"] == "" and alert["schema_version"] == 1

    # forwarded to the robot once, as DingTalk markdown (and no second message for the same stall)
    deadline = time.monotonic() + 30
    while not any("consumer_stalled" in m["markdown"]["title"] for m in robot.received):
        assert time.monotonic() < deadline, robot.received
        await asyncio.sleep(0.2)
    stall_messages = [m for m in robot.received if m["markdown"]["title"] == "orderhub consumer_stalled"]
    assert len(stall_messages) == 1 and wms_group in stall_messages[0]["markdown"]["text"]

    out = await asyncio.to_thread(pipeline.cli, "lag", "--json", "--group", wms_group, "--interval", "1")
    assert out.returncode == 0, out.stderr
    report = orjson.loads(out.stdout)
    rows = [r for r in report["partitions"] if r["topic"] == names.fulfillment_commands]
    assert {r["partition"] for r in rows} == set(committed)
    assert sum(r["lag"] for r in rows) == sum(r["end"] for r in rows) - sum(committed.values()) > 0
    assert all(r["rate"] == 0 for r in rows)
    table = await asyncio.to_thread(pipeline.cli, "lag", "--group", wms_group, "--interval", "0.5")
    assert table.returncode == 0 and "LOG-END" in table.stdout and wms_group in table.stdout

    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        samples = _samples(await resp.text())
    channel_in = sum(_value(samples, "orderhub_events_in_total", topic=names.channel_orders, channel=c) or 0
                     for c in ("taobao", "tmall"))
    assert channel_in >= len(stories)
    ship_out = sum(_value(samples, "orderhub_events_out_total", topic=names.fulfillment_commands, channel=c) or 0
                   for c in ("taobao", "tmall"))
    assert ship_out >= len(paid)
    assert (_value(samples, "orderhub_payment_to_command_seconds_count") or 0) >= len(paid)
    dlq = sum(v for (name, labels), v in samples.items() if name == "orderhub_dlq_messages_total")
    assert dlq == len(poison_messages())
    assert _value(samples, "orderhub_dlq_messages_total", topic=names.channel_orders, reason="decode_error")
    assert _value(samples, "orderhub_stuck_orders") == 0
    assert _value(samples, "orderhub_manual_commands_total", type="hold") == 0
    assert _value(samples, "orderhub_alerts_total", kind="consumer_stalled") == 1
    assert (_value(samples, "orderhub_alert_webhook_messages_total", outcome="sent") or 0) >= 1
    assert _value(samples, "orderhub_alert_webhook_messages_total", outcome="failed") == 0
    wms_lag = sum(v for (name, labels), v in samples.items()
                  if name == "orderhub_consumer_lag" and ("group", wms_group) in labels)
    assert wms_lag >= len(paid) - sum(committed.values())
