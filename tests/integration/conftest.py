"""Integration fixtures: an isolated pipeline per test on the session's broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import Pipeline


@pytest.fixture
async def pipeline(broker, tmp_path: Path) -> AsyncIterator[Pipeline]:  # type: ignore[no-untyped-def]
    p = Pipeline(broker.bootstrap, tmp_path)
    await p.create_topics()
    try:
        yield p
    finally:
        p.stop_all()
