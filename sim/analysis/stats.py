"""Statistics of replicated runs: means with intervals, and the labels of scenarios and sweep points."""

from __future__ import annotations

from dataclasses import dataclass, replace

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


@dataclass(frozen=True)
class Interval:
    """A mean with its interval, and how much of the interval is parameter uncertainty.

    Attributes:
        mean: the mean over every run (every draw and seed).
        low, high: the interval.
        n: runs (or pairs of runs).
        draws: parameter draws among them (1 without a posterior).
        sd_parametric: spread of the expected value between parameter draws, net of chance (NaN with one draw).
        se_chance: the part of the interval's width due to chance in the runs (the seeds), as a standard error.
        parametric_share: share of the interval's variance that is parameter uncertainty (NaN with one draw).
    """

    mean: float
    low: float
    high: float
    n: int
    draws: int = 1
    sd_parametric: float = float("nan")
    se_chance: float = float("nan")
    parametric_share: float = float("nan")


def interval(values: np.ndarray, draws: np.ndarray | None = None, level: float = 0.95) -> Interval:
    """The mean of ``values`` with an interval that holds parameter uncertainty when they come from several draws.

    With one draw (or none given) it is the t-interval of the mean across replications
    (:func:`mean_ci`). With several draws of a posterior, each run under the same seeds,
    the variance of the mean is split in two, as in a one-way random-effects layout:
    chance, the spread between seeds within a draw (pooled variance s_w^2, over K draws
    of R runs: s_w^2 / (K R)), and parameter uncertainty, the spread of the draws' own
    means net of chance (s_p^2 = max(0, var of the draw means - s_w^2 / R)). The interval
    is mean +- t(K - 1) * sqrt(s_p^2 (1 + 1/K) + s_w^2 / (K R)): where the expected value
    lies for a parameter set of the posterior, with the error of estimating it from the
    runs. NaNs are dropped.
    """
    v = np.asarray(values, dtype=float)
    groups = np.zeros(len(v), dtype=int) if draws is None else np.asarray(draws)
    keep = ~np.isnan(v)
    v, groups = v[keep], groups[keep]
    labels = np.unique(groups)
    if len(labels) < 2:
        m, lo, hi = mean_ci(v, level)
        se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) >= 2 else float("nan")
        return Interval(m, lo, hi, len(v), 1, se_chance=se)
    means = np.array([v[groups == g].mean() for g in labels])
    sizes = np.array([(groups == g).sum() for g in labels])
    within = [v[groups == g].var(ddof=1) for g in labels if (groups == g).sum() > 1]
    k, r = len(labels), float(sizes.mean())
    s_w2 = float(np.mean(within)) if within else 0.0
    s_p2 = max(0.0, float(means.var(ddof=1)) - s_w2 / r)
    chance = s_w2 / (k * r)
    parametric = s_p2 * (1.0 + 1.0 / k)
    total = chance + parametric
    m = float(v.mean())
    half = float(stats.t.ppf(0.5 + level / 2, k - 1) * np.sqrt(total))
    share = parametric / total if total > 0 else float("nan")
    return Interval(m, m - half, m + half, len(v), k, float(np.sqrt(s_p2)), float(np.sqrt(chance)), share)


def bounded(found: Interval, share: bool) -> Interval:
    """The interval made on a scale where it cannot leave the possible values: log for a count, logit for a share.

    The half-width is carried to the transformed scale by the delta method (the derivative of
    log m is 1/m; of logit m, 1/(m (1 - m))), the interval is made there and carried back, so a
    count's interval stays above 0 and a share's inside [0, 1], narrower on the side of the bound.
    Where the interval already lies inside the bounds the change is small; a mean at a bound
    (every run 0, say) has the interval [mean, mean].
    """
    m, lo, hi = found.mean, found.low, found.high
    if not (np.isfinite(m) and np.isfinite(lo) and np.isfinite(hi)):
        return found
    half = (hi - lo) / 2.0
    if share:
        if m <= 0.0 or m >= 1.0:
            return replace(found, low=m, high=m)
        z = np.log(m / (1.0 - m))
        h = half / (m * (1.0 - m))
        low, high = 1.0 / (1.0 + np.exp(-(z - h))), 1.0 / (1.0 + np.exp(-(z + h)))
    else:
        if m <= 0.0:
            return replace(found, low=m, high=m)
        h = half / m
        low, high = m * np.exp(-h), m * np.exp(h)
    return replace(found, low=float(low), high=float(high))
