"""Wage-case reminders for the scheduler's tick: deadlines two working days ahead, callbacks due."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.extensions import db
from gridgov.notifications.outbox import Draft
from gridgov.timeutil import LOCAL_TZ
from gridgov.wages.models import Callback, WageCase
from gridgov.wages.states import OPEN, WageState
from gridgov.workcal.services import work_calendar

REMIND_AT = time(9, 0)


def _two_working_days_before(day: date) -> date:
    calendar = work_calendar()
    found = 0
    while found < 2:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            found += 1
    return day


def _officers(case: WageCase, paths: dict[int, str], officers: list[tuple[int, str]]) -> set[int]:
    if case.officer_id:
        return {case.officer_id}
    path = paths.get(case.area_id, "")
    return {user_id for user_id, own in officers if path.startswith(own)}


def wage_drafts(now: datetime) -> list[Draft]:
    lookback = timedelta(hours=current_app.config["NOTIFY_LOOKBACK_HOURS"])
    today = now.astimezone(LOCAL_TZ).date()
    paths = dict(db.session.execute(select(Area.id, Area.path)).all())
    officers = list(
        db.session.execute(
            select(User.id, Area.path)
            .join(UserArea, UserArea.user_id == User.id)
            .join(Area, Area.id == UserArea.area_id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "wage_officer", User.is_active.is_(True))
        )
    )
    drafts = []
    horizon = datetime.combine(today + timedelta(days=10), time(0), LOCAL_TZ)
    open_cases = db.session.scalars(select(WageCase).where(WageCase.status.in_(OPEN)))
    for case in open_cases:
        checks = []
        if case.status == WageState.RECEIVED:
            checks.append(("wage_accept_due", case.accept_deadline, "受理审查"))
        elif case.conclude_deadline is not None:
            checks.append(("wage_conclude_due", case.conclude_deadline, "办结"))
        for kind, deadline, what in checks:
            if deadline > horizon:
                continue
            local_deadline = deadline.astimezone(LOCAL_TZ)
            remind = datetime.combine(_two_working_days_before(local_deadline.date()), REMIND_AT, LOCAL_TZ)
            if now - lookback < remind <= now:
                for user_id in _officers(case, paths, officers):
                    drafts.append(
                        Draft(
                            kind,
                            f"wage:{case.id}",
                            remind,
                            user_id,
                            f"案件 {case.number} 两个工作日后到期",
                            f"{what}期限：{local_deadline:%Y-%m-%d %H:%M}。",
                            case.area_id,
                            {"case_id": case.id},
                        )
                    )
    for callback, case in db.session.execute(
        select(Callback, WageCase)
        .join(WageCase, WageCase.id == Callback.case_id)
        .where(Callback.done_at.is_(None), Callback.due_on <= today)
    ):
        due = datetime.combine(callback.due_on, REMIND_AT, LOCAL_TZ)
        if due <= now:
            for user_id in _officers(case, paths, officers):
                drafts.append(
                    Draft(
                        "wage_callback_due",
                        f"wage:{case.id}:callback:{callback.id}",
                        due,
                        user_id,
                        f"请回访案件 {case.number} 的投诉人",
                        "电话确认工资是否到账，并在系统中记录回访结果。",
                        case.area_id,
                        {"case_id": case.id},
                    )
                )
    return drafts


COLLECTORS = [wage_drafts]
