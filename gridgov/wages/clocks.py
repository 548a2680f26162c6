"""The two legal clocks of a wage case (Labour Security Supervision Regulations, arts. 14 and 17).

5 working days from receipt to accept or refuse; 60 working days from acceptance to conclude,
extendable once by 30 working days with a reason and an approver. Both run on the holiday calendar
shared with grid issues.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.timeutil import LOCAL_TZ, local_today
from gridgov.wages.models import WageCase, WageEvent
from gridgov.wages.states import STOPPED, WageState
from gridgov.workcal.services import work_calendar

ACCEPT_DAYS, CONCLUDE_DAYS, EXTENSION_DAYS = 5, 60, 30


def case_clocks(case: WageCase, today: date | None = None) -> list[dict]:
    """The two legal clocks (accept, conclude), for the API and the console alike.

    Each: `deadline`; `met` (when it was met); `working_days` (the clock's length), `used` (working
    days from its start to today or the deadline, whichever is first) and `left` (None once met or
    stopped; negative when the deadline has passed); `paused` (the case left the group, refused,
    transferred or merged, before the clock was met); `uncertain` (the count passes a day of a
    provisional year, so the deadline may move when the State Council publishes it).
    """
    today = today or local_today()
    calendar = work_calendar()
    stopped = case.status in STOPPED
    clocks = []
    for name, start, deadline, met, length in (
        ("accept", case.received_at, case.accept_deadline, case.accepted_at, ACCEPT_DAYS),
        (
            "conclude",
            case.accepted_at,
            case.conclude_deadline,
            case.closed_at if case.status == WageState.CLOSED else None,
            CONCLUDE_DAYS + (EXTENSION_DAYS if case.extended else 0),
        ),
    ):
        left = used = None
        uncertain = paused = False
        if deadline is not None:
            due = deadline.astimezone(LOCAL_TZ).date()
            begin = start.astimezone(LOCAL_TZ).date() if start is not None else min(today, due)
            end = met.astimezone(LOCAL_TZ).date() if met else min(today, due)
            used = calendar.working_days_between(begin, max(begin, end)) if start is not None else None
            uncertain = calendar.uncertain_between(begin, due)
            paused = met is None and stopped
            if met is None and not stopped:
                left = (
                    calendar.working_days_between(today, due)
                    if due >= today
                    else -calendar.working_days_between(due, today)
                )
        clocks.append(
            {
                "clock": name,
                "deadline": deadline,
                "met": met,
                "working_days": length if deadline is not None else None,
                "used": used,
                "left": left,
                "paused": paused,
                "uncertain": uncertain,
            }
        )
    return clocks


def recompute_case_deadlines(calendar, year: int, actor: User | None) -> int:
    """Re-run the clocks of open cases whose count passes `year` (after the year was edited).

    Each case whose deadline moved gets a `deadline_recomputed` event with a public line for the
    claimant, and its next due date follows the deadline it was set from. The caller commits.
    """
    moved = 0
    cases = db.session.scalars(select(WageCase).where(WageCase.closed_at.is_(None)))
    for case in cases:
        changes = {}
        clocks = [("accept", case.received_at, ACCEPT_DAYS)] if case.accepted_at is None else []
        if case.accepted_at is not None and case.conclude_deadline is not None:
            clocks.append(("conclude", case.accepted_at, CONCLUDE_DAYS))
        for name, start, days in clocks:
            old = case.accept_deadline if name == "accept" else case.conclude_deadline
            if not start.astimezone(LOCAL_TZ).year <= year <= old.astimezone(LOCAL_TZ).year:
                continue
            new = calendar.add_working_days(start, days)
            if name == "conclude" and case.extended:
                new = calendar.add_working_days(new, EXTENSION_DAYS)
            if new != old:
                changes[name] = {"from": old.isoformat(), "to": new.isoformat()}
                if case.next_due == old.astimezone(LOCAL_TZ).date():
                    case.next_due = new.astimezone(LOCAL_TZ).date()
                if name == "accept":
                    case.accept_deadline = new
                else:
                    case.conclude_deadline = new
        if changes:
            moved += len(changes)
            due = min(datetime.fromisoformat(c["to"]) for c in changes.values()).astimezone(LOCAL_TZ).date()
            WageEvent.record(
                case,
                actor,
                "deadline_recomputed",
                case.status,
                case.status,
                public_text=f"{year} 年节假日安排已公布，办理期限调整为 {due.isoformat()}。",
                data={"year": year, **changes},
            )
    return moved
