"""`orderhub normalize` and `orderhub channels`: the channel mappings without a broker.

`normalize` reads one platform payload (a JSON object, pretty-printed or not) or many
(JSON lines) and prints one standard order (SOM) JSON object per input on stdout. The
first input that cannot be mapped stops it: exit code 2 and one line on stderr naming
the input line and the field, e.g. ``orderhub normalize: line 3: douyin:
shop_order.order_status: unknown status code '99'``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

from app.channel_setup import load_channels
from app.domain.errors import OrderhubError
from app.settings import Settings


class NormalizeError(Exception):
    """Bad input for `orderhub normalize`: one line, exit code 2."""


def _inputs(text: str) -> Iterator[tuple[int, object]]:
    """(line number, parsed JSON) for one JSON document or for each line of JSON lines."""
    stripped = text.strip()
    if not stripped:
        raise NormalizeError("no input (expected a JSON object or JSON lines)")
    first_line = text[: len(text) - len(text.lstrip())].count("\n") + 1
    try:
        yield first_line, orjson.loads(stripped)
        return
    except orjson.JSONDecodeError as exc:
        whole_error = exc
    try:
        orjson.loads(stripped.splitlines()[0])
    except orjson.JSONDecodeError:  # not JSON lines either: report the document's own error
        raise NormalizeError(f"not JSON ({whole_error})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise NormalizeError(f"line {number}: not JSON ({exc})") from None


def _read(source: str, stdin: IO[str]) -> str:
    if source == "-":
        return stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NormalizeError(f"cannot read {source}: {exc}") from None


def run_normalize(channel: str, source: str, shop_id: str, *, stdin: IO[str] | None = None,
                  stdout: IO[bytes] | None = None) -> int:
    setup = load_channels(Settings.from_env())
    if channel not in setup.registry:
        raise NormalizeError(f"unknown channel {channel!r} (known: {', '.join(setup.registry.channels())})")
    adapter = setup.registry.get(channel)
    out = stdout if stdout is not None else sys.stdout.buffer
    for number, payload in _inputs(_read(source, stdin if stdin is not None else sys.stdin)):
        if not isinstance(payload, dict):
            raise NormalizeError(f"line {number}: expected a JSON object, got {type(payload).__name__}")
        try:
            order = adapter.adapt(payload, shop_id=shop_id)
        except OrderhubError as exc:
            raise NormalizeError(f"line {number}: {exc}") from None
        out.write(orjson.dumps(order) + b"\n")
        out.flush()
    return 0


def list_channels(stdout: IO[str] | None = None) -> int:
    out = stdout if stdout is not None else sys.stdout
    setup = load_channels(Settings.from_env())
    rows = [(name, str(setup.mode(name)), setup.source(name)) for name in setup.registry.channels()]
    width = max(len(r[0]) for r in rows)
    print(f"{'channel':<{width}}  mode    source", file=out)
    for name, mode, source in rows:
        print(f"{name:<{width}}  {mode:<6}  {source}", file=out)
    return 0
