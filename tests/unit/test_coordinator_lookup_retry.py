"""Unit: the transactional sender's coordinator lookup survives a lost connection
(app/faust_tuning.py, `retry_coordinator_lookups`).

aiokafka's own `Sender._find_coordinator` runs against a stand-in client whose lookups fail
as a broker that goes away makes them fail."""

from __future__ import annotations

import pytest
from aiokafka.errors import InvalidRequestError, KafkaConnectionError
from aiokafka.producer.sender import CoordinationType, Sender

from app.faust_tuning import retry_coordinator_lookups


class FailingThenAnswering:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.lookups = 0
        self.metadata_updates = 0

    async def coordinator_lookup(self, coordinator_type: object, key: str) -> int:
        self.lookups += 1
        if self.failures:
            raise self.failures.pop(0)
        return 7

    async def force_metadata_update(self) -> bool:
        self.metadata_updates += 1
        return True

    async def ready(self, node_id: int, *, group: object = None) -> bool:
        return True


def _sender(client: FailingThenAnswering) -> Sender:
    retry_coordinator_lookups()
    return Sender(client, acks=-1, txn_manager=object(), message_accumulator=None,
                  retry_backoff_ms=1, request_timeout_ms=1000)


async def test_a_connection_lost_during_the_lookup_is_retried_until_the_coordinator_answers() -> None:
    client = FailingThenAnswering([KafkaConnectionError("Connection at 127.0.0.1:9092 closed")] * 3)
    assert await _sender(client)._find_coordinator(CoordinationType.GROUP, "orderhub") == 7
    assert client.lookups == 4 and client.metadata_updates >= 3


async def test_an_error_that_is_not_retriable_still_fails_the_lookup() -> None:
    client = FailingThenAnswering([InvalidRequestError()])
    with pytest.raises(Exception) as failed:
        await _sender(client)._find_coordinator(CoordinationType.GROUP, "orderhub")
    assert client.lookups == 1
    assert "InvalidRequest" in repr(failed.value)
