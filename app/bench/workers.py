"""orderhub worker processes for a benchmark run: start, wait ready, peak RSS, state size, stop."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class WorkerGroup:
    """`count` workers of one deployment (`prefix`), each with its own data dir."""

    def __init__(self, bootstrap: str, prefix: str, workdir: Path, *, count: int, partitions: int,
                 guarantee: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.partitions = partitions
        self.guarantee = guarantee
        self.data_dirs = [workdir / f"{prefix}-w{i + 1}" for i in range(count)]
        self.log_path = workdir / f"{prefix}.log"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.peak_rss = 0  # sampled by the caller while the workers still run

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
                future.result()

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError(f"worker exited with {proc.returncode} during the run:\n" + "\n".join(tail))

    def peak_rss_bytes(self) -> int:
        return max((peak_rss_bytes(p.pid) for p in self.procs), default=0)

    def state_bytes(self) -> int:
        return sum(dir_bytes(d) for d in self.data_dirs)

    def stop(self) -> None:
        for proc in self.procs:
            stop_worker(proc)
