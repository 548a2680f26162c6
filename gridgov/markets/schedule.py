"""Which dates a market falls on: rules evaluated over a shared table of days. No Flask import.

A `DayTable` converts each day of a range to lunar once and indexes the days by lunar day,
Gregorian day and weekday, so each market costs only as much as its own occurrences.

A rule day that a month lacks (三十 in a 29-day lunar month, the 31st, 29–31 February) is skipped
by default; with `missing_day="last_day"` the market is held on the month's last day instead, and
with `missing_day="next_day"` on the day after it (初一, or the 1st of the next Gregorian month).
"""

from __future__ import annotations

import calendar as gregorian_calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from gridgov.markets.lunar import LunarDate, lunar_date, lunar_dates
from gridgov.timeutil import LOCAL_TZ

MISSING_DAY_POLICIES = ("skip", "last_day", "next_day")


@dataclass(frozen=True)
class LunarBlackout:
    """Cancel every occurrence from one lunar (month, day) to another, wrapping the new year."""

    start: tuple[int, int]
    end: tuple[int, int]

    def covers(self, lunar: LunarDate) -> bool:
        key = (lunar.month, lunar.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end


class DayTable:
    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        self.days = lunar_dates(start, end)
        self.lunar = dict(self.days)
        self.by_lunar_day: dict[int, list[date]] = defaultdict(list)
        self.by_gregorian_day: dict[int, list[date]] = defaultdict(list)
        self.by_weekday: dict[int, list[date]] = defaultdict(list)
        # Last days of months that are short of a rule day: lunar 29-day months, short Gregorian months.
        self.lunar_short_month_ends: list[date] = []
        self.gregorian_month_ends: dict[int, list[date]] = defaultdict(list)  # month length → last days
        # First days of months that follow a short one (the month before may lie outside the range).
        self.after_lunar_short_month: list[date] = []
        self.gregorian_month_starts: dict[int, list[date]] = defaultdict(
            list
        )  # previous month's length → 1sts
        # Per-day facts every occurrence repeats, computed once: ISO date, lunar dict, UTC offset.
        self.facts: dict[date, tuple[str, dict, str]] = {}
        # Thousands of markets share a few dozen rules: each rule's dates are computed once.
        self._dates: dict[tuple, tuple[date, ...]] = {}
        for day, lunar in self.days:
            offset = datetime.combine(day, time(12), LOCAL_TZ).strftime("%z")
            self.facts[day] = (day.isoformat(), lunar.as_dict(), f"{offset[:3]}:{offset[3:]}")
            self.by_lunar_day[lunar.day].append(day)
            self.by_gregorian_day[day.day].append(day)
            self.by_weekday[day.isoweekday()].append(day)
            if lunar.day == lunar.month_days == 29:
                self.lunar_short_month_ends.append(day)
            length = gregorian_calendar.monthrange(day.year, day.month)[1]
            if day.day == length:
                self.gregorian_month_ends[length].append(day)
            if lunar.day == 1 and lunar_date(day - timedelta(days=1)).month_days == 29:
                self.after_lunar_short_month.append(day)
            if day.day == 1:
                self.gregorian_month_starts[(day - timedelta(days=1)).day].append(day)

    def dates(self, rule: dict, missing_day: str = "skip") -> list[date]:
        """The dates in the table's range on which a market with this rule is held, in order."""
        return list(self.shared_dates(rule, missing_day))

    def shared_dates(self, rule: dict, missing_day: str = "skip") -> tuple[date, ...]:
        """`dates`, as one tuple per (rule, missing-day policy) that every caller shares."""
        key = (rule["calendar"], tuple(rule.get("days") or rule.get("weekdays") or ()), missing_day)
        found = self._dates.get(key)
        if found is None:
            found = self._dates[key] = tuple(sorted(self._held(rule, missing_day)))
        return found

    def _held(self, rule: dict, missing_day: str) -> set[date]:
        found: set[date] = set()
        if rule["calendar"] == "weekly":
            for weekday in rule["weekdays"]:
                found.update(self.by_weekday.get(weekday, ()))
        elif rule["calendar"] == "lunar":
            days = set(rule["days"])
            for day in days:
                found.update(self.by_lunar_day.get(day, ()))
            if missing_day == "last_day" and 30 in days:
                found.update(self.lunar_short_month_ends)
            elif missing_day == "next_day" and 30 in days:
                found.update(self.after_lunar_short_month)
        else:
            days = set(rule["days"])
            for day in days:
                found.update(self.by_gregorian_day.get(day, ()))
            if missing_day == "last_day":
                for length, ends in self.gregorian_month_ends.items():
                    if any(d > length for d in days):
                        found.update(ends)
            elif missing_day == "next_day":
                for length, firsts in self.gregorian_month_starts.items():
                    if any(d > length for d in days):
                        found.update(firsts)
        return found
