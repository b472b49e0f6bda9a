"""Everything that reaches into Mesa's private parts, in one place, behind a check of its version.

The model uses Mesa's public API everywhere else (``Model``, ``CellAgent``,
``OrthogonalVonNeumannGrid``, ``PropertyLayer``, ``Model.run_for``). Three
speed-ups need Mesa's internals, and live here so that a new Mesa breaks one
module, loudly, rather than a run, silently:

* the event list: ``TupleEventList`` replaces ``Model._event_list`` and keeps
  ``(time, priority, unique_id, event)`` tuples, which the heap compares in C;
  Mesa's ``EventList`` keeps ``Event`` objects and each comparison calls
  ``Event.__lt__`` in Python. The order is the same: the ids (Mesa's
  ``Event._ids`` counter) are unique, so two entries never tie. A night's
  events are pushed and popped a few thousand times a simulated year.
* ``HeldEvent``: a Mesa ``Event`` that holds its callback with an ordinary
  reference instead of a weak one, cheaper to make and to call; with
  :func:`schedule_held`, a copy of ``Model.schedule_event`` that makes one.
* the grid: ``StripGrid`` connects its cells directly (Mesa's
  ``_connect_cells_2d`` over ``_cells``) and drops the ``copyreg`` entry
  Mesa makes for its ``cell_klass``; :func:`reuse_grid` gives a spare grid
  the next model's random generator (``_celllist``).

:func:`check_mesa` compares the installed Mesa with :data:`SUPPORTED_MESA`,
the range ``pyproject.toml`` pins, and stops with one clear line outside it;
it runs when this module is imported, before any of Mesa's internals are.
"""

from __future__ import annotations

import copyreg
import functools
import weakref
from heapq import heapify, heappop, heappush, nsmallest
from importlib import metadata
from itertools import repeat

from sim.errors import UnsupportedDependency

#: The Mesa versions whose internals this module is written against (also pinned in pyproject.toml).
SUPPORTED_MESA = ((3, 5), (3, 6))  # >= 3.5, < 3.6


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_mesa(version: str | None = None) -> None:
    """Refuse a Mesa outside :data:`SUPPORTED_MESA`.

    Args:
        version: the version to check (the installed Mesa's when None).

    Raises:
        UnsupportedDependency: one line naming the installed version and the supported range.
    """
    version = version or metadata.version("mesa")
    low, high = SUPPORTED_MESA
    if not low <= _release(version)[:2] < high:
        wanted = f">={'.'.join(map(str, low))},<{'.'.join(map(str, high))}"
        raise UnsupportedDependency(
            f"mesa {version}: channel-sim supports mesa{wanted} (sim/model/mesa_compat.py uses its internals); "
            f"expected pip install 'mesa{wanted}'")


check_mesa()  # before anything of Mesa's is imported: a Mesa that moved its internals fails here, in one line

from mesa.time import Event, Priority  # noqa: E402
from mesa.time.events import EventList  # noqa: E402


def install_event_list(model) -> None:
    """Give ``model`` a :class:`TupleEventList` holding the events it has, in the same order."""
    model._event_list = TupleEventList(model._event_list._events)


def schedule_held(model, function, *, at: float | None = None, after: float | None = None,
                  priority: Priority = Priority.DEFAULT) -> Event:
    """Mesa's ``Model.schedule_event``, with an event that holds its callback (:class:`HeldEvent`).

    Same checks of the time, same order; the callback is kept until the event
    fires or is cancelled, so an agent that ends cancels its pending events.
    """
    if (at is None) == (after is None):
        raise ValueError("Specify exactly one of 'at' or 'after'")
    time = at if at is not None else model.time + after
    if time < model.time:
        raise ValueError(f"Cannot schedule event in the past. Scheduled time is {time}, but current time is {model.time}")
    event = HeldEvent(time, function, priority=priority)
    model._event_list.add_event(event)
    return event


