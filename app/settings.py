"""Settings: the only reader of os.environ. Frozen, documented, validated at start.

Every setting is an environment variable `ORDERHUB_<NAME>`; the README's table is
generated from `SETTINGS_DOC` below, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from app.domain.channel_modes import parse_channel_modes


class SettingsError(ValueError):
    """A setting has a value orderhub cannot use; the message names the variable."""


GUARANTEES = ("auto", "at_least_once", "exactly_once")
LOG_FORMATS = ("auto", "json", "console")
WEBHOOK_FORMATS = ("generic", "dingtalk", "wecom")
SASL_MECHANISMS = ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
GEOCODERS = ("offline", "amap")
TRACING_EXPORTERS = ("none", "console", "otlp")
DEFAULT_APP_RPS = "taobao=40,tmall=40,douyin=20,kuaishou=300,jd=20,pdd=50,wechat=20,shopify=40"
DEFAULT_SHOP_RPS = "taobao=10,tmall=10,douyin=10,kuaishou=300,jd=10,pdd=50,wechat=10,shopify=2"


def parse_rates(text: str, name: str) -> dict[str, float]:
    """`channel=rps,channel=rps` → {channel: rps}; a bad entry raises `SettingsError` naming `name`."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        channel, sep, raw = part.partition("=")
        try:
            rate = float(raw) if sep else -1.0
        except ValueError:
            rate = -1.0
        if not channel.strip() or rate <= 0:
            raise SettingsError(f"{name}: expected channel=requests_per_second, not {part!r}")
        rates[channel.strip()] = rate
    return rates


