"""Working-time arithmetic over a holiday calendar. No Flask import.

A day is a working day when it is a weekday that is not a public holiday, or a weekend day that
the State Council made a working day (调休). A year whose schedule is not entered (`known_years`)
is provisional: its days off are the holiday law's (`statutory.py`), with no 调休, and a deadline
that counts any of its days is uncertain. Working hours are the office's (default
08:30–12:00 and 14:30–18:00, local time). Deadlines are local times in Asia/Shanghai.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from gridgov.timeutil import LOCAL_TZ
from gridgov.workcal.statutory import statutory_holidays

DEFAULT_PERIODS = ((time(8, 30), time(12, 0)), (time(14, 30), time(18, 0)))


@dataclass
class WorkCalendar:
    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)  # weekend days that are working days
    known_years: set[int] = field(default_factory=set)
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    _provisional: dict[int, dict[date, str]] = field(default_factory=dict, repr=False)

    def provisional_holidays(self, year: int) -> dict[date, str]:
        """The holiday law's days off in a year without an entered schedule."""
        found = self._provisional.get(year)
        if found is None:
            found = self._provisional[year] = statutory_holidays(year)
        return found

    def is_workday(self, day: date) -> bool:
        if day.year not in self.known_years:
            return day.isoweekday() <= 5 and day not in self.provisional_holidays(day.year)
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() <= 5

    def knows(self, day: date) -> bool:
        """Whether the calendar has this year's official schedule (otherwise it is provisional)."""
        return day.year in self.known_years

    def uncertain_between(self, start: date, end: date) -> bool:
        """Whether a count from `start` to `end` passes a day of a provisional year."""
        first, last = sorted((start, end))
        return any(year not in self.known_years for year in range(first.year, last.year + 1))

    def day_end(self, day: date) -> datetime:
        return datetime.combine(day, self.periods[-1][1], LOCAL_TZ)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the N-th working day after the day of `start` (the start day itself not counted)."""
        day = start.astimezone(LOCAL_TZ).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return self.day_end(day)

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The moment when `seconds` of working time have passed since `start`."""
        moment = start.astimezone(LOCAL_TZ)
        remaining = seconds
        day = moment.date()
        for _ in range(3700):  # ten years of days at most
            if self.is_workday(day):
                for begin, end in self.periods:
                    period_start = datetime.combine(day, begin, LOCAL_TZ)
                    period_end = datetime.combine(day, end, LOCAL_TZ)
                    if moment >= period_end:
                        continue
                    from_ = max(moment, period_start)
                    available = (period_end - from_).total_seconds()
                    if remaining <= available:
                        return from_ + timedelta(seconds=remaining)
                    remaining -= available
                    moment = period_end
            day += timedelta(days=1)
            moment = datetime.combine(day, time(0), LOCAL_TZ)
        raise ValueError("working time beyond ten years")

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time between two moments (0 when end is not after start)."""
        if end <= start:
            return 0.0
        total = 0.0
        day = start.astimezone(LOCAL_TZ).date()
        last = end.astimezone(LOCAL_TZ).date()
        while day <= last:
            if self.is_workday(day):
                for begin, finish in self.periods:
                    a = max(start, datetime.combine(day, begin, LOCAL_TZ))
                    b = min(end, datetime.combine(day, finish, LOCAL_TZ))
                    if b > a:
                        total += (b - a).total_seconds()
            day += timedelta(days=1)
        return total

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count
