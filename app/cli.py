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

    if args.source == "simulate":
        from app.demo_simulate import run_simulated_demo

        if args.orders < 1:
            raise UsageError("orderhub demo: --orders must be at least 1")
        return run_simulated_demo(DemoOptions(orders=args.orders, broker=args.broker, seed=args.seed,
                                              timeout_s=args.timeout, partitions=args.partitions, rate=args.rate))
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


def _cmd_simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.platforms import CHANNELS
    from app.settings import Settings
    from app.simulator.command import SimulateArgs, parse_numbers, run_simulate
    from app.simulator.server import SimOptions
    from app.simulator.world import WorldSpec

    settings = Settings.from_env()
    channels = tuple(c.strip() for c in args.channels.split(",") if c.strip()) if args.channels else CHANNELS
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise UsageError(f"orderhub simulate: unknown channel {unknown[0]!r} (known: {', '.join(CHANNELS)})")
    if args.orders < 1 or args.shops < 1 or args.duration <= 0:
        raise UsageError("orderhub simulate: --orders, --shops and --duration must be positive")
    for name in ("error_share", "timeout_share", "push_drop"):
        if not 0 <= getattr(args, name) <= 1:
            raise UsageError(f"orderhub simulate: --{name.replace('_', '-')} must be between 0 and 1")
    try:
        app_rps = parse_numbers(args.app_rps or settings.connector_app_rps, "--app-rps", positive=True)
        shop_rps = parse_numbers(args.shop_rps or settings.connector_shop_rps, "--shop-rps", positive=True)
        skew = parse_numbers(args.skew, "--skew", positive=False)
    except ValueError as exc:
        raise UsageError(f"orderhub simulate: {exc}") from None
    spec = WorldSpec(channels=channels, orders=args.orders, shops_per_channel=args.shops, duration_s=args.duration,
                     seed=args.seed, skew_s=skew, late_write_max_s=args.late_max, push_drop_share=args.push_drop)
    options = SimOptions(app_rps=app_rps, shop_rps=shop_rps, error_share=args.error_share,
                         timeout_share=args.timeout_share, hang_s=args.hang, hook_url=args.hook_url or "")
    return run_simulate(SimulateArgs(spec, options, port=args.port, run_for_s=args.run_for,
                                     shops_out=Path(args.shops_out) if args.shops_out else None,
                                     truth_out=Path(args.truth) if args.truth else None))


