"""`orderhub stuck`: the stuck orders, as a worker's `GET /api/stuck` lists them (all workers' orders).

Asks one worker over HTTP (`--url`, default the ORDERHUB_WEB_HOST:ORDERHUB_WEB_PORT of these
settings) with the bearer token ORDERHUB_API_TOKEN; that worker gathers the answer from every
worker of the group. Standard library HTTP: one GET does not need a client library.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from app.operations.errors import OperationsError
from app.settings import Settings
from app.table_text import render

TIMEOUT_S = 15.0
MAX_LIMIT = 10_000


class WorkerUnreachableError(OperationsError):
    """No worker answered at the URL: exit 2 with one line."""


def default_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.web_host in ("", "0.0.0.0", "::") else settings.web_host  # noqa: S104
    return f"http://{host}:{settings.web_port}"


def fetch(url: str, token: str, limit: int) -> dict[str, Any]:
    target = url.rstrip("/") + "/api/stuck?" + urllib.parse.urlencode({"limit": limit})
    request = urllib.request.Request(target, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (http(s) checked)
            return json.loads(response.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", "")
        except ValueError:
            message = ""
        hint = "; set ORDERHUB_API_TOKEN to a token the workers accept (a viewer is enough)" \
            if exc.code in (401, 403) else ""
        raise OperationsError(f"{url} answered {exc.code}{': ' + message if message else ''}{hint}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WorkerUnreachableError(f"no worker answers at {url} ({reason}); is `orderhub worker` running "
                                     f"with its web server? (--url or ORDERHUB_WEB_HOST/ORDERHUB_WEB_PORT)") from None
    except ValueError:
        raise OperationsError(f"{url} did not answer with JSON: is it an orderhub worker?") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise OperationsError(f"--limit must be between 1 and {MAX_LIMIT}")
    url = args.url or default_url(settings)
    if not url.startswith(("http://", "https://")):
        raise OperationsError(f"--url must start with http:// or https://, not {url!r}")
    answer = fetch(url, settings.api_token, args.limit)
    if args.json:
        print(json.dumps(answer, ensure_ascii=False))
        return 0
    orders = answer.get("orders", [])
    rows = [(o["oli"], o.get("paid_at"), o.get("command_id") or None, o.get("attempts"),
             "yes" if o.get("alerted") else "no", o.get("reason")) for o in orders]
    if rows:
        print(render(("OLI", "PAID-AT", "COMMAND-ID", "ATTEMPTS", "ALERTED", "REASON"), rows, max_width=60))
    unreachable = answer.get("unreachable") or []
    print(f"{len(orders)} stuck order(s); SLA {answer.get('stuck_after_s')} s, "
          f"{answer.get('scanned', 0)} orders scanned"
          + (f"; no answer from {', '.join(unreachable)}" if unreachable else ""), file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("stuck", help="list paid orders the warehouse has not acknowledged (stuck orders)",
                       description="List the stuck orders of every worker: paid orders whose SHIP command the "
                                   "warehouse has not acknowledged within ORDERHUB_STUCK_AFTER_S (with the "
                                   "watchdog's attempts and whether it raised an order_stuck alert), paid "
                                   "orders without a command, and held paid orders. Asks a worker's "
                                   "GET /api/stuck with ORDERHUB_API_TOKEN. Exit 2 with one line when no "
                                   "worker answers.")
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")
    p.add_argument("--limit", type=int, default=50, help=f"at most this many orders (default 50, max {MAX_LIMIT})")
    p.add_argument("--url", help="a worker's web server, http://host:port "
                                 "(default http://ORDERHUB_WEB_HOST:ORDERHUB_WEB_PORT)")
