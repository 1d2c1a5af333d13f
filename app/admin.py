"""Kafka admin helpers: create orderhub's topics with one partition count (co-partitioning)."""

from __future__ import annotations

import ssl
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from app.settings import Settings
from app.topic_names import TopicNames

#: DLQ entries embed the original bytes in base64, so they may exceed Kafka's 1 MB default.
DLQ_MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def all_topics(names: TopicNames) -> list[str]:
    return [*names.inputs, *names.outputs, *(names.dlq(t) for t in names.inputs)]


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the configured cluster, or None without TLS."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=settings.ssl_cafile or None)
    if settings.ssl_certfile:
        context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile or None)
    return context


def client_security(settings: Settings) -> dict[str, object]:
    """The security arguments aiokafka clients need for the configured cluster."""
    kwargs: dict[str, object] = {"security_protocol": settings.security_protocol}
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if settings.sasl_mechanism:
        kwargs.update(sasl_mechanism=settings.sasl_mechanism, sasl_plain_username=settings.sasl_username,
                      sasl_plain_password=settings.sasl_password)
    return kwargs


async def topic_partitions(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the existing `topics`, from fresh cluster metadata.

    `consumer.partitions_for_topic` only knows topics the consumer already tracks (Apache
    Kafka answers a metadata request with the topics asked for), and the public
    `consumer.topics()` returns names only; so read the full metadata once here.
    """
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]


async def ensure_orderhub_topics(settings: Settings) -> None:
    """Every topic orderhub reads or writes, with one partition count (DLQs allow large entries)."""
    names = TopicNames(settings.topic_prefix)
    security = client_security(settings)
    await ensure_topics(settings.bootstrap_servers, [*names.inputs, *names.outputs],
                        partitions=settings.partitions, replication=settings.replication, **security)
    await ensure_topics(settings.bootstrap_servers, [names.dlq(t) for t in names.inputs],
                        partitions=settings.partitions, replication=settings.replication,
                        config={"max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES)}, **security)
    await ensure_reference_topics(settings)


async def ensure_reference_topics(settings: Settings) -> None:
    """The compacted `rules` and `skus` topics. One partition: one order of changes for every reader."""
    await ensure_topics(settings.bootstrap_servers, TopicNames(settings.topic_prefix).reference,
                        partitions=1, replication=settings.replication,
                        config={"cleanup.policy": "compact"}, **client_security(settings))


async def ensure_topics(bootstrap: str, topics: Iterable[str], *, partitions: int,
                        replication: int = 1, config: dict[str, str] | None = None,
                        **client: object) -> None:
    """Create the topics that do not exist yet (existing ones are left as they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000, **client)  # type: ignore[arg-type]
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


async def ensure_changelog_topics(settings: Settings, tables: Iterable[str], timeout_s: float = 30.0) -> None:
    """Create the tables' changelog topics and wait until the cluster lists all their partitions.

    Faust creates them itself at start, but a consumer whose metadata still showed a fresh
    changelog topic without partitions made Faust's first table write fail with
    PartitionsMismatch ("... has 0 partitions"), stopping the worker.
    """
    import asyncio

    names = [f"{settings.app_id}-{table}-changelog" for table in tables]
    await ensure_topics(settings.bootstrap_servers, names, partitions=settings.partitions,
                        replication=settings.replication, config={"cleanup.policy": "compact"},
                        **client_security(settings))
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, **client_security(settings))  # type: ignore[arg-type]
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            cluster = await consumer._client.fetch_all_metadata()
            short = [t for t in names if len(cluster.partitions_for_topic(t) or ()) < settings.partitions
                     or any(cluster.leader_for_partition(TopicPartition(t, p)) in (None, -1)
                            for p in cluster.partitions_for_topic(t) or ())]
            if not short or asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
