"""Unit: under exactly_once the commit made when partitions are revoked still sees their
acknowledged offsets (app/faust_tuning.py, `commit_before_forgetting_revoked`).

Faust's own `Consumer.on_partitions_revoked` runs on a stand-in consumer that carries the
bookkeeping Faust keeps per partition; its rebalance handler records what a commit would find.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP
from faust.utils.tracing import noop_span

from app.faust_tuning import commit_before_forgetting_revoked

KEPT, REVOKED = TP("it.order-inputs", 0), TP("it.order-inputs", 1)


class Diag:
    def set_flag(self, flag: str) -> None: ...

    def unset_flag(self, flag: str) -> None: ...


def _consumer(*, in_transaction: bool, seen: list[dict[TP, Any]]) -> Any:
    async def handler(revoked: set[TP]) -> None:
        seen.append(dict(consumer._acked))  # what the revoke commit would commit from

    consumer = SimpleNamespace(
        app=SimpleNamespace(in_transaction=in_transaction, _start_span_from_rebalancing=lambda name: noop_span()),
        diag=Diag(), _active_partitions={KEPT, REVOKED}, _paused_partitions=set(),
        _gap={}, _acked={KEPT: [10], REVOKED: [20, 21]}, _acked_index={KEPT: {10}, REVOKED: {20, 21}},
        _read_offset={KEPT: 11, REVOKED: 22}, _committed_offset={KEPT: 9, REVOKED: 19},
        _on_partitions_revoked=handler)
    return consumer


async def test_under_exactly_once_the_revoke_commit_sees_the_revoked_partitions_offsets() -> None:
    commit_before_forgetting_revoked()
    seen: list[dict[TP, Any]] = []
    consumer = _consumer(in_transaction=True, seen=seen)
    await Consumer.on_partitions_revoked(consumer, {REVOKED})
    assert seen == [{KEPT: [10], REVOKED: [20, 21]}]
    # and afterwards the revoked partition is forgotten, as Faust does
    assert REVOKED not in consumer._acked and REVOKED not in consumer._read_offset
    assert REVOKED not in consumer._committed_offset and REVOKED not in consumer._active_partitions
    assert consumer._acked == {KEPT: [10]}


async def test_at_least_once_keeps_faust_s_order() -> None:
    commit_before_forgetting_revoked()
    seen: list[dict[TP, Any]] = []
    consumer = _consumer(in_transaction=False, seen=seen)
    await Consumer.on_partitions_revoked(consumer, {REVOKED})
    assert seen == [{KEPT: [10]}]


async def test_a_rebalance_commit_begins_new_transactions_and_only_a_stop_ends_them() -> None:
    commit_before_forgetting_revoked()
    calls: list[bool] = []

    async def commit(start_new_transaction: bool = True) -> bool:
        calls.append(start_new_transaction)
        return True

    rebalancing = SimpleNamespace(should_stop=False, app=SimpleNamespace(in_transaction=True, should_stop=False),
                                  commit=commit)
    stopping = SimpleNamespace(should_stop=True, app=SimpleNamespace(in_transaction=True, should_stop=True),
                               commit=commit)
    await Consumer.commit_and_end_transactions(rebalancing)
    await Consumer.commit_and_end_transactions(stopping)
    assert calls == [True, False]
