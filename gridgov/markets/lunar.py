"""Gregorian → Chinese lunar dates, one conversion per day, shared by every market. No Flask import.

Dates are walked day by day and each is converted once (tyme4py, MIT, covering 1901–2099 and
beyond); lunar dates are never built and converted back, so a 29-day month can never grow a
30th day. Lunar dates are China civil dates: pass a date already taken in Asia/Shanghai.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta

from tyme4py.solar import SolarDay

MONTH_NAMES = ("正月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "冬月", "腊月")
DAY_NAMES = tuple(
    ["初" + c for c in "一二三四五六七八九"]
    + ["初十"]
    + ["十" + c for c in "一二三四五六七八九"]
    + ["二十"]
    + ["廿" + c for c in "一二三四五六七八九"]
    + ["三十"]
)


@dataclass(frozen=True, slots=True)
class LunarDate:
    year: int
    month: int
    day: int
    leap: bool
    month_days: int  # 29 or 30

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
        }


_cache: dict[date, LunarDate] = {}
_month_days: dict[tuple[int, int], int] = {}
_lock = threading.Lock()


def _convert(day: date) -> LunarDate:
    lunar = SolarDay.from_ymd(day.year, day.month, day.day).get_lunar_day()
    month = lunar.get_lunar_month()
    key = (month.get_year(), month.get_month_with_leap())
    days = _month_days.get(key)
    if days is None:
        days = _month_days[key] = month.get_day_count()
    return LunarDate(month.get_year(), month.get_month(), lunar.get_day(), month.is_leap(), days)


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
