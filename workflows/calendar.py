"""Working days: the official Chinese calendar (holidays and make-up working days, 调休), corrected by
the administrator's overrides, and plain Monday–Friday for years the calendar does not cover yet
(it is published late each year)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

import chinese_calendar


class WorkCalendar:
    def __init__(
        self, overrides: Mapping[date, bool] | Callable[[], Mapping[date, bool]] | None = None
    ) -> None:
        # Overrides may be given lazily, so a process that never computes a deadline never loads them.
        self._source = overrides
        self._overrides: Mapping[date, bool] | None = None if callable(overrides) else (overrides or {})

    @property
    def overrides(self) -> Mapping[date, bool]:
        if self._overrides is None:
            assert callable(self._source)
            self._overrides = self._source()
        return self._overrides

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def add_workdays(self, start: date, count: int) -> date:
        """The *count*-th working day after *start* (start itself not counted)."""
        day, found = start, 0
        while found < count:
            day += timedelta(days=1)
            if self.is_workday(day):
                found += 1
        return day
