"""The clock, injected. Domain code takes `now` as a parameter; flows and the service
ask this module, so the same flows run on the real clock (`arshjul serve`) and on the
simulated one (`arshjul simulate`, which executes its flow runs in this process)."""

from __future__ import annotations

import datetime as dt
import threading


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class SimulatedClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: dt.datetime):
        self._lock = threading.Lock()
        self._now = start

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the simulated clock needs an aware datetime")
        with self._lock:
            if moment < self._now:
                raise ValueError(f"the simulated clock cannot go back from {self._now} to {moment}")
            self._now = moment.astimezone(dt.UTC)


_current: Clock = Clock()


def now() -> dt.datetime:
    return _current.now()


def use(clock: Clock) -> Clock:
    """Install a clock for this process; returns the previous one."""
    global _current
    previous, _current = _current, clock
    return previous
