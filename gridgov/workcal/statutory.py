"""A provisional holiday schedule for a year the State Council has not yet published. No Flask import.

The rules in force are those of 全国年节及纪念日放假办法 as revised in 2024 (in force from 2025):
元旦 1 day (1 January); 春节 4 days, 除夕 to 正月初三; 清明节 1 day, on the solar term; 劳动节 2 days
(1–2 May); 端午节 1 day (五月初五); 中秋节 1 day (八月十五); 国庆节 3 days (1–3 October); and
article 6: a holiday that falls on a Saturday or Sunday is given back on the next working day
(补假), and so is a festival that falls on another's day. The State Council's yearly notice also moves weekends (调休); no one can guess those, so a
provisional year has no make-up working days and every deadline that counts one of its days is
flagged uncertain until an admin enters the published schedule.

Lunar dates and the solar term come from sxtwl (Beijing time), the library the market calendar
uses; 除夕 is taken as the day before 正月初一, never as a lunar date of its own.
"""

from __future__ import annotations

from datetime import date, timedelta

import sxtwl

QINGMING = 7  # sxtwl's solar-term index of 清明


def _from_lunar(year: int, month: int, day: int) -> date:
    found = sxtwl.fromLunar(year, month, day, False)
    return date(found.getSolarYear(), found.getSolarMonth(), found.getSolarDay())


def _qingming(year: int) -> date:
    term = next(t for t in sxtwl.getJieQiByYear(year) if t.jqIndex == QINGMING)
    moment = sxtwl.JD2DD(term.jd)
    return date(int(moment.Y), int(moment.M), int(moment.D))


def statutory_holidays(year: int) -> dict[date, str]:
    """The days off the holiday law gives in `year`, with 补假 for those on a weekend: {day: name}."""
    spring = _from_lunar(year, 1, 1)
    festivals = [
        ("元旦", [date(year, 1, 1)]),
        (
            "春节",
            [spring - timedelta(days=1), spring, spring + timedelta(days=1), spring + timedelta(days=2)],
        ),
        ("清明节", [_qingming(year)]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [_from_lunar(year, 5, 5)]),
        ("中秋节", [_from_lunar(year, 8, 15)]),
        ("国庆节", [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]),
    ]
    days: dict[date, str] = {}
    owed: dict[str, int] = {}
    for name, festival_days in festivals:
        for day in festival_days:
            if day in days:  # two festivals on one day (中秋 on 1–3 October): the later one is owed a day
                owed[name] = owed.get(name, 0) + 1
            else:
                days[day] = name
                owed[name] = owed.get(name, 0) + (1 if day.isoweekday() > 5 else 0)
    for name, festival_days in festivals:
        day, due = max(festival_days), owed[name]
        while due:
            day += timedelta(days=1)
            if day.isoweekday() <= 5 and day not in days:
                days[day] = f"{name}（补假）"
                due -= 1
    return dict(sorted(days.items()))
