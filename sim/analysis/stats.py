"""Statistics of replicated runs: means with intervals, and the labels of scenarios and sweep points."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def label_frame(summaries: pd.DataFrame) -> pd.Series:
    """Each run's scenario name, with its sweep point in brackets when the batch swept keys."""
    sweep_cols = [c for c in summaries.columns if c.startswith("sweep.")]
    if not sweep_cols:
        return summaries["scenario"].astype(str)
    point = summaries[sweep_cols].astype(str).apply(
        lambda r: ", ".join(f"{c.removeprefix('sweep.')}={v}" for c, v in r.items()), axis=1)
    return summaries["scenario"].astype(str) + " [" + point + "]"


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-interval of the mean (NaNs dropped)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    if len(v) < 2:
        return (m, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return (m, m - half, m + half)
