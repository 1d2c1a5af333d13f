"""orderhub worker processes for a benchmark run: start, wait ready, peak RSS, state size, stop."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.bench.errors import BenchError
from app.bench.profile import Profiler
from app.demo import start_worker, stop_worker, wait_ready, worker_env


def peak_rss_bytes(pid: int) -> int:
    """The process's high-water resident set (VmHWM), from /proc; 0 where /proc has none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far, from /proc; 0 where /proc has none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class WorkerGroup:
    """`count` workers of one deployment (`prefix`), each with its own data dir."""

    def __init__(self, bootstrap: str, prefix: str, workdir: Path, *, count: int, partitions: int,
                 guarantee: str, profile: Path | None = None) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.partitions = partitions
        self.guarantee = guarantee
        self.data_dirs = [workdir / f"{prefix}-w{i + 1}" for i in range(count)]
        self.log_path = workdir / f"{prefix}.log"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.peak_rss = 0  # sampled by the caller while the workers still run
        # set by the caller: CPU seconds over the measured phase, idle CPU share, phase wall time
        self.cpu_used = 0.0
        self.idle_cpu_share = 0.0
        self.busy_s = 0.0
        self.profile = profile
        self._profiler: Profiler | None = None

    def start(self) -> None:
        """Start every worker at once (one consumer group generation), then wait until all are ready."""
        for data_dir in self.data_dirs:
            data_dir.mkdir(parents=True, exist_ok=True)
            env = worker_env(self.bootstrap, self.prefix, data_dir, self.partitions)
            env["ORDERHUB_PROCESSING_GUARANTEE"] = self.guarantee
            self.procs.append(start_worker(env, self.log_path))
        with ThreadPoolExecutor(len(self.procs)) as pool:
            for future in [pool.submit(wait_ready, proc, d, self.log_path, 120.0)
                           for proc, d in zip(self.procs, self.data_dirs, strict=True)]:
                try:
                    future.result()
                except RuntimeError as exc:
                    raise BenchError(f"{str(exc).splitlines()[0]}; log {self.log_path}") from None
        if self.profile is not None:
            self._profiler = Profiler(self.procs[0].pid, self.profile)

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise BenchError(f"a worker exited with {proc.returncode} during the run; log {self.log_path}")

    def peak_rss_bytes(self) -> int:
        return max((peak_rss_bytes(p.pid) for p in self.procs), default=0)

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def state_bytes(self) -> int:
        return sum(dir_bytes(d) for d in self.data_dirs)

    def stop(self) -> None:
        if self._profiler is not None:
            self._profiler.stop()
        for proc in self.procs:
            stop_worker(proc)
