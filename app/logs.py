"""Logging: structlog for our lines and for the standard-library lines of Faust and aiokafka.

JSON lines in production, readable lines on a TTY. Receiver PII is masked by a processor,
and tracebacks never render local variables, so order data stays out of the logs.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

from app.tracing import add_trace_ids

_PII_KEYS = frozenset({"receiver_name", "receiver_phone", "receiver_detail", "name", "phone", "detail"})


def mask(value: str) -> str:
    """Keep the first character and the length: "张三丰" -> "张**"."""
    return value[:1] + "*" * (len(value) - 1) if value else value


def _mask_pii(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in _PII_KEYS.intersection(event_dict):
        value = event_dict[key]
        if isinstance(value, str):
            event_dict[key] = mask(value)
    return event_dict


def _add_pid(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Which process wrote the line: several workers on one host often share a log."""
    event_dict["pid"] = os.getpid()
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_pid,
        _mask_pii,
        add_trace_ids,  # trace_id/span_id of the current span, when tracing
    ]
    renderer: Any
    if use_json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
            if _has_rich() else structlog.dev.plain_traceback)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        # below-level methods are no-ops: a per-event DEBUG line costs one call, no processor
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
