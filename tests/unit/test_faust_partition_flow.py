"""Unit: when stream partitions may flow again after a rebalance, and what a fetch may return.

Fakes stand in for Faust's recovery step and consumer; they follow the order Faust's
`Recovery.on_recovery_completed` uses: resume partitions, seek, resume the flow (which
empties the stream buffers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from app.faust_tuning import ActivePartitions, resume_when_sought


class FakeConsumer:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.active: set[str] = set()

    def resume_partitions(self, tps: Any) -> None:
        self.active.update(tps)
        self.log.append(f"resume {sorted(tps)}")

    async def perform_seek(self) -> None:
        self.log.append("seek")


@dataclass
class FakeApp:
    consumer: FakeConsumer
    consumer_generation_id: int = 1


@dataclass
class FakeRecovery:
    app: FakeApp
    log: list[str] = field(default_factory=list)


class RebalanceAgain(Exception):
    pass


def faust_like_step(*, rebalance_during_seek: bool = False, new_generation: int | None = None) -> Any:
    async def on_recovery_completed(self: FakeRecovery, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        consumer.resume_partitions({"orders[0]", "orders[1]"})
        await consumer.perform_seek()
        if rebalance_during_seek:
            raise RebalanceAgain
        if new_generation is not None:
            self.app.consumer_generation_id = new_generation
        self.log.append("flow resumed, buffers emptied")

    return on_recovery_completed


def recovery() -> FakeRecovery:
    log: list[str] = []
    return FakeRecovery(FakeApp(FakeConsumer(log)), log)


async def test_partitions_resume_only_after_the_seek_and_the_flow_resume() -> None:
    r = recovery()
    await resume_when_sought(faust_like_step())(r, 1)
    assert r.log == ["seek", "flow resumed, buffers emptied", "resume ['orders[0]', 'orders[1]']"]
    assert r.app.consumer.active == {"orders[0]", "orders[1]"}
    # the consumer's own methods are back in place for the next rebalance
    assert "resume_partitions" not in vars(r.app.consumer)
    assert "perform_seek" not in vars(r.app.consumer)


async def test_a_rebalance_during_the_seek_leaves_the_partitions_paused() -> None:
    r = recovery()
    with pytest.raises(RebalanceAgain):
        await resume_when_sought(faust_like_step(rebalance_during_seek=True))(r, 1)
    assert r.app.consumer.active == set()
    assert "resume_partitions" not in vars(r.app.consumer)


async def test_a_newer_generation_owns_the_partitions() -> None:
    r = recovery()
    await resume_when_sought(faust_like_step(new_generation=2))(r, 1)
    assert r.app.consumer.active == set()


async def test_a_step_that_resumes_without_seeking_gets_a_seek_first() -> None:
    async def resume_only(self: FakeRecovery, generation_id: int = 0) -> None:
        self.app.consumer.resume_partitions({"orders[0]"})

    r = recovery()
    await resume_when_sought(resume_only)(r, 1)
    assert r.log == ["seek", "resume ['orders[0]']"]


def test_active_partitions_follow_the_live_set_and_are_never_empty() -> None:
    live = {"orders[0]"}
    view = ActivePartitions(live)
    assert "orders[0]" in view and "orders[1]" not in view
    live.clear()  # Faust paused everything while a fetch was waiting
    assert view, "an empty set means *all partitions* to aiokafka's fetched_records"
    assert "orders[0]" not in view


def test_aiokafka_rule_returns_nothing_for_paused_partitions() -> None:
    # aiokafka's Fetcher.fetched_records keeps a buffered partition's records when
    # `partitions and tp not in partitions` is false
    buffered = ["orders[0]", "orders[1]", "orders-changelog[0]"]

    def returned(partitions: Any) -> list[str]:
        return [tp for tp in buffered if not (partitions and tp not in partitions)]

    live: set[str] = set()
    assert returned(live) == buffered  # the live set as Faust passes it: everything
    assert returned(ActivePartitions(live)) == []
    live.add("orders[1]")
    assert returned(ActivePartitions(live)) == ["orders[1]"]
