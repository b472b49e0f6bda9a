"""Parameter draws from a calibration's posterior, for batches whose results carry parameter uncertainty.

A posterior file is a CSV with one row per particle of the last ABC-SMC
generation (``channel-sim calibrate`` writes it as ``posterior.csv``; the one
shipped with channel-sim is ``sim/data/posterior.csv``): one column per fitted
parameter, named by its dotted scenario key, and a ``weight`` column.

``channel-sim batch --posterior FILE --draws K`` takes K distinct particles,
drawn by weight from a generator seeded by the batch's ``--seed``, and runs
every scenario under each of them with the same replication seeds: common
random numbers at both levels, so that a policy's difference from the baseline
is paired by parameter draw and by seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.scenario import Scenario, get_key

#: The shipped posterior: the calibration of the baseline to 2025 (README, "Calibration").
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "posterior.csv"

#: The most particles a posterior file may hold.
MAX_PARTICLES = 100_000


@dataclass(frozen=True)
class Posterior:
    """Weighted particles of a posterior.

    Attributes:
        path: the file it was read from.
        particles: one row per particle, one column per parameter (dotted keys).
        weights: normalised weights, one per particle.
        digest: a short hash of the file's content (for the batch's definition).
    """

    path: Path
    particles: pd.DataFrame
    weights: np.ndarray
    digest: str

    @property
    def keys(self) -> list[str]:
        """The parameters, as dotted scenario keys."""
        return list(self.particles.columns)

    def draw(self, k: int, seed: int) -> list[dict]:
        """``k`` distinct particles drawn by weight, each as ``{"draw": row, "point": {key: value}}``.

        Raises:
            ScenarioError: ``k`` is more than the particles of positive weight.
        """
        usable = int((self.weights > 0).sum())
        if k > usable:
            raise ScenarioError(f"{self.path}: --draws {k}: the posterior has {usable} particle(s) of positive "
                                f"weight; expected at most that many draws")
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xD2A5]))
        rows = np.sort(rng.choice(len(self.weights), size=k, replace=False, p=self.weights))
        return [{"draw": int(i), "point": {key: _typed(key, float(self.particles.iloc[i][key])) for key in self.keys}}
                for i in rows]


def kept_by(base: dict, point: dict) -> dict:
    """A draw's values, but for the keys scenario data ``base`` sets to a value of its own (not the default),
    which it keeps."""
    return {k: v for k, v in point.items() if get_key(base, k) == get_key(_DEFAULTS, k)}


def _typed(key: str, value: float):
    """A particle's value in the type of its scenario key (whole numbers for counts)."""
    return int(round(value)) if isinstance(get_key(_DEFAULTS, key), int) else value


_DEFAULTS = Scenario().model_dump()


def load_posterior(path: str | Path) -> Posterior:
    """Read and check a posterior file.

    Raises:
        ScenarioError: one line naming the file and the problem (missing, not a CSV, no ``weight``
            column, a column that is no scenario key, a value that is not a number, negative weights or
            weights that sum to zero).
    """
    path = Path(path)
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "file not found"
        raise ScenarioError(f"{path}: {problem}; expected a posterior CSV (parameter columns and weight)")
    if path.stat().st_size > 50_000_000:
        raise ScenarioError(f"{path}: larger than 50 MB; expected a posterior CSV of at most {MAX_PARTICLES:,} particles")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScenarioError(f"{path}: not a readable CSV ({first[:120]}); expected a posterior CSV "
                            f"(parameter columns and weight)") from None
    if "weight" not in df.columns:
        raise ScenarioError(f"{path}: no weight column; expected a posterior CSV (parameter columns and weight)")
    if len(df) == 0 or len(df) > MAX_PARTICLES:
        raise ScenarioError(f"{path}: {len(df):,} particles; expected 1 to {MAX_PARTICLES:,}")
    keys = [c for c in df.columns if c != "weight"]
    if not keys:
        raise ScenarioError(f"{path}: no parameter columns; expected one column per parameter (dotted scenario keys)")
    for key in keys:
        try:
            value = get_key(_DEFAULTS, key)
        except KeyError:
            raise ScenarioError(f"{path}: column {key!r} is no scenario key; expected dotted keys such as "
                                f"camps.inflow_per_day") from None
        if isinstance(value, (dict, list, str, bool)) or value is None:
            raise ScenarioError(f"{path}: column {key!r} is not a numeric scenario key; expected numeric parameters")
    for column in df.columns:
        values = pd.to_numeric(df[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ScenarioError(f"{path}:{row + 2}: {column}: {str(df[column].iloc[row])[:40]!r} is not a number; "
                                f"expected a finite number")
        df[column] = values
    w = df["weight"].to_numpy(dtype=float)
    if (w < 0).any() or w.sum() <= 0:
        raise ScenarioError(f"{path}: weight: expected weights >= 0 with a positive sum")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Posterior(path, df[keys].reset_index(drop=True), w / w.sum(), digest)
