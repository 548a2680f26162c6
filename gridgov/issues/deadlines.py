"""Deadlines in working time for issues, from the shared holiday calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from gridgov.extensions import db
from gridgov.issues.models import Category, Issue, IssueEvent
from gridgov.issues.states import CLOCK_RUNNING
from gridgov.timeutil import LOCAL_TZ
from gridgov.workcal.clock import WorkCalendar


def deadline_for(category: Category, start: datetime, calendar: WorkCalendar) -> tuple[datetime, bool]:
    """(deadline, uncertain): uncertain when the count passes a day of a provisional year."""
    if category.limit_unit == "hours":
        deadline = calendar.add_working_seconds(start, category.limit_value * 3600)
    else:
        deadline = calendar.add_working_days(start, category.limit_value)
    return deadline, calendar.uncertain_between(start.astimezone(deadline.tzinfo).date(), deadline.date())


def remaining_working_seconds(deadline: datetime, now: datetime, calendar: WorkCalendar) -> float:
    return calendar.working_seconds_between(now, deadline)


def recompute_issue_deadlines(calendar: WorkCalendar, year: int, actor) -> int:
    """Re-run the deadline of every open issue whose count passes `year` (after the year was edited).

    Each issue whose deadline moved gets a `deadline_recomputed` timeline event. Issues that are or
    were deferred keep their deadline: it was counted from the resume, not from dispatch. The
    caller commits. Returns how many deadlines moved.
    """
    moved = 0
    issues = db.session.scalars(
        select(Issue).where(
            Issue.status.in_(CLOCK_RUNNING),
            Issue.was_deferred.is_(False),
            Issue.deadline.is_not(None),
        )
    )
    for issue in issues:
        start = issue.dispatched_at or issue.received_at
        if not start.astimezone(LOCAL_TZ).year <= year <= issue.deadline.astimezone(LOCAL_TZ).year:
            continue
        category = db.session.get(Category, issue.category_id)
        deadline, uncertain = deadline_for(category, start, calendar)
        if deadline != issue.deadline or uncertain != issue.deadline_uncertain:
            data = {
                "year": year,
                "from": issue.deadline.isoformat(),
                "to": deadline.isoformat(),
                "uncertain": uncertain,
            }
            if deadline != issue.deadline:
                moved += 1
            issue.deadline, issue.deadline_uncertain = deadline, uncertain
            IssueEvent.record(issue, actor, "deadline_recomputed", issue.status, issue.status, data=data)
    return moved
