"""Unit: `process-orders` retries transient failures of its decision, dead-letters what fails for good,
and never dead-letters an event whose outputs went out (agents/orders.py with fakes for I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

import agents.orders as orders
import agents.wiring as wiring
from app.domain.errors import TransientError, ValidationError
from app.domain.model import CommandType, FulfillmentCommand, Receiver
from app.domain.transitions import Decision
from app.retries import RetriesExhaustedError, RetryPolicy

FAST = RetryPolicy(attempts=3, backoff_s=0.001, backoff_max_s=0.002)
COMMAND = FulfillmentCommand(command_id="tb-s-1@2", type=CommandType.SHIP, oli="tb-s-1", version=2,
                             warehouse="WH", carrier="SF", receiver=Receiver(), lines=(),
                             requested_at=datetime(2026, 11, 11, tzinfo=UTC))


@dataclass
class Outputs:
    published: list[Decision] = field(default_factory=list)
    dead: list[BaseException] = field(default_factory=list)
    table: dict[bytes, bytes] = field(default_factory=dict)


@pytest.fixture
def outputs(monkeypatch: pytest.MonkeyPatch) -> Outputs:
    out = Outputs()

    async def publish(decision: Decision, source: Any) -> None:
        out.published.append(decision)

    async def dead_letter(event: Any, exc: BaseException, *, stage: str) -> None:
        out.dead.append(exc)

    async def no_audit(decision: Decision, source: Any) -> None:
        return None

    monkeypatch.setattr(orders, "publish", publish)
    monkeypatch.setattr(orders, "dead_letter", dead_letter)
    monkeypatch.setattr(orders, "audit_automatic_holds", no_audit)
    monkeypatch.setattr(orders, "retry_policy", FAST)
    monkeypatch.setattr(orders, "orders_table", out.table)
    monkeypatch.setattr(orders, "geocoder_blocks", False)
    monkeypatch.setattr(orders, "_load", lambda topic, value: ("tb-s-1", object(), None, ()))
    orders.reference.ready.set()
    return out


def _event() -> Any:
    return SimpleNamespace(value=b"{}", message=SimpleNamespace(topic=orders.order_inputs_topic.get_topic_name()))


def _decisions(*results: BaseException | Decision) -> Any:
    pending = list(results)

    def apply(*args: Any) -> Decision:
        result = pending.pop(0)
        if isinstance(result, BaseException):
            raise result
        return result

    return apply


SHIP = Decision(order=None, commands=(COMMAND,), pending=(), outcome="applied")


async def test_a_geocoder_that_answers_on_the_second_try_is_processed_once(outputs: Outputs,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "_apply", _decisions(TransientError("amap: timed out"), SHIP))
    await orders.process(_event())
    assert outputs.published == [SHIP] and outputs.dead == []


async def test_a_geocoder_that_never_answers_is_dead_lettered_once_and_nothing_is_sent(
        outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "_apply", _decisions(*(TransientError("amap: timed out") for _ in range(3))))
    await orders.process(_event())
    assert outputs.published == []
    assert len(outputs.dead) == 1 and isinstance(outputs.dead[0], RetriesExhaustedError)


async def test_a_permanent_failure_is_dead_lettered_at_once(outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    apply = _decisions(ValidationError("payment: missing field 'amount'"), SHIP)
    monkeypatch.setattr(orders, "_apply", apply)
    await orders.process(_event())
    assert outputs.published == [] and [type(e) for e in outputs.dead] == [ValidationError]


async def test_outputs_that_cannot_be_sent_stop_the_worker_instead_of_dead_lettering(
        outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "_apply", _decisions(SHIP))

    async def broker_down(decision: Decision, source: Any) -> None:
        raise KafkaTimeoutError()

    monkeypatch.setattr(orders, "publish", broker_down)
    with pytest.raises(KafkaTimeoutError):  # `consume` stops the worker; it resumes from the last commit
        await orders.process(_event())
    assert outputs.dead == [] and outputs.table == {}


async def test_a_send_timeout_is_tried_again_before_it_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    tries: list[str] = []

    async def send_once(topic: Any, key: Any, value: bytes, source: Any) -> None:
        tries.append("send")
        if len(tries) < 3:
            raise KafkaTimeoutError()

    monkeypatch.setattr(wiring, "_send_once", send_once)
    monkeypatch.setattr(wiring, "retry_policy", FAST)
    await wiring.send(None, b"k", b"v", None)
    assert tries == ["send"] * 3

    tries.clear()

    async def never(topic: Any, key: Any, value: bytes, source: Any) -> None:
        tries.append("send")
        raise KafkaTimeoutError()

    monkeypatch.setattr(wiring, "_send_once", never)
    with pytest.raises(KafkaTimeoutError):
        await wiring.send(None, b"k", b"v", None)
    assert len(tries) == FAST.attempts
