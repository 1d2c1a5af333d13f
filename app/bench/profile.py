"""Where a worker's time goes: py-spy attached to it, and the top costs of the recorded stacks.

py-spy (`pip install -e .[bench]`) samples the worker from outside, so the worker runs
unmodified. Its raw output has one line per distinct stack: `frame;frame;...;frame count`,
each frame `function (file:line)`.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

from app.bench.errors import BenchError


class Profiler:
    """`py-spy record` on one process until `stop()`."""

    def __init__(self, pid: int, output: Path) -> None:
        binary = shutil.which("py-spy") or str(Path(__import__("sys").executable).with_name("py-spy"))
        if not Path(binary).exists():
            raise BenchError("--profile needs py-spy: pip install -e '.[bench]'")
        self.output = output
        self._proc = subprocess.Popen([binary, "record", "-p", str(pid), "-f", "raw", "--nonblocking",
                                       "-o", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def _short(frame: str) -> str:
    """`send (faust/topics.py:123)` -> `faust/topics.py:send`."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "lib/python3.":
                path = "stdlib:" + path.split("/", 1)[-1]
            break
    else:
        path = path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] if "/" in path else path
    return f"{path}:{name}"


def top_costs(raw: Path, n: int = 15) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(samples, top self-time functions, top inclusive-time functions), shares of all samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return 0, [], []
    return (total, [(k, v / total) for k, v in own.most_common(n)],
            [(k, v / total) for k, v in inclusive.most_common(n + 10)])


def render(raw: Path, n: int = 15) -> str:
    total, own, inclusive = top_costs(raw, n)
    lines = [f"profile of the worker ({total:,} samples, {raw}):", "  self time:"]
    lines += [f"    {share:6.1%}  {name}" for name, share in own]
    lines += ["  inclusive time:"]
    lines += [f"    {share:6.1%}  {name}" for name, share in inclusive]
    return "\n".join(lines)
