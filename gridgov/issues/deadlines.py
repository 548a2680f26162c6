"""Deadlines in working time for issues, from the shared holiday calendar."""

from __future__ import annotations

from datetime import datetime

from gridgov.issues.models import Category
from gridgov.workcal.clock import WorkCalendar


def deadline_for(category: Category, start: datetime, calendar: WorkCalendar) -> tuple[datetime, bool]:
    """(deadline, uncertain): uncertain when it falls in a year whose holidays are not loaded."""
    if category.limit_unit == "hours":
        deadline = calendar.add_working_seconds(start, category.limit_value * 3600)
    else:
        deadline = calendar.add_working_days(start, category.limit_value)
    return deadline, not calendar.knows(deadline.date())


def remaining_working_seconds(deadline: datetime, now: datetime, calendar: WorkCalendar) -> float:
    return calendar.working_seconds_between(now, deadline)
