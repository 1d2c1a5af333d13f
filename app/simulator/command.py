"""`orderhub simulate`: serve the simulated platforms on 127.0.0.1 until stopped."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web

from app.simulator.server import SimOptions, Simulator, shops_file
from app.simulator.world import WorldSpec, generate_world


@dataclass(frozen=True)
class SimulateArgs:
    spec: WorldSpec
    options: SimOptions
    host: str = "127.0.0.1"
    port: int = 0
    shops_out: Path | None = None
    truth_out: Path | None = None
    run_for_s: float | None = None


async def serve(args: SimulateArgs) -> int:
    simulator = Simulator(generate_world(args.spec), args.options)
    runner = web.AppRunner(simulator.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]
    base_url = f"http://{args.host}:{port}"
    if args.shops_out is not None:
        args.shops_out.write_text(shops_file(simulator.world, base_url, args.options), encoding="utf-8")
    simulator.start_pushing()
    print(orjson.dumps({"url": base_url, "orders": len(simulator.world.orders),
                        "changes": simulator.world.changes(), "channels": list(args.spec.channels),
                        "shops_file": str(args.shops_out) if args.shops_out else None}).decode(), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.run_for_s)
    except TimeoutError:
        pass
    await simulator.stop_pushing()
    if args.truth_out is not None:
        args.truth_out.write_bytes(orjson.dumps(simulator.truth(), option=orjson.OPT_INDENT_2))
    print(orjson.dumps(simulator.stats_summary()).decode(), file=sys.stderr, flush=True)
    await runner.cleanup()
    return 0


def run_simulate(args: SimulateArgs) -> int:
    return asyncio.run(serve(args))


def parse_numbers(text: str, flag: str, *, positive: bool) -> dict[str, float]:
    """`channel=number,...` of a command-line flag; ValueError names the flag."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        channel, sep, raw = part.partition("=")
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not sep or not channel.strip() or value != value or (positive and value <= 0):
            raise ValueError(f"{flag}: expected channel=number{' > 0' if positive else ''}, not {part!r}")
        values[channel.strip()] = value
    return values
