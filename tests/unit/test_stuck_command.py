"""Unit: `orderhub stuck` against a stand-in worker on 127.0.0.1 (canned /api/stuck answers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.brokers import free_port
from app.cli import main

ANSWER = {"orders": [{"oli": "tb-shop1-1001", "paid_at": "2026-11-11T02:00:00+00:00",
                      "command_id": "tb-shop1-1001@3", "attempts": 4, "alerted": True,
                      "reason": "raised as stuck: not acknowledged by the warehouse"}],
          "scanned": 12, "stuck_after_s": 60, "max_recommands": 3, "unreachable": []}


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
            ok = self.headers.get("Authorization") == "Bearer good"
            body = json.dumps(ANSWER if ok else {"error": "missing or unknown bearer token"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_lists_the_stuck_orders_as_a_table(worker, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url, seen = worker
    monkeypatch.setenv("ORDERHUB_API_TOKEN", "good")
    assert main(["stuck", "--url", url, "--limit", "5"]) == 0
    out, err = capsys.readouterr()
    assert "tb-shop1-1001@3" in out and "yes" in out and out.splitlines()[0].split()[:3] == [
        "OLI", "PAID-AT", "COMMAND-ID"]
    assert "1 stuck order(s)" in err
    assert seen == [{"path": "/api/stuck?limit=5", "auth": "Bearer good"}]


def test_json_prints_the_answer(worker, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url, _ = worker
    monkeypatch.setenv("ORDERHUB_API_TOKEN", "good")
    assert main(["stuck", "--json", "--url", url]) == 0
    assert json.loads(capsys.readouterr().out) == ANSWER


def test_a_refused_token_is_one_line_with_a_hint(worker, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url, _ = worker
    monkeypatch.setenv("ORDERHUB_API_TOKEN", "bad")
    assert main(["stuck", "--url", url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "401" in err and "ORDERHUB_API_TOKEN" in err


def test_no_worker_is_exit_2_with_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    assert main(["stuck", "--url", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("orderhub stuck: no worker answers at")


@pytest.mark.parametrize("args", [["--limit", "0"], ["--limit", "10001"], ["--url", "ftp://x"]])
def test_bad_arguments_are_exit_2(args: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["stuck", *args]) == 2
    assert capsys.readouterr().err.startswith("orderhub stuck: ")
