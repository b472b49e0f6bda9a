"""Scalar random draws, the same numbers as numpy's ``Generator`` methods, faster.

``Generator.uniform(low, high)`` with two floats goes through numpy's
broadcasting machinery and costs about five times a plain ``random()``; the
model draws a few per boat attempt. ``uniform`` here computes exactly what
numpy's does (``low + (high - low) * next_double``), so a seed gives the same
results either way (checked against numpy in the tests).
"""

from __future__ import annotations

import numpy as np


def uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """``rng.uniform(low, high)`` for two floats: the same number from the same state."""
    return low + (high - low) * rng.random()