class TupleEventList(EventList):
    """An ``EventList`` holding ``(time, priority, unique_id, event)`` in its heap.

    Args:
        events: events to start with (e.g. those of the list it replaces).
    """

    def __init__(self, events=()):
        self._events = [(e.time, e.priority, e.unique_id, e) for e in events]
        heapify(self._events)

    def add_event(self, event: Event) -> None:
        """Add the event to the event list."""
        heappush(self._events, (event.time, event.priority, event.unique_id, event))

    def pop_event(self) -> Event:
        """Pop the first event that is not cancelled.

        Raises:
            IndexError: no such event.
        """
        events = self._events
        while events:
            event = heappop(events)[3]
            if not event.CANCELED:
                return event
        raise IndexError("Event list is empty")

    def peek_ahead(self, n: int = 1) -> list[Event]:
        """The first ``n`` events that are not cancelled, in order.

        Raises:
            IndexError: the list is empty.
        """
        if self.is_empty():
            raise IndexError("event list is empty")
        return [entry[3] for entry in nsmallest(n, (entry for entry in self._events if not entry[3].CANCELED))]

    def compact(self) -> None:
        """Drop cancelled events and rebuild the heap."""
        self._events = [entry for entry in self._events if not entry[3].CANCELED]
        heapify(self._events)

    def __contains__(self, event: Event) -> bool:  # noqa: D105
        return not event.CANCELED and any(entry[3] is event for entry in self._events)

    def __len__(self) -> int:  # noqa: D105
        return sum(1 for entry in self._events if not entry[3].CANCELED)

    def __iter__(self):
        """The events that are not cancelled, in no particular order."""
        return (entry[3] for entry in self._events if not entry[3].CANCELED)

    def __repr__(self) -> str:  # noqa: D105
        shown = ", ".join(f"Event(time={e.time}, priority={e.priority}, id={e.unique_id})" for e in self)
        return f"EventList([{shown}])"


class HeldEvent(Event):
    """A Mesa ``Event`` that holds its callback until it runs or is cancelled.

    Mesa's ``Event`` holds a weak reference, so that an agent removed without
    cancelling its events is not kept alive by them; making and calling that
    reference is most of the cost of an event. The model's agents cancel their
    pending events when they end (``Boat._end``), and the rest live as long as
    the model, so a plain reference is safe here. Otherwise the same ``Event``:
    same fields, the same unique ids (Mesa's counter), the same order.

    Args:
        time: model time it fires at.
        function: what it calls, with no arguments.
        priority: Mesa's priority at equal times.
    """

    def __init__(self, time: float, function, priority: Priority = Priority.DEFAULT):
        if not callable(function):
            raise TypeError("function must be a callable")
        self.time = time
        self.priority = priority.value
        self._canceled = False
        self.fn = repeat(function).__next__  # called as Mesa calls its weak reference: gives the callback
        self.unique_id = next(Event._ids)
        self.function_args = []
        self.function_kwargs = {}


def reuse_grid(grid, random) -> None:
    """Give a spare grid, and each of its cells, the random generator of the model that takes it over."""
    grid.random = random
    for cell in grid._celllist:
        cell.random = random


@functools.cache
def strip_grid_class():
    """Mesa's ``OrthogonalVonNeumannGrid`` as the coast's strip uses it (see ``StripGrid``)."""
    from mesa.discrete_space import OrthogonalVonNeumannGrid

    class StripGrid(OrthogonalVonNeumannGrid):
        """Mesa's ``OrthogonalVonNeumannGrid``, built faster and without leaking.

        The same cells with the same connections (in the same order) as Mesa's
        own build, written directly instead of through ``Cell.connect``, which
        clears every cell's neighbourhood cache once per connection (half the
        build's time). Mesa registers each grid's own cell class with
        ``copyreg`` for pickling, which keeps the class, and through it the
        property layers, alive forever; here the registration is dropped when
        the grid is collected, so a process that runs many models does not grow.
        """

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            weakref.finalize(self, copyreg.dispatch_table.pop, self.cell_klass, None)

        def _connect_cells_2d(self) -> None:
            if self.torus:
                super()._connect_cells_2d()
                return
            cells = self._cells
            width, height = self.dimensions
            for (i, j), cell in cells.items():
                links = cell.connections
                if i > 0:
                    links[(-1, 0)] = cells[i - 1, j]
                if j > 0:
                    links[(0, -1)] = cells[i, j - 1]
                if j < height - 1:
                    links[(0, 1)] = cells[i, j + 1]
                if i < width - 1:
                    links[(1, 0)] = cells[i + 1, j]

    return StripGrid
