"""The holiday calendar in the database: loading it, editing it, and reading it as a WorkCalendar."""

from __future__ import annotations

import threading
import time as monotonic_time
from datetime import date

from sqlalchemy import delete, select

from gridgov.errors import Invalid
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.workcal.clock import WorkCalendar
from gridgov.workcal.models import CalendarDay, CalendarYear

_cache: dict[str, tuple[float, WorkCalendar]] = {}
_lock = threading.Lock()
CACHE_SECONDS = 60


def seed_from_library() -> int:
    """Load China's holidays and 调休 working days from chinese_calendar for the years it knows (commits)."""
    from chinese_calendar.constants import holidays, workdays

    years = {d.year for d in holidays}
    known = set(db.session.scalars(select(CalendarYear.year)))
    added = 0
    for year in sorted(years - known):
        for day, name in sorted(holidays.items()):
            if day.year == year:
                db.session.add(
                    CalendarDay(
                        day=day, kind="holiday", name=str(name.value if hasattr(name, "value") else name)
                    )
                )
                added += 1
        for day, name in sorted(workdays.items()):
            if day.year == year:
                db.session.add(
                    CalendarDay(
                        day=day, kind="workday", name=str(name.value if hasattr(name, "value") else name)
                    )
                )
                added += 1
        db.session.add(CalendarYear(year=year, source="chinese_calendar"))
    db.session.commit()
    invalidate()
    return added


def set_year(year: int, days: list[dict]) -> int:
    """Replace one year's holidays and working weekends (admins, for years the library lacks; commits)."""
    for entry in days:
        if entry["day"].year != year:
            raise Invalid(Msg(f"{entry['day']} 不属于 {year} 年。", f"{entry['day']} is not in {year}."))
    db.session.execute(
        delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    )
    for entry in days:
        db.session.add(CalendarDay(day=entry["day"], kind=entry["kind"], name=entry.get("name", "")))
    if db.session.get(CalendarYear, year) is None:
        db.session.add(CalendarYear(year=year, source="admin"))
    db.session.commit()
    invalidate()
    return len(days)


def invalidate() -> None:
    with _lock:
        _cache.clear()


def work_calendar() -> WorkCalendar:
    """The calendar as loaded from the database, cached for a minute per process."""
    key = db.engine.url.render_as_string(hide_password=True)
    cached = _cache.get(key)
    if cached and monotonic_time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    calendar = WorkCalendar(known_years=set(db.session.scalars(select(CalendarYear.year))))
    for day, kind in db.session.execute(select(CalendarDay.day, CalendarDay.kind)):
        (calendar.holidays if kind == "holiday" else calendar.workdays).add(day)
    with _lock:
        _cache[key] = (monotonic_time.monotonic(), calendar)
    return calendar
