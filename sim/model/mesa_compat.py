"""The model's event list: Mesa's, with its heap ordered by tuples.

Mesa's ``EventList`` keeps ``Event`` objects in a heap, and each comparison
the heap makes calls ``Event.__lt__`` in Python (time, then priority, then the
event's unique id). ``TupleEventList`` keeps ``(time, priority, unique_id,
event)`` tuples instead, which the heap compares in C. The order is the same:
the ids are unique, so two entries never tie and events are never compared
themselves. A night's events are pushed and popped a few thousand times a
simulated year; this makes each push and pop several times cheaper.

``HeldEvent`` is a Mesa ``Event`` that holds its callback with an ordinary
reference instead of a weak one, which is cheaper to make and to call.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush, nsmallest
from itertools import repeat

from mesa.time import Event, Priority
from mesa.time.events import EventList


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
