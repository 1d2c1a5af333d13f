"""Kafka admin helpers: create orderhub's topics with one partition count (co-partitioning)."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from app.topic_names import TopicNames


def all_topics(names: TopicNames) -> list[str]:
    return [*names.inputs, *names.outputs, *(names.dlq(t) for t in names.inputs)]


async def ensure_topics(bootstrap: str, topics: Iterable[str], *, partitions: int,
                        replication: int = 1, config: dict[str, str] | None = None) -> None:
    """Create the topics that do not exist yet (existing ones are left as they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(t, partitions, replication, topic_configs=dict(config or {}))
               for t in topics if t not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
