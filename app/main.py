"""Composition root: settings → logging → faust.App(...). Nothing else builds the App.

`orderhub worker` resolves ``processing_guarantee=auto`` against the broker before this
module is imported; here ``auto`` means at_least_once (the safe choice on any broker).
"""

from __future__ import annotations

import faust

from app.admin import client_security, ssl_context
from app.faust_tuning import (
    CommitGate,
    DeliveryGuard,
    commit_before_forgetting_revoked,
    fetch_only_active_partitions,
    fix_gap_accounting,
    install_commit_gate,
    install_delivery_guard,
    long_transaction_timeout,
    rebuild_regained_partitions,
    retry_coordinator_lookups,
    seek_before_resume,
    set_consumer_fetch_wait,
    stop_producers_of_moved_partitions,
    true_changelog_highwaters,
)
from app.offset_trace import install as install_offset_trace
from app.settings import Settings
from app.topic_names import TopicNames


def _credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    context = ssl_context(settings)
    if settings.sasl_mechanism:
        return faust.SASLCredentials(
            username=settings.sasl_username, password=settings.sasl_password,
            mechanism=settings.sasl_mechanism, ssl_context=context)
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def create_app(settings: Settings) -> faust.App:
    guarantee = "at_least_once" if settings.processing_guarantee == "auto" else settings.processing_guarantee
    set_consumer_fetch_wait(settings.consumer_fetch_wait_ms or 10)  # 0 (auto) is resolved by `orderhub worker`
    return faust.App(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        processing_guarantee=guarantee,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=float(settings.session_timeout_s),
        broker_heartbeat_interval=max(1.0, settings.session_timeout_s / 5),
        # On a rebalance, finish the events in flight and commit before partitions move:
        # under exactly_once an uncommitted transaction would be aborted while its table
        # writes stay in the live RocksDB state, so its events would be skipped on replay.
        stream_wait_empty=True,
        # Faust refuses to start when a table's persisted offset is ahead of its changelog's end
        # (its default). Persisted offsets are those of acknowledged changelog records, so at
        # least once that means a changelog that lost data; under exactly_once local state ahead
        # of the changelog holds aborted writes (see rebuild_regained_partitions). The embedded
        # broker's short end offsets are corrected by true_changelog_highwaters.
        recovery_consistency_check=True,
        producer_max_request_size=8 * 1024 * 1024,  # DLQ entries of large poison messages
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        canonical_url=f"http://{settings.web_host}:{settings.web_port}",
        autodiscover=["agents", "tables", "app.web"],
        origin="app.main",
        version=1,
    )


settings = Settings.from_env()
topic_names = TopicNames(settings.topic_prefix)
install_offset_trace(bool(settings.trace_offsets))
app = create_app(settings)
commit_gate = CommitGate()
install_commit_gate(commit_gate)
delivery_guard = DeliveryGuard()
install_delivery_guard(delivery_guard)
fix_gap_accounting()
seek_before_resume()
fetch_only_active_partitions()
rebuild_regained_partitions()
long_transaction_timeout()
retry_coordinator_lookups()
commit_before_forgetting_revoked()
stop_producers_of_moved_partitions()
true_changelog_highwaters({"bootstrap_servers": settings.bootstrap_servers, **client_security(settings)})
