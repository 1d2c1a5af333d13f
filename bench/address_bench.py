"""Address normalisation benchmark: the offline geocoder against jionlp's parser, same mix, same run.

    .venv/bin/python bench/address_bench.py [--samples 20000] [--repeats 5] [--baseline-samples 300]

Prints medians over the repeats, as addresses per second on one core (wall clock and
process CPU time: on a shared machine CPU time is the steadier of the two), plus the
accuracy on the mix. The baseline needs `pip install -e ".[bench-address]"` (jionlp); without it
the baseline lines say so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.address.divisions import load_divisions  # noqa: E402
from app.address.normalizer import OfflineGeocoder  # noqa: E402
from bench.address_mix import Sample, realistic_mix  # noqa: E402


def _as_text(sample: Sample) -> str:
    if sample.text is not None:
        return sample.text
    a = sample.address
    assert a is not None
    return a.province + a.city + a.district + a.detail


def _run(geocoder: OfflineGeocoder, samples: list[Sample]) -> None:
    for s in samples:
        if s.text is not None:
            geocoder.normalize_text(s.text)
        else:
            geocoder.normalize(s.address)  # type: ignore[arg-type]


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _line(label: str, n: int, runs: list[tuple[float, float]]) -> str:
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    return (f"{label:<34} {n / wall:>10,.0f}/s wall {n / cpu:>10,.0f}/s cpu "
            f"{cpu / n * 1e6:>9.1f} µs/address (cpu, median of {len(runs)})")


def accuracy(samples: list[Sample]) -> Counter[str]:
    geocoder = OfflineGeocoder()
    out: Counter[str] = Counter()
    for s in samples:
        got = geocoder.normalize_text(s.text) if s.text is not None else geocoder.normalize(s.address)  # type: ignore[arg-type]
        if s.expected:
            out["correct" if got.resolved and got.adcode == s.expected else "wrong" if got.resolved else "held"] += 1
        else:
            out["guessed" if got.resolved else "held_as_expected"] += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-samples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()

    samples = realistic_mix(args.samples, seed=args.seed)
    forms = Counter(s.form for s in samples)
    print(f"mix: {len(samples)} addresses, seed {args.seed}: " + ", ".join(f"{k} {v}" for k, v in forms.most_common()))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    load_divisions.cache_clear()
    wall, cpu = _timed(lambda: OfflineGeocoder())
    print(f"offline geocoder start-up (read table, build index): {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms cpu")

    cold = []
    warm = []
    for _ in range(args.repeats):
        geocoder = OfflineGeocoder(table=load_divisions())
        cold.append(_timed(lambda g=geocoder: _run(g, samples)))
        warm.append(_timed(lambda g=geocoder: _run(g, samples)))
    uncached = []
    for _ in range(args.repeats):
        geocoder = OfflineGeocoder(table=load_divisions(), cache_size=0)
        uncached.append(_timed(lambda g=geocoder: _run(g, samples)))
    print(_line("offline, no cache", len(samples), uncached))
    print(_line("offline, cold cache (first pass)", len(samples), cold))
    print(_line("offline, warm cache (same mix again)", len(samples), warm))

    outcome = accuracy(samples)
    resolvable = outcome["correct"] + outcome["wrong"] + outcome["held"]
    must_hold = outcome["guessed"] + outcome["held_as_expected"]
    print(f"accuracy: {outcome['correct']}/{resolvable} resolvable correct "
          f"({outcome['correct'] / resolvable:.2%}), wrong {outcome['wrong']}, held {outcome['held']}; "
          f"must-hold guessed {outcome['guessed']}/{must_hold}")

    try:
        wall, cpu = _timed(lambda: __import__("jionlp"))
    except ImportError:
        print('baseline: jionlp not installed (pip install -e ".[bench-address]")')
        return 0
    import jionlp

    print(f"jionlp {jionlp.__version__} import: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms cpu")
    texts = [_as_text(s) for s in samples[: args.baseline_samples]]
    wall, cpu = _timed(lambda: jionlp.parse_location(texts[0]))
    print(f"jionlp first parse (loads its dictionary): {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms cpu")
    base = [_timed(lambda: [jionlp.parse_location(t) for t in texts]) for _ in range(args.repeats)]
    print(_line("jionlp.parse_location (baseline)", len(texts), base))
    offline_same = []
    for _ in range(args.repeats):
        geocoder = OfflineGeocoder(table=load_divisions(), cache_size=0)
        offline_same.append(_timed(lambda g=geocoder: [g.normalize_text(t) for t in texts]))
    print(_line("offline, same texts, no cache", len(texts), offline_same))
    return 0


if __name__ == "__main__":
    sys.exit(main())
