"""The holiday calendar in the database: loading it, editing it, and reading it as a WorkCalendar."""

from __future__ import annotations

import threading
import time as monotonic_time
from datetime import date

from sqlalchemy import delete, select

from gridgov.audit.services import record
from gridgov.auth.models import User
from gridgov.errors import Invalid
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import utcnow
from gridgov.workcal.clock import WorkCalendar
from gridgov.workcal.models import CalendarDay, CalendarYear

_cache: dict[str, tuple[float, WorkCalendar]] = {}
_lock = threading.Lock()
CACHE_SECONDS = 60
YEARS = (1901, 2100)  # the years the lunar library and the statutory rules are checked for
KINDS = ("holiday", "workday")


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


def _check_year(year: int) -> None:
    if not YEARS[0] <= year <= YEARS[1]:
        raise Invalid(
            Msg(f"年份应在 {YEARS[0]}–{YEARS[1]} 之间。", f"The year must be {YEARS[0]}–{YEARS[1]}."),
            errors={"path": {"year": ["out of range"]}},
        )


def _check_days(year: int, days: list[dict]) -> None:
    seen: dict[date, str] = {}
    for entry in days:
        day, kind = entry["day"], entry["kind"]
        if day.year != year:
            raise Invalid(Msg(f"{day} 不属于 {year} 年。", f"{day} is not in {year}."))
        if kind not in KINDS:
            raise Invalid(
                Msg(f"{day} 的类型应为 holiday 或 workday。", f"{day}: kind must be holiday or workday.")
            )
        if day in seen:
            raise Invalid(Msg(f"{day} 出现了两次。", f"{day} is listed twice."))
        if kind == "workday" and day.isoweekday() <= 5:
            raise Invalid(
                Msg(
                    f"{day} 是工作日，无需调休上班。",
                    f"{day} is a weekday; only a weekend day can be a make-up working day.",
                )
            )
        seen[day] = kind


def entries(body: dict) -> list[dict]:
    """The `days_off` / `working_days` of an API or import body as the day entries `set_year` takes."""
    return [{"day": d["day"], "kind": "holiday", "name": d.get("name", "")} for d in body["days_off"]] + [
        {"day": d["day"], "kind": "workday", "name": d.get("name", "")} for d in body.get("working_days", [])
    ]


def set_year(year: int, days: list[dict], user: User | None = None, source: str = "admin") -> dict:
    """Replace one year's days off and make-up working days; the year becomes confirmed (commits).

    Open deadlines that count a day of this year are recomputed on the new calendar, and each
    issue and wage case whose deadline moved gets a timeline event. Returns the year as shown.
    """
    _check_year(year)
    _check_days(year, days)
    db.session.execute(
        delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    )
    for entry in sorted(days, key=lambda e: e["day"]):
        db.session.add(CalendarDay(day=entry["day"], kind=entry["kind"], name=entry.get("name") or ""))
    entered = db.session.get(CalendarYear, year)
    if entered is None:
        entered = CalendarYear(year=year, source=source)
        db.session.add(entered)
    entered.source, entered.updated_at = source, utcnow()
    entered.updated_by_id = user.id if user else None
    record("calendar_set", "calendar_years", year, changes={"days": len(days), "source": source})
    db.session.flush()
    invalidate()
    calendar = work_calendar()
    from gridgov.issues.deadlines import recompute_issue_deadlines
    from gridgov.wages.clocks import recompute_case_deadlines

    moved = recompute_issue_deadlines(calendar, year, user) + recompute_case_deadlines(calendar, year, user)
    db.session.commit()
    invalidate()
    return {**year_schedule(year), "moved_deadlines": moved}


def year_schedule(year: int) -> dict:
    """A year's days off and make-up working days, confirmed (entered) or provisional (statutory)."""
    _check_year(year)
    entered = db.session.get(CalendarYear, year)
    if entered is None:
        holidays = WorkCalendar().provisional_holidays(year)
        return {
            "year": year,
            "status": "provisional",
            "source": "statutory",
            "updated_at": None,
            "updated_by": None,
            "days_off": [{"day": d, "name": n} for d, n in holidays.items()],
            "working_days": [],
        }
    rows = db.session.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
        .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)
    ).all()
    by = db.session.get(User, entered.updated_by_id) if entered.updated_by_id else None
    return {
        "year": year,
        "status": "confirmed",
        "source": entered.source,
        "updated_at": entered.updated_at,
        "updated_by": by.username if by else None,
        "days_off": [{"day": d, "name": n} for d, k, n in rows if k == "holiday"],
        "working_days": [{"day": d, "name": n} for d, k, n in rows if k == "workday"],
    }


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
