"""The `orderhub` command. Each subcommand exits 0 on success and 2 with a one-line error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app import __version__


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _cmd_worker(args: argparse.Namespace) -> int:
    import os

    from app.settings import Settings
    from app.worker import run_worker

    # The flags become the environment the Faust app is built from (app/main.py).
    for flag, name in (("broker", "BROKER"), ("web_port", "WEB_PORT"), ("data_dir", "DATA_DIR")):
        value = getattr(args, flag)
        if value is not None:
            os.environ[f"ORDERHUB_{name}"] = str(value)
    return run_worker(Settings.from_env(), web=not args.without_web)


def _cmd_broker(args: argparse.Namespace) -> int:
    from app.brokers import run_broker_forever

    return run_broker_forever(args.kind, args.port)


def _cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import DemoOptions, run_demo

    if args.orders < 1:
        raise UsageError("orderhub demo: --orders must be at least 1")
    if args.rate <= 0:
        raise UsageError("orderhub demo: --rate must be positive")
    return run_demo(DemoOptions(orders=args.orders, broker=args.broker, seed=args.seed,
                                timeout_s=args.timeout, partitions=args.partitions, rate=args.rate))


def _cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.bench import BenchError, BenchOptions, run_bench

    for flag in ("events", "runs", "partitions"):
        if getattr(args, flag) < 1:
            raise UsageError(f"orderhub bench: --{flag} must be at least 1")
    if args.rate <= 0 or args.latency_seconds <= 0 or args.timeout <= 0:
        raise UsageError("orderhub bench: --rate, --latency-seconds and --timeout must be positive")
    options = BenchOptions(
        broker=args.broker, events=args.events, runs=args.runs, rate=args.rate,
        latency_seconds=args.latency_seconds, partitions=args.partitions, seed=args.seed,
        timeout_s=args.timeout, skip_baseline=args.skip_baseline, skip_latency=args.skip_latency,
        skip_scaling=args.skip_scaling, skip_exactly_once=args.skip_exactly_once,
        profile=Path(args.profile).resolve() if args.profile else None)
    try:
        return run_bench(options)
    except BenchError as exc:  # a phase failed: say where, without a traceback
        print(f"orderhub bench: {exc}", file=sys.stderr)
        return 1


def _cmd_channels(args: argparse.Namespace) -> int:
    from app.channels import default_registry

    for name in default_registry().channels():
        print(name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="orderhub", description="Event-driven order router for multi-channel e-commerce.")
    parser.add_argument("--version", action="version", version=f"orderhub {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("worker", help="run a stream worker (scale out by running more)",
                       description="Run a stream worker. Settings come from ORDERHUB_* environment "
                                   "variables (see README); the flags below override them.")
    p.add_argument("--broker", help="bootstrap servers, host:port (overrides ORDERHUB_BROKER)")
    p.add_argument("--web-port", type=int, help="web server port (overrides ORDERHUB_WEB_PORT)")
    p.add_argument("--data-dir", help="table data dir (overrides ORDERHUB_DATA_DIR)")
    p.add_argument("--without-web", action="store_true", help="do not start the web server")
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("broker", help="start a local broker on 127.0.0.1 (Ctrl-C stops it)",
                       description="Start a broker on 127.0.0.1 and print its bootstrap address when "
                                   "ready. `embedded` is the in-memory Tansu broker (no transactions); "
                                   "`kafka` is Apache Kafka (KRaft) from Maven Central jars.")
    p.add_argument("--kind", choices=("embedded", "kafka"), default="embedded")
    p.add_argument("--port", type=int, help="listener port (default: a free one)")
    p.set_defaults(func=_cmd_broker)

    p = sub.add_parser("demo", help="run the pipeline end to end on generated orders",
                       description="Start the embedded broker (or use --broker) and a worker, send "
                                   "generated orders, payments and WMS acks, wait until all are "
                                   "processed and print a summary; the last line is JSON.")
    p.add_argument("--orders", type=int, default=2000, help="orders to generate (default 2000)")
    p.add_argument("--broker", help="host:port of a running broker, or `kafka` / `embedded` to start one "
                                    "(default: the embedded broker)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--partitions", type=int, default=4, help="partitions per topic (default 4)")
    p.add_argument("--rate", type=float, default=100.0, help="orders sent per second (default 100)")
    p.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("bench", help="measure throughput, latency, memory and state size",
                       description="Start a broker (or use --broker), preload generated events and measure, "
                                   "in the same run: a bare aiokafka baseline, the pipeline with "
                                   "at_least_once (and exactly_once on a broker with transactions), "
                                   "1 vs 2 workers, payment → command latency at a fixed load and at "
                                   "saturation, peak worker RSS and RocksDB size. Prints a table; the "
                                   "last line is one JSON object.")
    p.add_argument("--broker", default="embedded",
                   help="`embedded` (default), `kafka` (Apache Kafka, adds exactly_once) or host:port")
    p.add_argument("--events", type=int, default=100_000, help="input events per run (default 100000)")
    p.add_argument("--runs", type=int, default=3, help="runs per throughput figure; the median is reported (default 3)")
    p.add_argument("--rate", type=float, default=1000.0, help="offered load for latency, orders/s (default 1000)")
    p.add_argument("--latency-seconds", type=float, default=10.0, help="length of each latency phase (default 10)")
    p.add_argument("--partitions", type=int, default=4, help="partitions per topic (default 4)")
    p.add_argument("--seed", type=int, default=7, help="random seed of the generated orders (default 7)")
    p.add_argument("--timeout", type=float, default=300.0, help="give up a phase after this many seconds")
    p.add_argument("--skip-baseline", action="store_true", help="do not run the bare baseline")
    p.add_argument("--skip-latency", action="store_true", help="do not measure latency")
    p.add_argument("--skip-scaling", action="store_true", help="do not run 2 workers")
    p.add_argument("--skip-exactly-once", action="store_true", help="do not run exactly_once (Kafka only)")
    p.add_argument("--profile", metavar="FILE",
                   help="record the first at_least_once worker with py-spy into FILE (raw stacks) and "
                        "print its top costs (needs `pip install -e .[bench]`)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("channels", help="list the channels orderhub can ingest")
    p.set_defaults(func=_cmd_channels)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args))
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from app.brokers import BrokerError
        from app.settings import SettingsError

        if isinstance(exc, SettingsError | BrokerError):
            print(f"orderhub: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
