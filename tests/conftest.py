"""Shared test configuration: the real-broker fixture (see tests/broker_fixture.py), and
`kill -USR1 <pytest pid>` prints the stacks of the running asyncio tasks (a test that hangs)."""

import asyncio
import signal
import sys

pytest_plugins = ["tests.broker_fixture"]


def _print_tasks(*_: object) -> None:
    try:
        tasks = asyncio.all_tasks(asyncio.get_running_loop())
    except RuntimeError:
        print("no running event loop", file=sys.stderr, flush=True)
        return
    for task in tasks:
        task.print_stack(file=sys.stderr)
    sys.stderr.flush()


signal.signal(signal.SIGUSR1, _print_tasks)
