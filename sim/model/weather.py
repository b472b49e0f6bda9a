"""Weather and calendar: a daily sea state and the length of the night.

The sea state is the significant wave height near the shore, drawn per day from
a seasonal AR(1) process on the log scale: rougher in winter, persistent from
one day to the next, so that rough spells and calm spells last several days.
The parameters live in the scenario (``weather``) and are assumptions, tuned
so that about half the days are calm enough to launch (Home Office: 190
favourable days in the year to April 2025) and about a third are rough
(Prémar: about 120 days a year at force 7 or above).

Networks commit boats at noon on the forecast for the night, not on the sea
they will meet (``forecasts``); a day whose own sea is above the highest
launchable wave has no launch, whatever the forecast said.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

#: Night length near Calais in hours, shortest (late June) and longest (late
#: December) (channel-facts.md: about 7 h in June to 16 h in December).
NIGHT_HOURS_MIN = 7.0
NIGHT_HOURS_MAX = 16.0


def day_of_year(start: dt.date, days: int) -> np.ndarray:
    """Day of the year (1..365) of each simulated day; leap days fold into a 365-day year."""
    first = start.timetuple().tm_yday
    return (first - 1 + np.arange(days)) % 365 + 1


def night_hours(doy: np.ndarray) -> np.ndarray:
    """Length of the night in hours on each day of the year.

    A cosine between the June and December extremes, longest on 21 December
    (day 355).
    """
    mid = 0.5 * (NIGHT_HOURS_MAX + NIGHT_HOURS_MIN)
    amp = 0.5 * (NIGHT_HOURS_MAX - NIGHT_HOURS_MIN)
    return mid + amp * np.cos(2 * np.pi * (doy - 355) / 365.25)


def sea_states(params, doy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Daily significant wave height (m) for each simulated day.

    Args:
        params: the scenario's ``weather`` section.
        doy: day of the year of each simulated day.
        rng: the model's random generator.

    Returns:
        Wave heights in metres, one per day.
    """
    mean_log = np.log(params.median_wave_m) + params.seasonal_amplitude * np.cos(
        2 * np.pi * (doy - params.roughest_day_of_year) / 365.25
    )
    phi = params.persistence
    shocks = rng.standard_normal(len(doy)) * params.volatility
    anomaly = np.empty(len(doy))
    prev = shocks[0]  # stationary start: the first day has the full spread
    anomaly[0] = prev
    scale = np.sqrt(1.0 - phi * phi)
    for i in range(1, len(doy)):
        prev = phi * prev + scale * shocks[i]
        anomaly[i] = prev
    return np.exp(mean_log + anomaly)


def forecasts(waves: np.ndarray, error_sd: float, rng: np.random.Generator) -> np.ndarray:
    """The forecast of each night's sea state that networks decide on, made the day before.

    The day's wave height times a log-normal error of ``error_sd`` (the
    ``weather.forecast_error`` of the scenario): one forecast for the whole
    coast, read by every network, so the networks' decisions go together
    even when they are made apart.
    """
    return waves * np.exp(rng.standard_normal(len(waves)) * error_sd)
