"""Faust wiring: run one stream worker (`orderhub worker`).

Before the App is imported: resolve ``processing_guarantee=auto`` against the broker, and
after an unclean stop under exactly_once drop the local RocksDB state so it is rebuilt
from the committed changelog. (RocksDB is written before the Kafka transaction commits;
an aborted transaction's writes would otherwise survive a crash. Kafka Streams wipes its
state stores after an unclean EOS shutdown for the same reason.)
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from app.logs import configure_logging, get_logger
from app.settings import Settings
from app.tracing import setup_tracing

CLEAN_MARKER = ".clean-shutdown"
log = get_logger("orderhub.worker")


#: the consumer's longest fetch wait on a broker that answers a fetch as soon as data arrives
EARLY_ANSWER_FETCH_WAIT_MS = 500
#: ... and on one that holds every fetch for the whole wait (the embedded broker): the wait is latency
HELD_FETCH_WAIT_MS = 10


class _BrokerKind:
    """What the worker needs to know about its broker, probed at most once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._transactions: bool | None = None

    @property
    def transactions(self) -> bool:
        if self._transactions is None:
            from app.brokers import probe_transactions

            self._transactions = probe_transactions(self.settings.bootstrap_servers)
        return self._transactions


def resolve_guarantee(settings: Settings, broker: _BrokerKind | None = None) -> str:
    if settings.processing_guarantee != "auto":
        return settings.processing_guarantee
    return "exactly_once" if (broker or _BrokerKind(settings)).transactions else "at_least_once"


def resolve_fetch_wait(settings: Settings, broker: _BrokerKind | None = None) -> int:
    """`ORDERHUB_CONSUMER_FETCH_WAIT_MS=0` (auto): long polls on Apache Kafka, which answers a
    fetch as soon as records arrive, so an idle worker does not poll every 10 ms; short ones
    on the embedded broker (Tansu, told apart by its missing transactions), which answers
    only when the wait is over, so the wait adds straight to latency (docs/performance.md)."""
    if settings.consumer_fetch_wait_ms > 0:
        return settings.consumer_fetch_wait_ms
    return EARLY_ANSWER_FETCH_WAIT_MS if (broker or _BrokerKind(settings)).transactions else HELD_FETCH_WAIT_MS


async def _wait_for_group_coordinator(bootstrap: str, group: str, timeout_s: float = 60.0) -> None:
    """On a fresh cluster the offsets topic is created on first use; the first transactional
    offset commit can then fail. Ask for the group's coordinator until one answers."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                await admin.describe_consumer_groups([group])
                return
            except Exception:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


def _drop_state_after_unclean_stop(tabledir: Path, marker: Path) -> bool:
    had_marker = marker.exists()
    marker.unlink(missing_ok=True)
    if not had_marker and tabledir.exists() and any(tabledir.iterdir()):
        shutil.rmtree(tabledir)
        return True
    return False


def run_worker(settings: Settings, *, web: bool = True) -> int:
    from app.channel_setup import load_channels

    load_channels(settings)  # a bad mapping file or mode stops the start here, with one line
    broker = _BrokerKind(settings)
    guarantee = resolve_guarantee(settings, broker)
    os.environ["ORDERHUB_PROCESSING_GUARANTEE"] = guarantee
    os.environ["ORDERHUB_CONSUMER_FETCH_WAIT_MS"] = str(resolve_fetch_wait(settings, broker))
    configure_logging(settings.log_level, settings.log_format)
    setup_tracing(settings, service="orderhub-worker")

    import faust

    from app.main import app

    marker = Path(app.conf.datadir) / CLEAN_MARKER
    Path(app.conf.datadir).mkdir(parents=True, exist_ok=True)
    import asyncio

    from app.admin import ensure_orderhub_topics

    asyncio.run(ensure_orderhub_topics(settings))
    if guarantee == "exactly_once":
        asyncio.run(_wait_for_group_coordinator(settings.bootstrap_servers, settings.app_id))
    if guarantee == "exactly_once" and _drop_state_after_unclean_stop(Path(app.conf.tabledir), marker):
        log.warning("worker.state_dropped", reason="unclean stop under exactly_once; rebuilding from changelog")
    else:
        marker.unlink(missing_ok=True)

    class Worker(faust.Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            configure_logging(settings.log_level, settings.log_format)

    log.info("worker.starting", guarantee=guarantee, settings=settings.redacted())
    if not web:
        app.conf.web_enabled = False
    worker = Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    else:
        code = 0
    if code == 0:
        marker.touch()
    return code