@dataclass(frozen=True)
class Settings:
    broker: str = field(default="kafka://127.0.0.1:9092",
                        metadata={"doc": "Kafka bootstrap servers, `kafka://host:port[;host:port]` or `host:port`"})
    app_id: str = field(default="orderhub", metadata={"doc": "Faust app id: consumer group and changelog topic prefix"})
    topic_prefix: str = field(default="orderhub", metadata={"doc": "prefix of every topic name (`<prefix>.channel-orders`, ...)"})
    partitions: int = field(default=4, metadata={"doc": "partitions of every topic orderhub creates; equal for all (co-partitioning)"})
    replication: int = field(default=1, metadata={"doc": "replication factor of the topics orderhub creates"})
    data_dir: Path = field(default=Path("./data"), metadata={"doc": "worker data dir (RocksDB tables); one per worker process"})
    store: str = field(default="rocksdb://", metadata={"doc": "table store: `rocksdb://` (production) or `memory://`"})
    processing_guarantee: str = field(default="auto", metadata={
        "doc": "`exactly_once`, `at_least_once`, or `auto` = exactly_once when the broker supports transactions"})
    web_host: str = field(default="127.0.0.1", metadata={"doc": "web server bind address"})
    web_port: int = field(default=6066, metadata={"doc": "web server port"})
    log_level: str = field(default="INFO", metadata={"doc": "DEBUG, INFO, WARNING, ERROR"})
    log_format: str = field(default="auto", metadata={"doc": "`json`, `console`, or `auto` = console on a TTY, else JSON lines"})
    default_warehouse: str = field(default="WH-DEFAULT", metadata={"doc": "warehouse for orders no rule routes elsewhere"})
    default_carrier: str = field(default="SF", metadata={"doc": "carrier for orders no rule routes elsewhere"})
    security_protocol: str = field(default="PLAINTEXT", metadata={"doc": "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"})
    sasl_mechanism: str = field(default="", metadata={"doc": "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"})
    sasl_username: str = field(default="", metadata={"doc": "SASL user name"})
    sasl_password: str = field(default="", repr=False, metadata={"doc": "SASL password (never logged)", "secret": True})
    ssl_cafile: str = field(default="", metadata={"doc": "TLS CA bundle path"})
    ssl_certfile: str = field(default="", metadata={"doc": "TLS client certificate path"})
    ssl_keyfile: str = field(default="", metadata={"doc": "TLS client key path"})
    session_timeout_s: int = field(default=10, metadata={
        "doc": "consumer group session timeout; a dead worker's partitions move after this long "
               "(the embedded broker also holds a new group's first join for half of it)"})
    consumer_fetch_wait_ms: int = field(default=0, metadata={
        "doc": "longest time a fetch waits for data; 0 = auto: 500 ms on Apache Kafka (it answers as soon "
               "as records arrive), 10 ms on the embedded broker (it always waits the full time)"})
    geocoder: str = field(default="offline", metadata={
        "doc": "address geocoder: `offline` (shipped division table, no network) or `amap` (AMap's REST API)"})
    amap_key: str = field(default="", repr=False, metadata={
        "doc": "AMap web-service key, needed when ORDERHUB_GEOCODER=amap (never logged)", "secret": True})
    channels_dir: str = field(default="", metadata={
        "doc": "folder of extra channel mapping files (`<channel>.yaml`), loaded at start-up; "
               "a file named like a built-in channel replaces it (docs/channels.md)"})
    channel_modes: str = field(default="", metadata={
        "doc": "per-channel mode `channel=mode`, comma-separated, mode `off`, `shadow` or `live` "
               "(`douyin=shadow,jd=off`); unlisted channels are live (docs/channels.md)"})
    lag_groups: str = field(default="", metadata={
        "doc": "other consumer groups whose lag the workers watch and `orderhub lag` shows, comma-separated "
               "(e.g. the WMS's group); the workers' own group is always included"})
    lag_interval_s: int = field(default=10, metadata={"doc": "how often each worker samples lag and rate"})
    lag_alert_threshold: int = field(default=10000, metadata={
        "doc": "alert `consumer_lag_high` when a group's summed lag on a topic exceeds this"})
    lag_stall_s: int = field(default=30, metadata={
        "doc": "alert `consumer_stalled` when a partition has lag > 0 and no commit for this long"})
    rocksdb_cache_mb: int = field(default=8, metadata={
        "doc": "RocksDB block cache per table partition, MiB (Faust's default is 2 GiB each)"})
    rocksdb_write_buffer_mb: int = field(default=8, metadata={
        "doc": "RocksDB write buffer (memtable) per table partition, MiB, at most 2 of them (Faust: 3 x 64)"})
    backlog_report_threshold: int = field(default=1000, metadata={
        "doc": "log catch-up progress (backlog, rate, ETA) each lag sample while the workers' summed input "
               "lag exceeds this, and once when it clears"})
    paid_first_backlog: int = field(default=500, metadata={
        "doc": "hold a worker's unpaid lane (`order-inputs`) back while more than this many messages wait on "
               "its paid lane or on channel-orders/payments, so paid orders in a backlog are routed first; "
               "0 = off (docs/operations.md#paid-orders-first)"})
    paid_first_max_pause_s: int = field(default=120, metadata={
        "doc": "longest continuous hold of the unpaid lane; it then flows for 10 s before the next hold"})
    alert_webhook_url: str = field(default="", metadata={
        "doc": "forward alerts to this webhook (http/https); empty = do not forward"})
    alert_webhook_format: str = field(default="generic", metadata={
        "doc": "`generic` (the alert JSON), `dingtalk` or `wecom` (group-robot markdown messages)"})
    alert_webhook_secret: str = field(default="", repr=False, metadata={
        "doc": "DingTalk robot signing secret (`SEC...`), if the robot uses signing", "secret": True})
    alert_dedup_s: int = field(default=300, metadata={
        "doc": "an alert with the same kind and subject is forwarded at most once in this many seconds"})
    alert_rate_per_min: int = field(default=20, metadata={
        "doc": "at most this many webhook messages a minute (DingTalk allows 20); the rest are summarised"})
    trace_offsets: int = field(default=0, metadata={
        "doc": "`1` = log each input record's offset as the worker fetches, delivers, processes, "
               "acknowledges, seeks and commits it, to diagnose lost or stuck partitions (verbose; docs/reliability.md)"})
    tokens_file: str = field(default="", metadata={
        "doc": "YAML/JSON file of API tokens (SHA-256 hashes only) and roles; empty = every API call is refused (401)"})
    approval_policy_file: str = field(default="", metadata={
        "doc": "YAML/JSON approval policy (which changes need one or two approvers); empty = the built-in default"})
    merge_policy_file: str = field(default="", metadata={
        "doc": "YAML/JSON merge policy (合单: wait_minutes, window_hours, same_receiver, ...); "
               "empty = merging off (docs/operations.md#merge-candidates)"})
    stuck_after_s: int = field(default=60, metadata={
        "doc": "the warehouse's SLA: a SHIP command not acknowledged after this long is sent again "
               "(same command_id) by the stuck-order watchdog, and the order is listed as stuck"})
    stuck_max_recommands: int = field(default=3, metadata={
        "doc": "re-sends of an unacknowledged SHIP command (each waiting twice as long as the one before) "
               "before the order is raised once as `order_stuck` on the alerts topic"})
    watchdog_interval_s: int = field(default=5, metadata={
        "doc": "how often each worker scans its own orders for overdue commands; `0` turns the watchdog off"})
    api_token: str = field(default="", repr=False, metadata={
        "doc": "bearer token `orderhub stuck` sends to a worker's API (a viewer token is enough)", "secret": True})
    retry_attempts: int = field(default=4, metadata={
        "doc": "tries of a step that failed transiently (geocoder timeout, broker send timeout) before "
               "the message is dead-lettered (or, for a send, the worker stops and resumes from its last commit)"})
    retry_backoff_ms: int = field(default=200, metadata={
        "doc": "first retry waits up to this long; each next one up to twice as long (random jitter)"})
    retry_backoff_max_ms: int = field(default=5000, metadata={"doc": "longest wait between two tries"})
    connector_shops: str = field(default="", metadata={
        "doc": "shops file (YAML or TOML) of `orderhub connect`: channel, shop, API root, app key/secret, limits"})
    connector_app_rps: str = field(default=DEFAULT_APP_RPS, metadata={
        "doc": "per-app request limits per channel (requests/s over all the app's shops), `channel=rps,...`"})
    connector_shop_rps: str = field(default=DEFAULT_SHOP_RPS, metadata={
        "doc": "per-shop request limits per channel (requests/s), `channel=rps,...`"})
    connector_headroom_pct: int = field(default=90, metadata={
        "doc": "connectors send at most this share of a limit, so timer jitter never pushes a second over it"})
    connector_overlap_s: int = field(default=60, metadata={
        "doc": "each pull window starts this long before the cursor (> platform clock skew + late writes)"})
    connector_settle_ms: int = field(default=1000, metadata={
        "doc": "a pull window ends this long before now (the platform is still writing the last moment)"})
    connector_poll_ms: int = field(default=2000, metadata={"doc": "pause between two pulls of a shop"})
    connector_lookback_s: int = field(default=3600, metadata={
        "doc": "a shop without a checkpointed cursor is pulled from this long ago"})
    connector_timeout_ms: int = field(default=5000, metadata={"doc": "timeout of one platform API call"})
    connector_attempts: int = field(default=6, metadata={
        "doc": "tries of one API call (jittered exponential backoff) before the window is retried later"})
    connector_web_port: int = field(default=6070, metadata={
        "doc": "port of `orderhub connect`'s web server (webhooks `POST /hooks/{channel}/{shop}`, `/connectors/stats`)"})
    connector_in_worker: int = field(default=0, metadata={
        "doc": "1: `orderhub worker` also runs the connectors of ORDERHUB_CONNECTOR_SHOPS and serves their webhooks"})
    hook_max_age_s: int = field(default=300, metadata={
        "doc": "webhooks whose signed timestamp is further than this from now are refused as replays"})
    tracing: str = field(default="none", metadata={
        "doc": "OpenTelemetry traces: `none`, `console` (one JSON span per line on stdout) or `otlp` "
               "(to ORDERHUB_OTLP_ENDPOINT) (docs/operations.md#tracing)"})
    otlp_endpoint: str = field(default="http://127.0.0.1:4318", metadata={
        "doc": "OTLP/HTTP collector base URL for ORDERHUB_TRACING=otlp (spans go to `<url>/v1/traces`)"})
    trace_sample_pct: int = field(default=100, metadata={
        "doc": "percentage of new traces recorded (0-100); a message's traceparent decides for its steps"})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            name = "ORDERHUB_" + f.name.upper()
            if f.name in overrides:
                values[f.name] = overrides[f.name]
            elif name in env:
                values[f.name] = _convert(name, env[name], f.type)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.processing_guarantee not in GUARANTEES:
            raise SettingsError(f"ORDERHUB_PROCESSING_GUARANTEE must be one of {', '.join(GUARANTEES)}, "
                                f"not {self.processing_guarantee!r}")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"ORDERHUB_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        if not 6 <= self.session_timeout_s <= 300:
            raise SettingsError("ORDERHUB_SESSION_TIMEOUT_S must be between 6 and 300 (Kafka's group limits)")
        if self.trace_offsets not in (0, 1):
            raise SettingsError("ORDERHUB_TRACE_OFFSETS must be 0 or 1")
        if self.partitions < 1:
            raise SettingsError("ORDERHUB_PARTITIONS must be at least 1")
        if self.sasl_mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"ORDERHUB_SASL_MECHANISM must be one of {', '.join(m for m in SASL_MECHANISMS if m)}")
        if self.store not in ("rocksdb://", "memory://"):
            raise SettingsError("ORDERHUB_STORE must be rocksdb:// or memory://")
        if self.geocoder not in GEOCODERS:
            raise SettingsError(f"ORDERHUB_GEOCODER must be one of {', '.join(GEOCODERS)}, not {self.geocoder!r}")
        if self.geocoder == "amap" and not self.amap_key:
            raise SettingsError("ORDERHUB_GEOCODER=amap needs ORDERHUB_AMAP_KEY")
        try:
            parse_channel_modes(self.channel_modes)
        except ValueError as exc:
            raise SettingsError(f"ORDERHUB_CHANNEL_MODES: {exc}") from None
        if not 1 <= self.lag_interval_s <= 300:
            raise SettingsError("ORDERHUB_LAG_INTERVAL_S must be between 1 and 300")
        if self.lag_stall_s < self.lag_interval_s:
            raise SettingsError("ORDERHUB_LAG_STALL_S must be at least ORDERHUB_LAG_INTERVAL_S")
        if self.paid_first_backlog < 0 or not 1 <= self.paid_first_max_pause_s <= 3600:
            raise SettingsError("ORDERHUB_PAID_FIRST_BACKLOG must be >= 0 (0 = off) and "
                                "ORDERHUB_PAID_FIRST_MAX_PAUSE_S between 1 and 3600")
        if self.lag_alert_threshold < 1:
            raise SettingsError("ORDERHUB_LAG_ALERT_THRESHOLD must be at least 1")
        if self.alert_webhook_format not in WEBHOOK_FORMATS:
            raise SettingsError(f"ORDERHUB_ALERT_WEBHOOK_FORMAT must be one of {', '.join(WEBHOOK_FORMATS)}")
        if self.alert_webhook_url and not self.alert_webhook_url.startswith(("http://", "https://")):
            raise SettingsError("ORDERHUB_ALERT_WEBHOOK_URL must start with http:// or https://")
        if self.alert_dedup_s < 0 or self.alert_rate_per_min < 1:
            raise SettingsError("ORDERHUB_ALERT_DEDUP_S must be >= 0 and ORDERHUB_ALERT_RATE_PER_MIN >= 1")
        if self.stuck_after_s < 1:
            raise SettingsError("ORDERHUB_STUCK_AFTER_S must be at least 1")
        if not 0 <= self.stuck_max_recommands <= 10:
            raise SettingsError("ORDERHUB_STUCK_MAX_RECOMMANDS must be between 0 and 10")
        if not 0 <= self.watchdog_interval_s <= 3600:
            raise SettingsError("ORDERHUB_WATCHDOG_INTERVAL_S must be between 0 (off) and 3600")
        if not 1 <= self.retry_attempts <= 20:
            raise SettingsError("ORDERHUB_RETRY_ATTEMPTS must be between 1 and 20")
        if not 1 <= self.retry_backoff_ms <= self.retry_backoff_max_ms:
            raise SettingsError("ORDERHUB_RETRY_BACKOFF_MS must be at least 1 and at most ORDERHUB_RETRY_BACKOFF_MAX_MS")
        parse_rates(self.connector_app_rps, "ORDERHUB_CONNECTOR_APP_RPS")
        parse_rates(self.connector_shop_rps, "ORDERHUB_CONNECTOR_SHOP_RPS")
        if not 10 <= self.connector_headroom_pct <= 100:
            raise SettingsError("ORDERHUB_CONNECTOR_HEADROOM_PCT must be between 10 and 100")
        if self.connector_attempts < 1 or self.connector_timeout_ms < 1 or self.connector_poll_ms < 0:
            raise SettingsError("ORDERHUB_CONNECTOR_ATTEMPTS/_TIMEOUT_MS must be positive, _POLL_MS not negative")
        if self.connector_in_worker not in (0, 1):
            raise SettingsError("ORDERHUB_CONNECTOR_IN_WORKER must be 0 or 1")
        if self.connector_in_worker and not self.connector_shops:
            raise SettingsError("ORDERHUB_CONNECTOR_IN_WORKER=1 needs ORDERHUB_CONNECTOR_SHOPS")
        if self.tracing not in TRACING_EXPORTERS:
            raise SettingsError(f"ORDERHUB_TRACING must be one of {', '.join(TRACING_EXPORTERS)}, not {self.tracing!r}")
        if self.tracing == "otlp" and not self.otlp_endpoint.startswith(("http://", "https://")):
            raise SettingsError("ORDERHUB_OTLP_ENDPOINT must start with http:// or https://")
        if not 0 <= self.trace_sample_pct <= 100:
            raise SettingsError("ORDERHUB_TRACE_SAMPLE_PCT must be between 0 and 100")
        if not self.topic_prefix or any(c in self.topic_prefix for c in " /\\"):
            raise SettingsError(f"ORDERHUB_TOPIC_PREFIX {self.topic_prefix!r} is not a valid topic name prefix")

    @property
    def watched_groups(self) -> list[str]:
        """The consumer groups the lag monitor watches: our own first (and its releaser of parked
        envelopes, `<app id>-unpark`), then ORDERHUB_LAG_GROUPS."""
        extra = [g.strip() for g in self.lag_groups.split(",") if g.strip()]
        return list(dict.fromkeys([self.app_id, f"{self.app_id}-unpark", *extra]))

    @property
    def bootstrap_servers(self) -> str:
        """`host:port,host:port` for aiokafka."""
        return ",".join(s.strip() for s in self.broker.removeprefix("kafka://").split(";") if s.strip())

    @property
    def broker_url(self) -> str:
        """`kafka://host:port;host:port` for Faust."""
        return "kafka://" + ";".join(self.bootstrap_servers.split(","))

    def redacted(self) -> dict[str, object]:
        """Settings for logs: secrets replaced by `***`."""
        return {f.name: ("***" if f.metadata.get("secret") and getattr(self, f.name) else getattr(self, f.name))
                for f in fields(self)}


def _convert(name: str, raw: str, type_: object) -> object:
    type_name = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    if type_name == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
    if type_name == "Path":
        return Path(raw)
    return raw


def settings_table() -> str:
    """The README's settings table (markdown)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for f in fields(Settings):
        default = f.default if not isinstance(f.default, Path) else str(f.default)
        rows.append(f"| `ORDERHUB_{f.name.upper()}` | `{default}` | {f.metadata.get('doc', '')} |")
    return "\n".join(rows)
