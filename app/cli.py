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


def _cmd_channels(args: argparse.Namespace) -> int:
    from app.channels import default_registry

    for name in default_registry().channels():
        print(name)
    return 0


def _cmd_address(args: argparse.Namespace) -> int:
    from app.address_command import AddressInputError, run_address, stdin_lines
    from app.geocoders import make_geocoder
    from app.settings import Settings

    if args.text is None and sys.stdin.isatty():
        raise UsageError("orderhub address: give TEXT, or - to read one address per line from standard input")
    if args.text is not None and args.text != "-" and not args.text.strip():
        raise UsageError("orderhub address: TEXT is empty")
    lines = stdin_lines() if args.text in (None, "-") else [args.text]
    try:
        return run_address(make_geocoder(Settings.from_env()), lines, sys.stdout,
                           province=args.province, city=args.city, district=args.district)
    except AddressInputError as exc:
        raise UsageError(f"orderhub address: {exc}") from None


def _cmd_token(args: argparse.Namespace) -> int:
    from app.console.roles import Role, hash_token, new_token

    if not args.name.strip() or any(c in args.name for c in ":{}[]#\n"):
        raise UsageError(f"orderhub token: NAME {args.name!r} must be a plain non-empty name")
    token = new_token()
    print(f"token: {token}", file=sys.stderr)
    print(f"  - {{name: {args.name}, role: {Role(args.role).value}, sha256: {hash_token(token)}}}")
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

    p = sub.add_parser("channels", help="list the channels orderhub can ingest")
    p.set_defaults(func=_cmd_channels)

    p = sub.add_parser("address", help="normalise addresses to province/city/district and adcode",
                       description="Normalise receiver addresses offline (or with the geocoder "
                                   "ORDERHUB_GEOCODER names) and print one JSON object per input line: "
                                   "province, city, district, adcode, detail, confidence, resolved, "
                                   "candidates. An ambiguous or incomplete address is not guessed: "
                                   "resolved is false and candidates lists the choices.")
    p.add_argument("text", nargs="?", metavar="TEXT|-",
                   help="one address line, or - to read one address per line from standard input")
    p.add_argument("--province", default="", help="platform split field, applied to every line")
    p.add_argument("--city", default="", help="platform split field, applied to every line")
    p.add_argument("--district", default="", help="platform split field, applied to every line")
    p.set_defaults(func=_cmd_address)

    p = sub.add_parser("token", help="make an API token for the web views",
                       description="Print a new random API token (on stderr, shown once) and the line to "
                                   "add under `tokens:` in ORDERHUB_TOKENS_FILE (on stdout; it holds only "
                                   "the token's SHA-256).")
    p.add_argument("name", help="who uses the token (recorded as the actor in the audit)")
    p.add_argument("role", choices=("viewer", "operator", "approver", "admin"))
    p.set_defaults(func=_cmd_token)
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
