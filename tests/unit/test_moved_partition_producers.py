"""Unit: under exactly_once a rebalance stops the producer of every partition that moved away,
also when this worker keeps a standby copy of it (app/faust_tuning.py,
`stop_producers_of_moved_partitions`).

Faust's own `TransactionManager.on_rebalance` runs on a stand-in with the assignor's view
(which partitions are standbys here) and a producer that records what it starts and stops.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import TransactionManager
from faust.types import TP

from app.faust_tuning import stop_producers_of_moved_partitions

SOURCE = "it.order-inputs"


def tid(partition: int) -> str:
    return f"it-1-{partition}"


class Producer:
    def __init__(self, running: set[str]) -> None:
        self._transaction_producers = {t: object() for t in running}
        self.stopped: list[str] = []
        self.begun: list[str] = []

    async def stop_transaction(self, transactional_id: str) -> None:
        if self._transaction_producers.pop(transactional_id, None) is not None:
            self.stopped.append(transactional_id)

    async def maybe_begin_transaction(self, transactional_id: str) -> None:
        self._transaction_producers.setdefault(transactional_id, object())
        self.begun.append(transactional_id)


def _manager(producer: Producer, standbys: set[TP]) -> Any:
    assignor = SimpleNamespace(group_for_topic=lambda topic: 1, is_standby=lambda tp: tp in standbys)
    manager = SimpleNamespace(producer=producer, app=SimpleNamespace(assignor=assignor, conf=SimpleNamespace(id="it")),
                              transactional_id_format=TransactionManager.transactional_id_format,
                              log=SimpleNamespace(info=lambda *args, **kwargs: None))
    for name in ("_stop_transactions", "_start_transactions", "_tps_to_transactional_ids", "_tps_to_active_tpgs"):
        setattr(manager, name, getattr(TransactionManager, name).__get__(manager))
    return manager


async def test_a_partition_moved_to_another_worker_loses_its_producer_even_as_a_standby_here() -> None:
    stop_producers_of_moved_partitions()
    producer = Producer({tid(0), tid(1)})
    moved = TP(SOURCE, 1)  # now another worker's; the assignor made it a standby of this one
    manager = _manager(producer, standbys={moved})
    await TransactionManager.on_rebalance(manager, {TP(SOURCE, 0)}, {moved}, set())
    assert producer.stopped == [tid(1)]
    assert set(producer._transaction_producers) == {tid(0)}


async def test_a_partition_that_comes_back_gets_a_new_producer() -> None:
    stop_producers_of_moved_partitions()
    producer = Producer({tid(0), tid(1)})
    manager = _manager(producer, standbys={TP(SOURCE, 1)})
    await TransactionManager.on_rebalance(manager, {TP(SOURCE, 0)}, {TP(SOURCE, 1)}, set())
    first = producer._transaction_producers[tid(0)]
    manager = _manager(producer, standbys=set())  # the other worker died: both partitions are ours again
    await TransactionManager.on_rebalance(manager, {TP(SOURCE, 0), TP(SOURCE, 1)}, set(), {TP(SOURCE, 1)})
    assert set(producer._transaction_producers) == {tid(0), tid(1)}
    assert producer._transaction_producers[tid(0)] is first  # a partition kept keeps its producer
    assert producer.stopped == [tid(1)]


async def test_a_rebalance_that_keeps_every_partition_stops_nothing() -> None:
    stop_producers_of_moved_partitions()
    producer = Producer({tid(0), tid(1)})
    manager = _manager(producer, standbys=set())
    await TransactionManager.on_rebalance(manager, {TP(SOURCE, 0), TP(SOURCE, 1)}, set(), set())
    assert producer.stopped == [] and sorted(producer.begun) == [tid(0), tid(1)]


async def test_a_kept_partition_whose_transaction_is_open_is_not_begun_again() -> None:
    stop_producers_of_moved_partitions()
    open_transaction = SimpleNamespace(_txn_manager=SimpleNamespace(is_in_transaction=lambda: True))
    producer = Producer({tid(1)})
    producer._transaction_producers[tid(0)] = open_transaction  # begun by the revoke commit
    manager = _manager(producer, standbys=set())
    await TransactionManager.on_rebalance(manager, {TP(SOURCE, 0), TP(SOURCE, 1)}, set(), set())
    assert producer.begun == [tid(1)]
    assert producer._transaction_producers[tid(0)] is open_transaction
