"""`orderhub bench`: throughput, latency, memory and state size of the pipeline against a bare baseline."""

from app.bench.errors import BenchError
from app.bench.runner import BenchOptions, run_bench

__all__ = ["BenchError", "BenchOptions", "run_bench"]
