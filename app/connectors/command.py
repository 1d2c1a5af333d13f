"""`orderhub connect`: run the connectors of the shops file until stopped."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import orjson

from app.admin import client_security
from app.connectors.errors import ShopsFileError
from app.connectors.service import ConnectorOptions, ConnectorService
from app.connectors.shops import ShopConfig, parse_shops
from app.logs import configure_logging, get_logger
from app.settings import Settings, parse_rates
from app.topic_names import TopicNames
from app.tracing import setup_tracing

log = get_logger("orderhub.connectors")


def load_shops(path: Path, settings: Settings) -> list[ShopConfig]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShopsFileError(f"{path}: cannot read ({exc.strerror})") from None
    fmt = "toml" if path.suffix.lower() == ".toml" else "yaml"
    try:
        return parse_shops(text, fmt=fmt, shop_rps=parse_rates(settings.connector_shop_rps, "shop"),
                           app_rps=parse_rates(settings.connector_app_rps, "app"),
                           overlap_s=float(settings.connector_overlap_s), env=os.environ)
    except ShopsFileError as exc:
        raise ShopsFileError(f"{path}: {exc}") from None


def connector_options(settings: Settings, *, web_port: int | None) -> ConnectorOptions:
    security = client_security(settings)
    return ConnectorOptions(
        bootstrap=settings.bootstrap_servers, names=TopicNames(settings.topic_prefix),
        partitions=settings.partitions, replication=settings.replication,
        headroom=settings.connector_headroom_pct / 100, settle_s=settings.connector_settle_ms / 1000,
        poll_s=settings.connector_poll_ms / 1000, lookback_s=float(settings.connector_lookback_s),
        timeout_s=settings.connector_timeout_ms / 1000, attempts=settings.connector_attempts,
        hook_max_age_s=float(settings.hook_max_age_s), web_host=settings.web_host, web_port=web_port,
        client=tuple(security.items()))


async def _run(shops: list[ShopConfig], options: ConnectorOptions, pull: bool) -> int:
    service = ConnectorService(shops, options)
    await service.start(pull=pull)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(orjson.dumps({"shops": len(shops), "hooks": f"http://{options.web_host}:{service.web_port}"
                        if service.web_port else None}).decode(), flush=True)
    await stop.wait()
    await service.stop()
    log.info("connector.stopped", stats=service.stats()["channels"])
    return 0


def run_connect(settings: Settings, shops_path: Path, *, web_port: int | None, pull: bool) -> int:
    configure_logging(settings.log_level, settings.log_format)
    setup_tracing(settings, service="orderhub-connect")
    shops = load_shops(shops_path, settings)
    return asyncio.run(_run(shops, connector_options(settings, web_port=web_port), pull))
