"""The workers' lag monitor: sample offsets, export lag and rate, publish lag alerts.

Every worker samples (so any worker's /metrics shows lag, and a new leader's evaluator
is already warm); only the group leader publishes alerts, so one incident is one alert.
Alerts go to `<prefix>.alerts` through a plain producer of the monitor's own: they are
not outputs of an input event and belong to no transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from app import metrics
from app.admin import client_security
from app.lag_reader import LagReader
from app.logs import get_logger
from app.operations.catchup import CatchUp, CatchUpTracker
from app.operations.lag import LagAlert, LagEvaluator, LagPolicy, Snapshot, lag_rows
from app.settings import Settings
from app.topic_names import TopicNames

log = get_logger("orderhub.lag")


def alert_message(alert: LagAlert, now: datetime) -> dict[str, Any]:
    """The alerts-topic message: the usual alert fields plus group, topic, lag and partitions."""
    return {"kind": alert.kind, "oli": "", "at": now.isoformat(), "detail": alert.detail,
            "group": alert.group, "topic": alert.topic, "lag": alert.lag,
            "partitions": list(alert.partitions), "schema_version": 1}


def report_catchup(report: CatchUp | None) -> None:
    """Catch-up progress in the gauges and, while there is a backlog, in the log."""
    if report is None:
        metrics.backlog.set(0)
        metrics.backlog_eta.set(0)
        return
    metrics.backlog.set(report.backlog)
    if report.rate is not None:
        metrics.catchup_rate.set(report.rate)
    metrics.backlog_eta.set(-1 if report.eta_s is None else report.eta_s)
    if report.state == "cleared":
        log.info("backlog.cleared", backlog=report.backlog, peak=report.peak)
    else:
        log.info("backlog.progress", backlog=report.backlog, peak=report.peak,
                 rate=None if report.rate is None else round(report.rate, 1),
                 eta_s=None if report.eta_s is None else round(report.eta_s))


class LagMonitor:
    def __init__(self, settings: Settings, paused_topics: Callable[[], Iterable[str]] = tuple) -> None:
        self.settings = settings
        self._paused_topics = paused_topics
        self.alerts_topic = TopicNames(settings.topic_prefix).alerts
        self.evaluator = LagEvaluator(LagPolicy(threshold=settings.lag_alert_threshold,
                                                stall_s=float(settings.lag_stall_s)))
        self._previous: Snapshot | None = None
        names = TopicNames(settings.topic_prefix)
        self.catchup = CatchUpTracker(settings.app_id, names.inputs,
                                      settings.backlog_report_threshold)
        self._reader: LagReader | None = None
        self._producer: AIOKafkaProducer | None = None

    async def sample(self, *, leader: bool) -> list[LagAlert]:
        """One sample: gauges updated, alerts decided (and published when `leader`)."""
        if self._reader is None:
            reader = LagReader(self.settings)
            await reader.start()
            self._reader = reader
        snapshot = await self._reader.snapshot(self.settings.watched_groups)
        rows = lag_rows(snapshot, self._previous)
        metrics.set_lag(rows)
        report_catchup(self.catchup.observe(rows))
        self._previous = snapshot
        paused = {(self.settings.app_id, topic) for topic in self._paused_topics()}
        raised = self.evaluator.observe(snapshot, paused)
        if leader:
            for alert in raised:
                await self._publish(alert)
        return raised

    async def _publish(self, alert: LagAlert) -> None:
        if self._producer is None:
            producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers, acks="all",
                                        **client_security(self.settings))
            await producer.start()
            self._producer = producer
        await self._producer.send_and_wait(self.alerts_topic, key=alert.kind.encode(),
                                           value=orjson.dumps(alert_message(alert, datetime.now(UTC))))
        metrics.alerts.labels(alert.kind).inc()
        log.warning("lag.alert", kind=alert.kind, group=alert.group, topic=alert.topic, lag=alert.lag,
                    partitions=list(alert.partitions))

    async def stop(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
            self._reader = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
