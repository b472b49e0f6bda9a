"""What the map shows of a night, from a run's tracks: the same for a live model and a replay.

A night is shown as it stood at its busiest half hour: the app looks at the
tracks every half hour from 18:00 to 08:00 and keeps the look with the most
boats out of cover (assembling, on a waterway, in the surf or at sea), then
the most boats. At that moment: the boats, the patrol units (at their posts,
on their way to a group, or with it), the patrol boats and lifeboats (on
station, or called out), the drones over their sectors and the people in the
camps at the last noon; and every attempt of the night at its site, by how it
ended (from the boats table).
"""

from __future__ import annotations

import pandas as pd

from sim.app.drawing import MapView, map_title
from sim.model.tracks import TrackIndex

#: Hours after noon at which the app looks at the night (18:00 to 08:00, every half hour).
LOOK_HOURS = tuple(6.0 + 0.5 * i for i in range(29))

#: A boat's states while its night is under way (after them comes its outcome).
UNDER_WAY = ("hiding", "taxi on waterway", "assembling", "taxi waiting in the surf", "at sea")


def busiest_look(index: TrackIndex, night: int) -> float | None:
    """Model time of the night's busiest half hour (see the module's text); None when no boat was out."""
    best, best_t = (0, 0), None
    for hours in LOOK_HOURS:
        t = night + 1.0 + hours / 24.0
        states = index.at(t, ("boat",))["state"]
        live = states[states.isin(UNDER_WAY)]
        score = (int((live != "hiding").sum()), len(live))
        if score > best:
            best, best_t = score, t
    return best_t


def clock(time: float) -> str:
    """``03:30``: the time of day of model time ``time`` (its whole part is noon)."""
    minutes = round(((time % 1.0) * 24.0 + 12.0) % 24.0 * 60.0)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def marks_at(index: TrackIndex, time: float, camp_names: list[str]) -> dict:
    """The map's agents at model time ``time``: MapView's boats, patrols, vessels, drones and camps."""
    now = index.at(time)
    by = {agent: rows for agent, rows in now.groupby("agent", sort=False)}
    empty = now.iloc[:0]
    boats = by.get("boat", empty)
    boats = boats[boats["state"].isin(UNDER_WAY)]
    vessels = pd.concat([by.get("patrol boat", empty), by.get("lifeboat", empty)])
    camps = by.get("camp", empty)
    return dict(
        boats=list(zip(boats["col"], boats["row"], boats["state"])),
        patrols=list(zip(*(by.get("patrol unit", empty)[c] for c in ("col", "row", "state")))),
        vessels=[(c, r, kind + ("" if state == "on station" else " (called out)"))
                 for c, r, kind, state in zip(vessels["col"], vessels["row"], vessels["agent"], vessels["state"])],
        drones=list(zip(by.get("drone", empty)["col"], by.get("drone", empty)["row"])),
        camps=[(camp_names[int(i)], c, r, int(p))
               for i, c, r, p in zip(camps["agent_id"], camps["col"], camps["row"], camps["people"])])


def night_view(index: TrackIndex, coast, night: int, days: int, daily_row, outcomes: pd.DataFrame, aircraft: int,
               recorded: bool = True, note: str = "") -> MapView:
    """The map of night ``night`` (its day's noon to the next), from the tracks.

    Args:
        index: the run's tracks (so far, for a live model).
        coast: the coast the run is on.
        night: the day index of the night.
        days: days in the run.
        daily_row: the night's row of the daily table (date, wave_m, night_hours).
        outcomes: the night's attempts (rows of the boats table).
        aircraft: aircraft on duty.
        recorded: the tracks hold the run's nights (False: only its deployment, for a run stored before
            runs kept their tracks).
        note: a last line for the note under the title.
    """
    names = [camp.name for camp in coast.camps]
    title = "Night of " + map_title(daily_row["date"], night, days, float(daily_row["wave_m"]),
                                    float(daily_row["night_hours"]))
    t = busiest_look(index, night) if recorded else None
    if t is None:
        when = ("no boat out this night; patrols and vessels at dawn" if recorded
                else "this run was stored before runs kept their tracks: units at their posts, no boat under way")
        t = night + 1.0 + LOOK_HOURS[-1] / 24.0
    else:
        when = f"boats, patrols and vessels as at {clock(t)}, the night's busiest half hour"
    lines = [f"{when}; the night's {len(outcomes)} attempt(s) by outcome; {aircraft} aircraft over the whole strip"]
    if note:
        lines.append(note)
    return MapView(title=title, outcomes=outcomes, aircraft=aircraft, note="\n".join(lines),
                   **marks_at(index, t, names))


def first_view(index: TrackIndex, coast, start, aircraft: int, time: float, note: str = "") -> MapView:
    """The map before the first night: the deployment and the camps as the run starts."""
    return MapView(title=f"{pd.Timestamp(start):%a %d %b %Y}: before the first night (press Step)", aircraft=aircraft,
                   note=note, **marks_at(index, time, [camp.name for camp in coast.camps]))
