"""Integration fixture: two workers with their web servers, tokens for every role, seeded orders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from app.brokers import free_port
from app.console.roles import hash_token
from app.demo_data import generate
from tests.integration.harness import Pipeline

PEOPLE = {"vic": "viewer", "olga": "operator", "amy": "approver", "bob": "approver", "ada": "admin"}
#: every change the default policy names needs two approvers here (second level above 0 fen)
POLICY = """
rules:
  - {actions: [change_address, set_carrier], when: paid}
  - {actions: [cancel], when: fulfillment_requested}
  - {actions: [split], when: always}
second_level_above: 0
"""


@dataclass
class Hub:
    pipeline: Pipeline
    urls: list[str]
    paid: list[str]
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, person: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[person]}"} if person else {}

    async def call(self, method: str, path: str, person: str | None = "ada", *, body: Any = None,
                   raw: bytes | None = None, worker: int = 0) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else orjson.dumps(body))
        async with aiohttp.ClientSession() as session, session.request(
                method, self.urls[worker] + path, headers=self.auth(person), data=data,
                timeout=aiohttp.ClientTimeout(total=30)) as response:
            text = await response.read()
            try:
                return response.status, orjson.loads(text)
            except orjson.JSONDecodeError:
                return response.status, text.decode(errors="replace")

    async def wait_for(self, path: str, check: Any, *, person: str = "ada", timeout: float = 30.0,  # noqa: ASYNC109
                       worker: int = 0) -> Any:
        deadline = time.monotonic() + timeout
        status, body = 0, None
        while time.monotonic() < deadline:
            status, body = await self.call("GET", path, person, worker=worker)
            if status == 200 and check(body):
                return body
            await asyncio.sleep(0.3)
        raise AssertionError(f"GET {path}: condition not met in {timeout:.0f} s; last {status}: {str(body)[:500]}"
                             f"\nworker log:\n{self.pipeline.log_tail()}")


@pytest.fixture(scope="module")
def hub(broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:  # type: ignore[no-untyped-def]
    from app.domain.identity import make_oli  # noqa: F401  (import check before workers start)

    tmp: Path = tmp_path_factory.mktemp("console")
    pipeline = Pipeline(broker.bootstrap, tmp)
    asyncio.run(pipeline.create_topics())
    tokens = {person: f"test-token-{person}-{i:04d}" for i, person in enumerate(PEOPLE)}
    (tmp / "tokens.yaml").write_text("tokens:\n" + "".join(
        f"  - {{name: {p}, role: {PEOPLE[p]}, sha256: {hash_token(t)}}}\n" for p, t in tokens.items()))
    (tmp / "policy.yaml").write_text(POLICY)
    env = {"ORDERHUB_TOKENS_FILE": str(tmp / "tokens.yaml"),
           "ORDERHUB_APPROVAL_POLICY_FILE": str(tmp / "policy.yaml"), "ORDERHUB_STUCK_AFTER_S": "1"}
    try:
        ports = [free_port(), free_port()]
        pipeline.start_worker("w1", web_port=ports[0], extra_env=env)
        pipeline.start_worker("w2", web_port=ports[1], extra_env=env)
        stories = generate(40, seed=17)
        topic = {"channel_order": pipeline.names.channel_orders, "payment": pipeline.names.payments}
        asyncio.run(pipeline.produce([(topic[s.kind], s.key, s.value) for st in stories for s in st.sends]))
        paid = sorted(s.oli for s in stories if s.fate == "paid")
        asyncio.run(pipeline.collect(pipeline.names.fulfillment_commands,
                                     until=lambda recs: {r["oli"] for r in recs} >= set(paid), timeout=120))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        yield Hub(pipeline, urls, paid, tokens)
    finally:
        pipeline.stop_all()
