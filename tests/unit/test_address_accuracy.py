"""Accuracy of the offline geocoder on the benchmark's realistic mix (bench/address_mix.py):
at least 99% of resolvable addresses resolve to the right adcode, and no address that
must be held (ambiguous, missing its district, contradicting itself) is resolved."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.address.normalizer import OfflineGeocoder  # noqa: E402
from bench.address_mix import realistic_mix  # noqa: E402


def score(n: int = 5000, seed: int = 11) -> Counter[str]:
    geocoder = OfflineGeocoder()
    outcome: Counter[str] = Counter()
    for sample in realistic_mix(n, seed=seed):
        got = geocoder.normalize_text(sample.text) if sample.text is not None else geocoder.normalize(sample.address)
        if sample.expected:
            outcome["correct" if got.resolved and got.adcode == sample.expected
                    else "wrong" if got.resolved else "held"] += 1
        else:
            outcome["guessed" if got.resolved else "held_as_expected"] += 1
    return outcome


def test_realistic_mix_accuracy() -> None:
    outcome = score()
    resolvable = outcome["correct"] + outcome["wrong"] + outcome["held"]
    assert outcome["correct"] / resolvable >= 0.99, outcome
    assert outcome["wrong"] == 0, outcome
    assert outcome["guessed"] == 0, outcome
    assert outcome["held_as_expected"] > 0  # the mix does contain addresses that must be held
