"""`orderhub bench`: throughput, latency, memory and state size of the pipeline against a bare baseline."""

from app.bench.runner import BenchOptions, run_bench

__all__ = ["BenchOptions", "run_bench"]
