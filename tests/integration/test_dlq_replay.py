"""Integration, real broker: poison → DLQ → fix → replay → processed; replay of a still-bad message
returns it to the DLQ with attempts + 1; `orderhub dlq` and `/api/dlq` on a live worker."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest

from app import codec
from app.channels import default_registry
from app.demo_data import generate
from app.domain import transitions
from tests.integration.harness import Pipeline, free_port

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # the replay round trip: once here; test_dlq_burst replays on Apache Kafka


def _paid_channel_order(seed: int = 41) -> tuple[str, bytes, bytes, str]:
    """(oli, key, envelope) of a channel order that arrives already paid, and the SHIP command_id
    the worker will give it (computed with the same pure code the worker runs)."""
    story = next(s for s in generate(20, seed=seed) if s.fate == "paid")
    send = next(s for s in story.sends if s.kind == "channel_order" and b"WAIT_SELLER_SEND_GOODS" in s.value)
    envelope = codec.decode_envelope(send.value)
    order = default_registry().get(envelope.channel).adapt(envelope.payload, shop_id=envelope.shop_id)
    decision = transitions.apply_channel_update(None, order, (), datetime.now(UTC), transitions.RoutingDefaults())
    command_id = next(c.command_id for c in decision.commands if c.type == "SHIP")
    return story.oli, send.key, send.value, command_id


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    async with session.get(url) as resp:
        return resp.status, orjson.loads(await resp.read())


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, dict]:
    async with session.post(url, data=body) as resp:
        return resp.status, orjson.loads(await resp.read())


async def _wait_for_dlq(p: Pipeline, session: aiohttp.ClientSession, base: str, count: int,
                        timeout: float = 60) -> dict:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    last: object = None
    while True:
        try:
            status, body = await _get(session, f"{base}/api/dlq")
            if status == 200 and body["count"] >= count:
                return body
            last = (status, body)
        except aiohttp.ClientError as exc:
            last = exc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"DLQ did not reach {count} entries in {timeout:.0f} s; last answer {last!r}; "
                                 f"worker log:\n{p.log_tail()}")
        await asyncio.sleep(0.5)


async def test_poison_fix_replay_round_trip(pipeline: Pipeline) -> None:
    names = pipeline.names
    oli, order_key, order_value, command_id = _paid_channel_order()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(pipeline.start_worker, web_port=port)

    # a WMS ack that arrives before its order (unknown_order), and garbage that stays garbage
    ack = orjson.dumps({"command_id": command_id, "oli": oli, "event": "ACCEPTED",
                        "at": "2026-11-11T02:00:05+00:00", "reason": ""})
    await pipeline.produce([(names.wms_events, oli.encode(), ack),
                            (names.channel_orders, b"garbage-key", b"\x00not json")])
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        listed = await _wait_for_dlq(pipeline, http, base, 2)
        by_type = {e["error_type"]: e for e in listed["entries"]}
        assert set(by_type) == {"unknown_order", "decode_error"}
        wms_id, garbage_id = by_type["unknown_order"]["id"], by_type["decode_error"]["id"]
        assert wms_id.startswith(names.dlq(names.wms_events) + ":")
        assert all(e["attempts"] == 1 and e["replayed_at"] is None for e in listed["entries"])

        # the CLI sees the same entries
        out = await asyncio.to_thread(pipeline.cli, "dlq", "list", "--json", "--since", "1h")
        assert out.returncode == 0, out.stderr
        assert {orjson.loads(line)["id"] for line in out.stdout.splitlines()} == {wms_id, garbage_id}
        shown = await asyncio.to_thread(pipeline.cli, "dlq", "show", wms_id)
        assert shown.returncode == 0, shown.stderr
        assert orjson.loads(shown.stdout)["value"]["command_id"] == command_id

        # fix: the order arrives and gets its SHIP command
        await pipeline.produce([(names.channel_orders, order_key, order_value)])
        await pipeline.collect(names.fulfillment_commands, until=lambda r: any(c["oli"] == oli for c in r),
                               timeout=60, settle=0)

        dry = await asyncio.to_thread(pipeline.cli, "dlq", "replay", "--topic", "wms-events", "--dry-run")
        assert dry.returncode == 0 and dry.stdout.split() == [wms_id], (dry.stdout, dry.stderr)

        status, report = await _post(http, f"{base}/api/dlq/replay", orjson.dumps({"topic": "wms-events"}))
        assert status == 200 and report["replayed"] == 1 and report["ids"] == [wms_id], report
        events = await pipeline.collect(
            names.order_events, until=lambda r: any(e["type"] == "FulfillmentAccepted" and e["oli"] == oli
                                                     for e in r), timeout=60, settle=0)
        assert any(e["type"] == "FulfillmentAccepted" for e in events if e["oli"] == oli)

        # the same replay again sends nothing; the entry is marked as replayed
        again = await asyncio.to_thread(pipeline.cli, "dlq", "replay", "--topic", "wms-events")
        assert again.returncode == 0 and "replayed 0 of 1" in again.stderr and "1 skipped" in again.stderr

        # a replayed message that fails again comes back with attempts + 1 and its first failure time
        replay = await asyncio.to_thread(pipeline.cli, "dlq", "replay", "--ids", garbage_id)
        assert replay.returncode == 0 and "replayed 1 of 1" in replay.stderr, replay.stderr
        listed = await _wait_for_dlq(pipeline, http, base, 3)
        first, second = sorted((e for e in listed["entries"] if e["error_type"] == "decode_error"),
                               key=lambda e: e["attempts"])
        assert (first["attempts"], second["attempts"]) == (1, 2)
        assert second["first_failed_at"] == first["first_failed_at"]
        assert first["replayed_at"] is not None and second["replayed_at"] is None
        status, detail = await _get(http, f"{base}/api/dlq/{second['id']}")
        assert status == 200 and detail["key"] == "garbage-key"
        assert base64.b64decode(detail["headers"]["orderhub-replayed-from"]).decode() == garbage_id

        # bad input: 4xx with a JSON error
        status, body = await _get(http, f"{base}/api/dlq?since=yesterday")
        assert status == 400 and "since" in body["error"]
        status, body = await _get(http, f"{base}/api/dlq/{names.dlq(names.payments)}:0:999999")
        assert status == 404 and "no DLQ entry" in body["error"]
        status, body = await _post(http, f"{base}/api/dlq/replay", b"[not json")
        assert status == 400 and "JSON" in body["error"]
        status, body = await _post(http, f"{base}/api/dlq/replay", b'{"topic": "nope"}')
        assert status == 400 and "nope" in body["error"]
