"""The fast scalar draws give numpy's numbers, so seeds give the same results."""

from __future__ import annotations

import numpy as np

from sim.model.draws import uniform


def test_uniform_is_numpys_uniform_from_the_same_state():
    ours, theirs, bounds = np.random.default_rng(11), np.random.default_rng(11), np.random.default_rng(3)
    for _ in range(50_000):
        low = float(bounds.uniform(-500.0, 500.0))
        high = low + float(bounds.exponential(50.0)) * (bounds.random() < 0.95)  # some with high == low
        assert uniform(ours, low, high) == theirs.uniform(low, high)
    assert ours.random() == theirs.random()  # and both streams are at the same place