def _cmd_connect(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from app.connectors.command import run_connect
    from app.connectors.errors import ShopsFileError
    from app.settings import Settings

    if args.broker:
        os.environ["ORDERHUB_BROKER"] = args.broker
    settings = Settings.from_env()
    shops = args.shops or settings.connector_shops
    if not shops:
        raise UsageError("orderhub connect: give --shops FILE or set ORDERHUB_CONNECTOR_SHOPS")
    web_port = None if args.without_web else (args.web_port if args.web_port is not None
                                              else settings.connector_web_port)
    try:
        return run_connect(settings, Path(shops), web_port=web_port, pull=not args.push_only)
    except ShopsFileError as exc:
        raise UsageError(f"orderhub connect: {exc}") from None


def _cmd_channels(args: argparse.Namespace) -> int:
    from app.normalize import list_channels

    return list_channels()


def _cmd_normalize(args: argparse.Namespace) -> int:
    from app.normalize import NormalizeError, run_normalize

    try:
        return run_normalize(args.channel, args.file, args.shop_id)
    except NormalizeError as exc:
        raise UsageError(f"orderhub normalize: {exc}") from None


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
def _cmd_rules(args: argparse.Namespace) -> int:
    from app import rules_cli

    action = args.rules_action
    if action == "check":
        return rules_cli.check(args.file)
    if action in ("route", "explain"):
        return rules_cli.route(args.rules, args.orders, args.skus, explain=action == "explain")
    if action == "dry-run":
        if args.last < 1:
            raise UsageError("orderhub rules dry-run: --last must be at least 1")
        return rules_cli.dry_run(args.file, args.orders, args.baseline, args.skus, args.last, args.broker)
    if action == "apply":
        return rules_cli.apply(args.file, args.broker, args.actor, args.reason)
    if action == "list":
        return rules_cli.list_rules(args.broker, args.json)
    return rules_cli.disable(args.id, args.broker, args.actor, args.reason)


def _cmd_skus(args: argparse.Namespace) -> int:
    from app import rules_cli

    return rules_cli.import_skus(args.file, args.broker)


def _add_audit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--actor", default="", help="who makes the change, for the audit entry (default: login name)")
    p.add_argument("--reason", default="", help="why, for the audit entry")


def _add_rules_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rules", help="check, try, publish and list routing rules (docs/rules.md)",
                       description="Routing rules: CEL conditions over an order's facts, with actions "
                                   "(set_carrier, set_warehouse, hold, add_tag, require_approval). "
                                   "check/route/explain work on files without a broker.")
    rs = p.add_subparsers(dest="rules_action", metavar="ACTION", required=True, parser_class=_Parser)
    c = rs.add_parser("check", help="validate a rules file; errors name the rule id and line:column")
    c.add_argument("file")
    for name, text in (("route", "print the routing decision of each order as one JSON line"),
                       ("explain", "like route, plus what every rule did for the order")):
        r = rs.add_parser(name, help=text, description=text + " (no broker).")
        r.add_argument("--rules", required=True, help="rules file (YAML or JSON)")
        r.add_argument("--skus", help="SKU catalog CSV for weights (default: none, weights unknown)")
        r.add_argument("orders", nargs="?", default="-",
                       help="standard order JSON: one object, an array or JSON lines; - = stdin (default)")
    d = rs.add_parser("dry-run", help="how many decisions a rules file would change, by rule",
                      description="Route recent orders with the published rules (or --baseline) and with "
                                  "FILE; print how many decisions change, by rule, as JSON.")
    d.add_argument("file")
    d.add_argument("--orders", help="JSON lines of standard orders (default: the orders table's changelog)")
    d.add_argument("--baseline", help="rules file to compare with (default: the published rules)")
    d.add_argument("--skus", help="SKU catalog CSV (default: the published catalog, or none with --orders)")
    d.add_argument("--last", type=int, default=1000, help="replay the last N orders (default 1000)")
    d.add_argument("--broker", help="host:port (overrides ORDERHUB_BROKER)")
    a = rs.add_parser("apply", help="publish a rules file (changed rules get the next version)")
    a.add_argument("file")
    a.add_argument("--broker", help="host:port (overrides ORDERHUB_BROKER)")
    _add_audit_args(a)
    li = rs.add_parser("list", help="list the published rules")
    li.add_argument("--json", action="store_true", help="one JSON object per rule")
    li.add_argument("--broker", help="host:port (overrides ORDERHUB_BROKER)")
    di = rs.add_parser("disable", help="disable a published rule (publishes its next version)")
    di.add_argument("id")
    di.add_argument("--broker", help="host:port (overrides ORDERHUB_BROKER)")
    _add_audit_args(di)
    p.set_defaults(func=_cmd_rules)

    p = sub.add_parser("skus", help="SKU catalog: `skus import FILE.csv` publishes it",
                       description="The SKU catalog maps platform SKUs to internal SKUs and weights.")
    ss = p.add_subparsers(dest="skus_action", metavar="ACTION", required=True, parser_class=_Parser)
    i = ss.add_parser("import", help="publish a catalog CSV to the compacted skus topic (key channel:sku)",
                      description="Columns: channel, sku_id, outer_sku, internal_sku, weight_g, length_mm, "
                                  "width_mm, height_mm, category, warehouses (|-separated).")
    i.add_argument("file")
    i.add_argument("--broker", help="host:port (overrides ORDERHUB_BROKER)")
    p.set_defaults(func=_cmd_skus)


def _ops_settings(args: argparse.Namespace) -> object:
    """Settings for the operations commands: ORDERHUB_* plus an optional --broker."""
    from app.settings import Settings

    broker = getattr(args, "broker", None)
    return Settings.from_env(**({"broker": broker} if broker else {}))


def _cmd_dlq(args: argparse.Namespace) -> int:
    from app import dlq_command
    from app.operations.errors import OperationsError

    try:
        return dlq_command.run(args, _ops_settings(args))  # type: ignore[arg-type]
    except OperationsError as exc:
        raise UsageError(f"orderhub dlq {args.dlq_action}: {exc}") from None


def _cmd_lag(args: argparse.Namespace) -> int:
    from app import lag_command

    if not 0 < args.interval <= 300:
        raise UsageError("orderhub lag: --interval must be between 0 and 300 seconds")
    return lag_command.run(args, _ops_settings(args))  # type: ignore[arg-type]


def _cmd_pause_resume(args: argparse.Namespace) -> int:
    from app import control_command
    from app.operations.errors import OperationsError

    if not hasattr(args, "reason"):
        args.reason = None
    try:
        return control_command.run(args, _ops_settings(args))  # type: ignore[arg-type]
    except OperationsError as exc:
        raise UsageError(f"orderhub {args.action}: {exc}") from None


