"""Log lines: JSON with the writing process's pid, receiver PII masked."""

from __future__ import annotations

import io
import logging
import os
import sys

import orjson
import pytest
import structlog

from app.logs import configure_logging, get_logger


@pytest.fixture
def json_lines(monkeypatch):  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # before configuring: the handler writes here
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    configure_logging("INFO", "json")
    yield lambda: [orjson.loads(line) for line in stream.getvalue().splitlines()]
    structlog.configure(**config)
    root.handlers[:], root.level = handlers, level


def test_every_line_names_the_process_and_masks_the_receiver(json_lines) -> None:  # type: ignore[no-untyped-def]
    get_logger("orderhub.test").info("order.seen", receiver_name="张三丰")
    logging.getLogger("faust.test").warning("from the standard library")
    ours, theirs = json_lines()
    assert ours["pid"] == theirs["pid"] == os.getpid()
    assert ours["receiver_name"] == "张**" and ours["event"] == "order.seen"
    assert theirs["event"] == "from the standard library" and theirs["level"] == "warning"
