"""Unit: webhook formats, DingTalk signing, de-duplication and the rate limit of alert delivery."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlparse

import orjson
import pytest
from aiolimiter import AsyncLimiter

from app.alert_forwarder import AlertForwarder
from app.operations.alert_formats import dingtalk_signed_url, render, subject, suppressed_summary
from app.operations.alert_gate import Deduplicator
from app.settings import Settings

STUCK = {"kind": "wms_rejected", "oli": "tb-s1-42", "at": "2026-11-11T02:00:00+00:00",
         "detail": "tb-s1-42@2 rejected: out of stock", "schema_version": 1}
LAG = {"kind": "consumer_stalled", "oli": "", "group": "wms", "topic": "orderhub.fulfillment-commands",
       "lag": 80000, "detail": "group wms has not committed", "partitions": [0, 1]}


def test_generic_is_the_alert_itself() -> None:
    assert render(STUCK, "generic") == {"source": "orderhub", **STUCK}


def test_dingtalk_and_wecom_are_markdown_robot_messages() -> None:
    ding = render(LAG, "dingtalk")
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"] == "orderhub consumer_stalled"
    assert "group wms has not committed" in ding["markdown"]["text"] and "- lag: 80000" in ding["markdown"]["text"]
    wecom = render(STUCK, "wecom")
    assert wecom["msgtype"] == "markdown" and "- oli: tb-s1-42" in wecom["markdown"]["content"]
    long = render({**STUCK, "detail": "x" * 10_000}, "wecom")
    assert len(long["markdown"]["content"]) <= 3500
    with pytest.raises(ValueError, match="slack"):
        render(STUCK, "slack")


def test_dingtalk_signature_follows_the_robot_rule() -> None:
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=T", "SECabc", 1700000000000)
    query = parse_qs(urlparse(url).query)
    expected = base64.b64encode(hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()).decode()
    assert query["access_token"] == ["T"] and query["timestamp"] == ["1700000000000"]
    assert query["sign"] == [expected]


def test_subjects_separate_orders_and_consumer_groups() -> None:
    assert subject(STUCK) == "wms_rejected|tb-s1-42"
    assert subject(LAG) == "consumer_stalled|wms|orderhub.fulfillment-commands"
    assert subject({"kind": "x", "detail": "d"}) == "x|d"


def test_deduplicator_lets_a_subject_through_once_per_window() -> None:
    dedup = Deduplicator(window_s=300)
    assert dedup.admit("a", 0) and not dedup.admit("a", 299) and dedup.admit("b", 299)
    assert dedup.admit("a", 300)


def test_deduplicator_memory_is_bounded_in_a_storm_of_distinct_subjects() -> None:
    dedup = Deduplicator(window_s=300, max_subjects=100)
    for i in range(1000):
        assert dedup.admit(f"s{i}", float(i) / 1000)
    assert len(dedup._seen) <= 100


def test_suppressed_summary_counts_by_kind() -> None:
    summary = suppressed_summary({"wms_rejected": 3, "consumer_stalled": 1})
    assert summary["kind"] == "alerts_suppressed" and summary["detail"].startswith("4 more alerts")


async def _until(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_storm_is_deduplicated_rate_limited_and_summarised() -> None:
    posted: list[tuple[str, dict]] = []

    async def post(url: str, body: bytes) -> None:
        posted.append((url, orjson.loads(body)))

    settings = Settings(alert_webhook_url="http://127.0.0.1:1/hook", alert_webhook_format="wecom")
    forwarder = AlertForwarder(settings, post=post, limiter=AsyncLimiter(2, 60))
    try:
        for i in range(5):
            forwarder.submit({**STUCK, "oli": f"tb-s1-{i}"})
            forwarder.submit({**STUCK, "oli": f"tb-s1-{i}"})  # a duplicate of each
        await _until(lambda: len(posted) == 2)
        await asyncio.sleep(0.2)
        assert len(posted) == 2  # the other three are held back, not queued up
        assert all(url == "http://127.0.0.1:1/hook" for url, _ in posted)
        forwarder._limiter = AsyncLimiter(10, 1)  # the minute has passed
        await _until(lambda: len(posted) == 3)
        assert "3 more alerts were not forwarded" in posted[2][1]["markdown"]["content"]
    finally:
        await forwarder.stop()


async def test_a_failing_webhook_is_retried_then_given_up() -> None:
    calls = 0

    async def post(url: str, body: bytes) -> None:
        nonlocal calls
        calls += 1
        raise TimeoutError

    import app.alert_forwarder as module

    settings = Settings(alert_webhook_url="http://127.0.0.1:1/hook")
    forwarder = AlertForwarder(settings, post=post)
    original, module.RETRY_DELAYS_S = module.RETRY_DELAYS_S, (0.0, 0.0, 0.0)
    try:
        forwarder.submit(STUCK)
        await _until(lambda: calls == 4)
    finally:
        module.RETRY_DELAYS_S = original
        await forwarder.stop()