def _cmd_stuck(args: argparse.Namespace) -> int:
    from app import stuck_command
    from app.operations.errors import OperationsError

    try:
        return stuck_command.run(args, _ops_settings(args))  # type: ignore[arg-type]
    except OperationsError as exc:
        raise UsageError(f"orderhub stuck: {exc}") from None


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
    p.add_argument("--source", choices=("generated", "simulate"), default="generated",
                   help="`generated`: orders sent straight to Kafka (default); `simulate`: the platform "
                        "simulator's orders, pulled and pushed by the connectors (--rate is then orders/s created "
                        "on the platforms)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("simulate", help="serve simulated platform order APIs on 127.0.0.1",
                       description="Serve the order APIs of the simulated platforms (list/detail, paging, "
                                   "rate limits with each platform's error, clock skew, late writes, 5xx and "
                                   "hanging calls, signed webhooks) over seeded orders that change status "
                                   "over time. Prints one JSON line with the URL; Ctrl-C stops it. "
                                   "GET /_sim/truth is every order and change, GET /_sim/stats the counters.")
    p.add_argument("--orders", type=int, default=600, help="orders over all channels (default 600)")
    p.add_argument("--channels", default="", help="comma-separated channels (default: all the simulator knows)")
    p.add_argument("--shops", type=int, default=2, help="shops per channel (default 2)")
    p.add_argument("--duration", type=float, default=30.0,
                   help="orders are created over this many seconds; changes go on to 1.5x (default 30)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--port", type=int, default=0, help="listen port (default: a free one)")
    p.add_argument("--hook-url", default="", help="push every change to URL/hooks/{channel}/{shop}")
    p.add_argument("--error-share", type=float, default=0.02, help="share of calls answered 5xx (default 0.02)")
    p.add_argument("--timeout-share", type=float, default=0.01, help="share of calls that hang (default 0.01)")
    p.add_argument("--hang", type=float, default=6.0, help="seconds a hanging call hangs (default 6)")
    p.add_argument("--app-rps", default="", help="per-app limits, channel=rps,... (default ORDERHUB_CONNECTOR_APP_RPS)")
    p.add_argument("--shop-rps", default="", help="per-shop limits (default ORDERHUB_CONNECTOR_SHOP_RPS)")
    p.add_argument("--skew", default="douyin=2,jd=-3,kuaishou=1",
                   help="platform clock minus real clock per channel, seconds (default douyin=2,jd=-3,kuaishou=1)")
    p.add_argument("--late-max", type=float, default=2.0, help="changes show up in lists up to this late (s)")
    p.add_argument("--push-drop", type=float, default=0.0, help="share of pushes the platform loses")
    p.add_argument("--shops-out", help="write a shops file for `orderhub connect` here")
    p.add_argument("--truth", help="write the ground truth (every order and change) here when stopping")
    p.add_argument("--run-for", type=float, help="stop after this many seconds")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("connect", help="pull orders from the platforms and receive their webhooks",
                       description="Run the connectors of a shops file: per shop an incremental pull by "
                                   "modified-time window (cursor checkpointed in <prefix>.connector-cursors), "
                                   "paced under the per-shop and per-app limits, and the webhook receiver "
                                   "POST /hooks/{channel}/{shop}; envelopes go to <prefix>.channel-orders. "
                                   "See docs/connectors.md.")
    p.add_argument("--shops", help="shops file, YAML or TOML (default ORDERHUB_CONNECTOR_SHOPS)")
    p.add_argument("--broker", help="bootstrap servers (overrides ORDERHUB_BROKER)")
    p.add_argument("--web-port", type=int, help="webhook server port (default ORDERHUB_CONNECTOR_WEB_PORT)")
    p.add_argument("--without-web", action="store_true", help="no webhook server (pull only)")
    p.add_argument("--push-only", action="store_true", help="no pulls (webhooks only)")
    p.set_defaults(func=_cmd_connect)


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

    p = sub.add_parser("channels", help="list the channels orderhub can ingest, with mode and source",
                       description="List the loaded channels: the built-in mapping files and those of "
                                   "ORDERHUB_CHANNELS_DIR, with their mode (ORDERHUB_CHANNEL_MODES) and "
                                   "where each came from. A bad mapping file: exit 2, one line naming it.")
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
    p = sub.add_parser("normalize", help="map platform order JSON to the standard order model (no broker)",
                       description="Read one platform order payload (a JSON object, bare or as the API "
                                   "response) or many (JSON lines) and print one standard order JSON "
                                   "object per input on stdout. Invalid input: exit 2 and one line on "
                                   "stderr naming the input line and the field.")
    p.add_argument("--channel", required=True, help="channel name (see `orderhub channels`)")
    p.add_argument("--shop-id", default="shop", help="shop id for the OLI (default: shop)")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="input file, or - for stdin (default)")
    p.set_defaults(func=_cmd_normalize)
    _add_rules_parser(sub)

    from app.dlq_command import add_parser as add_dlq_parser

    add_dlq_parser(sub)
    sub.choices["dlq"].set_defaults(func=_cmd_dlq)

    from app.lag_command import add_parser as add_lag_parser

    add_lag_parser(sub)
    sub.choices["lag"].set_defaults(func=_cmd_lag)

    from app.stuck_command import add_parser as add_stuck_parser

    add_stuck_parser(sub)
    sub.choices["stuck"].set_defaults(func=_cmd_stuck)

    from app.control_command import add_parsers as add_control_parsers

    add_control_parsers(sub)
    for name in ("pause", "resume"):
        sub.choices[name].set_defaults(func=_cmd_pause_resume)
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
        from app.channels.errors import MappingError
        from app.connectors.errors import ShopsFileError
        from app.settings import SettingsError

        if isinstance(exc, SettingsError | BrokerError | MappingError | ShopsFileError):
            print(f"orderhub: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
