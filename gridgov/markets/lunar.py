"""Gregorian → Chinese lunar dates, one conversion per day, shared by every market. No Flask import.

Dates are walked day by day and each is converted once (sxtwl, BSD, which agrees with the Hong
Kong Observatory's 1901–2100 table on every day, about 13 µs a conversion); lunar dates are never
built and converted back, so a 29-day month can never grow a 30th day. Lunar dates are China civil
dates: pass a date already taken in Asia/Shanghai.

The Observatory flags three month starts as possibly one day off (the new moon falls within about
a minute of midnight). Every day whose lunar date hangs on one of them, the day before it and the
month it starts, is `uncertain`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta

import sxtwl

MONTH_NAMES = ("正月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "冬月", "腊月")
DAY_NAMES = tuple(
    ["初" + c for c in "一二三四五六七八九"]
    + ["初十"]
    + ["十" + c for c in "一二三四五六七八九"]
    + ["二十"]
    + ["廿" + c for c in "一二三四五六七八九"]
    + ["三十"]
)
# Month starts the Hong Kong Observatory marks as uncertain by a day (its 1901–2100 table notes).
HKO_UNCERTAIN_MONTH_STARTS = (date(2057, 9, 28), date(2089, 9, 4), date(2097, 8, 7))


@dataclass(frozen=True, slots=True)
class LunarDate:
    year: int
    month: int
    day: int
    leap: bool
    month_days: int  # 29 or 30
    uncertain: bool = False  # in a month whose start the Observatory flags as uncertain

    @property
    def name(self) -> str:
        """The date as printed: 闰六月初二, 腊月三十."""
        return ("闰" if self.leap else "") + MONTH_NAMES[self.month - 1] + DAY_NAMES[self.day - 1]

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "month": self.month,
            "day": self.day,
            "leap": self.leap,
            "month_days": self.month_days,
            "name": self.name,
            "uncertain": self.uncertain,
        }


_cache: dict[date, LunarDate] = {}
_month_days: dict[tuple[int, int, bool], int] = {}
_lock = threading.Lock()


def _uncertain_ranges() -> list[tuple[date, date]]:
    ranges = []
    for first in HKO_UNCERTAIN_MONTH_STARTS:
        days = sxtwl.fromSolar(first.year, first.month, first.day)
        length = sxtwl.getLunarMonthNum(days.getLunarYear(), days.getLunarMonth(), bool(days.isLunarLeap()))
        ranges.append((first - timedelta(days=1), first + timedelta(days=length - 1)))
    return ranges


_UNCERTAIN = _uncertain_ranges()


def _convert(day: date) -> LunarDate:
    found = sxtwl.fromSolar(day.year, day.month, day.day)
    year, month, leap = found.getLunarYear(), found.getLunarMonth(), bool(found.isLunarLeap())
    key = (year, month, leap)
    days = _month_days.get(key)
    if days is None:
        days = _month_days[key] = sxtwl.getLunarMonthNum(year, month, leap)
    uncertain = any(first <= day <= last for first, last in _UNCERTAIN)
    return LunarDate(year, month, found.getLunarDay(), leap, days, uncertain)


def lunar_date(day: date) -> LunarDate:
    """The lunar date of one Gregorian (China civil) date."""
    found = _cache.get(day)
    if found is None:
        found = _convert(day)
        with _lock:
            _cache[day] = found
    return found


def lunar_dates(start: date, end: date) -> list[tuple[date, LunarDate]]:
    """Every day from start to end inclusive with its lunar date, in order."""
    out = []
    day = start
    while day <= end:
        out.append((day, lunar_date(day)))
        day += timedelta(days=1)
    return out
