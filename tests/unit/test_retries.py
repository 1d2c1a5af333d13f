"""Unit: which failures are retried (app/retries.py) and how the bounded retry behaves."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import (
    KafkaTimeoutError,
    NotLeaderForPartitionError,
    RecordTooLargeError,
    UnknownTopicOrPartitionError,
)

from app import metrics
from app.dlq import dlq_entry
from app.domain.errors import (
    AdapterError,
    DecodeError,
    TransientError,
    UnknownOrderError,
    UnknownStatusError,
    ValidationError,
)
from app.geocoders.amap import GeocoderError
from app.retries import RetriesExhaustedError, RetryPolicy, is_transient
from app.settings import Settings, SettingsError

FAST = RetryPolicy(attempts=4, backoff_s=0.001, backoff_max_s=0.005)


@pytest.mark.parametrize("exc", [TransientError("amap: timed out"), KafkaTimeoutError(), NotLeaderForPartitionError(),
                                 TimeoutError(), ConnectionResetError(), RetriesExhaustedError("x")])
def test_transient_failures(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [DecodeError("x"), ValidationError("x"), AdapterError("x"), UnknownStatusError("x"),
                                 UnknownOrderError("x"), GeocoderError("bad key"), RecordTooLargeError(),
                                 KeyError("x"), ValueError("x"), ZeroDivisionError()])
def test_permanent_and_unexpected_failures(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_unknown_topic_is_retriable_as_kafka_says() -> None:
    assert is_transient(UnknownTopicOrPartitionError()) is UnknownTopicOrPartitionError.retriable


class Flaky:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


async def test_a_transient_failure_is_tried_again_until_it_passes() -> None:
    before = metrics.retries.labels("decide")._value.get()
    flaky = Flaky([TransientError("1"), KafkaTimeoutError()])
    assert await FAST.decide(flaky, what="decide") == "done"
    assert flaky.calls == 3
    assert metrics.retries.labels("decide")._value.get() == before + 1


async def test_a_transient_failure_that_lasts_becomes_one_transient_error_naming_the_tries() -> None:
    flaky = Flaky([TransientError(f"amap: timed out {i}") for i in range(10)])
    with pytest.raises(RetriesExhaustedError, match="gave up after 4 tries") as info:
        await FAST.decide(flaky, what="decide")
    assert flaky.calls == 4
    entry = dlq_entry(topic="t", partition=0, offset=1, key=b"k", value=b"v", headers=[], exc=info.value, stage="route")
    assert entry["error_type"] == "transient_error" and "amap: timed out 3" in entry["error"]


async def test_a_permanent_failure_is_not_tried_again() -> None:
    flaky = Flaky([ValidationError("payment: missing field 'amount'")])
    with pytest.raises(ValidationError):
        await FAST.decide(flaky, what="decide")
    assert flaky.calls == 1


async def test_a_permanent_failure_after_a_transient_one_stops_at_once_and_keeps_its_reason() -> None:
    flaky = Flaky([TransientError("1"), DecodeError("not JSON")])
    with pytest.raises(DecodeError):
        await FAST.decide(flaky, what="decide")
    assert flaky.calls == 2


async def test_an_unexpected_error_is_raised_as_it_is() -> None:
    flaky = Flaky([KeyError("bug")])
    with pytest.raises(KeyError):
        await FAST.call(flaky, what="send")
    assert flaky.calls == 1


async def test_call_raises_the_last_transient_error_unchanged() -> None:
    flaky = Flaky([KafkaTimeoutError() for _ in range(10)])
    with pytest.raises(KafkaTimeoutError):
        await FAST.call(flaky, what="send")
    assert flaky.calls == 4


async def test_one_attempt_means_no_retry() -> None:
    flaky = Flaky([TransientError("1")])
    with pytest.raises(TransientError) as info:
        await RetryPolicy(attempts=1).decide(flaky, what="decide")
    assert not isinstance(info.value, RetriesExhaustedError) and flaky.calls == 1


async def test_waits_grow_exponentially_with_jitter_and_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    policy = RetryPolicy(attempts=8, backoff_s=0.2, backoff_max_s=1.0)
    with pytest.raises(TransientError):
        await policy.call(Flaky([TransientError(str(i)) for i in range(20)]), what="decide")
    assert len(waits) == 7
    caps = [min(1.0, 0.2 * 2 ** n) for n in range(7)]
    assert all(0 <= w <= cap for w, cap in zip(waits, caps, strict=True)), waits
    assert len(set(waits)) > 1  # jittered, not a fixed schedule


def test_settings_bounds() -> None:
    assert RetryPolicy.from_settings(Settings.from_env({})) == RetryPolicy(attempts=4, backoff_s=0.2, backoff_max_s=5.0)
    for env in ({"ORDERHUB_RETRY_ATTEMPTS": "0"}, {"ORDERHUB_RETRY_BACKOFF_MS": "6000"},
                {"ORDERHUB_STUCK_MAX_RECOMMANDS": "11"}, {"ORDERHUB_WATCHDOG_INTERVAL_S": "-1"}):
        with pytest.raises(SettingsError, match=next(iter(env))):
            Settings.from_env(env)
