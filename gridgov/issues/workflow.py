"""The life of a grid issue: each action, who may take it, what it needs, and its timeline event.

reported → accept | reject
accepted → dispatch (to a department or a person; the clock starts)
dispatched → start → in_progress;  dispatched/in_progress → fix (feedback with a photo) → fixed
fixed → verify (someone other than the fixer): pass → closed; fail → rework, back to in_progress
dispatched/in_progress → defer (clock paused, reason, approver) → deferred → resume
any open state → merge (into another issue) → merged;  closed → reopen (within 30 days)
open states → escalate (one level up, optionally blowing the whistle for departments);
a whistled department → report_in (报到)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.areas.scope import area_in_scope
from gridgov.auth.models import User
from gridgov.errors import Conflict, Forbidden, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.issues.catalogue import user_department_ids
from gridgov.issues.deadlines import deadline_for
from gridgov.issues.models import LEVELS, OPEN_STATUSES, Category, Department, Issue, Whistle
from gridgov.issues.queries import get_issue
from gridgov.issues.submission import _event, _owned_uploads
from gridgov.timeutil import LOCAL_TZ, utcnow
from gridgov.workcal.services import work_calendar

REOPEN_DAYS = 30


@dataclass(frozen=True)
class Rule:
    sources: tuple[str, ...]
    who: str  # staff | handler | verifier | department


RULES = {
    "accept": Rule(("reported",), "staff"),
    "reject": Rule(("reported",), "staff"),
    "dispatch": Rule(("reported", "accepted", "dispatched", "in_progress"), "staff"),
    "start": Rule(("dispatched",), "handler"),
    "fix": Rule(("dispatched", "in_progress"), "handler"),
    "verify": Rule(("fixed",), "verifier"),
    "defer": Rule(("dispatched", "in_progress"), "staff"),
    "resume": Rule(("deferred",), "staff"),
    "merge": Rule(OPEN_STATUSES, "staff"),
    "reopen": Rule(("closed",), "staff"),
    "escalate": Rule(("reported", "accepted", "dispatched", "in_progress", "deferred"), "staff"),
    "report_in": Rule(
        ("reported", "accepted", "dispatched", "in_progress", "deferred", "fixed"), "department"
    ),
    "confirm_location": Rule(OPEN_STATUSES, "staff"),
}


def allowed_actions(issue: Issue) -> list[str]:
    return [name for name, rule in RULES.items() if issue.status in rule.sources]


def actions_for(user: User, issue: Issue) -> list[str]:
    """The moves the issue's state allows and this user's roles permit (what a page offers)."""
    offered = []
    for name in allowed_actions(issue):
        try:
            _check_actor(user, issue, RULES[name].who)
        except Forbidden:
            continue
        offered.append(name)
    return offered


def _check_actor(user: User, issue: Issue, who: str) -> None:
    if user.has_role("admin"):
        return
    if who == "staff" and user.has_role("staff"):
        return
    if who == "handler" and (
        user.has_role("staff")
        or issue.assignee_id == user.id
        or (issue.department_id and issue.department_id in user_department_ids(user))
    ):
        return
    if who == "verifier" and user.has_role("staff", "grid_worker"):
        return
    if who == "department" and user.has_role("department", "staff"):
        return
    raise Forbidden(Msg("您的角色不能执行此操作。", "Your role may not take this action."))


def _need(data: dict, field: str, zh: str, en: str):
    value = data.get(field)
    if value in (None, "", []):
        raise Invalid(
            Msg(f"此操作需要 {zh}。", f"This action needs {en}."), errors={"json": {field: ["required"]}}
        )
    return value


def _start_clock(issue: Issue, now: datetime) -> None:
    category = db.session.get(Category, issue.category_id)
    issue.dispatched_at = now
    issue.deadline, issue.deadline_uncertain = deadline_for(category, now, work_calendar())
    issue.deadline_provisional = False


def act(user: User, issue_id: int, data: dict) -> Issue:
    """Apply one action to an issue in the user's scope (commits); 409 when the state does not allow it."""
    action = data["action"]
    issue = get_issue(user, issue_id, for_update=True)
    rule = RULES[action]
    if issue.status not in rule.sources:
        allowed = allowed_actions(issue)
        raise Conflict(
            Msg(
                f"当前状态“{issue.status}”不能执行“{action}”；可执行：{', '.join(allowed) or '无'}。",
                f"The issue is {issue.status}; {action} is not allowed. Allowed: {', '.join(allowed) or 'none'}.",
            ),
            state=issue.status,
            allowed_actions=allowed,
        )
    _check_actor(user, issue, rule.who)
    now = utcnow()
    before = issue.status
    note = data.get("note")
    event_data: dict = {}
    if action == "accept":
        issue.status = "accepted"
    elif action == "reject":
        note = _need(data, "note", "原因（note）", "a reason (note)")
        issue.status, issue.closed_at = "rejected", now
    elif action == "dispatch":
        department_id, assignee_id = data.get("department_id"), data.get("assignee_id")
        if department_id is None and assignee_id is None:
            department_id = issue.department_id or _need(
                data, "department_id", "承办部门或人员", "department_id or assignee_id"
            )
        if department_id is not None and db.session.get(Department, department_id) is None:
            raise Invalid(
                Msg("部门不存在。", "No such department."), errors={"json": {"department_id": ["unknown"]}}
            )
        if assignee_id is not None and db.session.get(User, assignee_id) is None:
            raise Invalid(Msg("人员不存在。", "No such user."), errors={"json": {"assignee_id": ["unknown"]}})
        issue.department_id, issue.assignee_id = department_id, assignee_id
        if issue.dispatched_at is None:
            _start_clock(issue, now)
        issue.status = "dispatched"
        event_data = {
            "department_id": department_id,
            "assignee_id": assignee_id,
            "deadline": issue.deadline.isoformat(),
        }
    elif action == "start":
        issue.status = "in_progress"
    elif action == "fix":
        note = _need(data, "note", "处置说明（note）", "the handler's feedback (note)")
        photos = _owned_uploads(user, _need(data, "photos", "处置后照片", "a photo of the fix (photos)"))
        for upload in photos:
            upload.issue_id = issue.id
        issue.fix_photos = [*issue.fix_photos, *[p.id for p in photos]]
        issue.status, issue.fixer_id, issue.fixed_at = "fixed", user.id, now
    elif action == "verify":
        if issue.fixer_id == user.id:
            raise Forbidden(Msg("处置人不能核查自己的处置结果。", "The fixer may not verify his own fix."))
        result = _need(data, "result", "核查结果（pass 或 fail）", "result (pass or fail)")
        if result == "pass":
            issue.status, issue.closed_at = "closed", now
            issue.closed_on_time = issue.deadline is None or now <= issue.deadline
        else:
            issue.rework_count += 1
            issue.status = "in_progress"
        event_data = {"result": result, "rework_count": issue.rework_count}
    elif action == "defer":
        note = _need(data, "note", "延期原因（note）", "a reason (note)")
        issue.previous_status = issue.status
        issue.deferred_remaining_s = (
            work_calendar().working_seconds_between(now, issue.deadline) if issue.deadline else None
        )
        issue.status, issue.was_deferred = "deferred", True
        event_data = {"approver_id": user.id, "remaining_working_seconds": issue.deferred_remaining_s}
    elif action == "resume":
        issue.status = issue.previous_status or "in_progress"
        if issue.deferred_remaining_s is not None:
            calendar = work_calendar()
            issue.deadline = calendar.add_working_seconds(now, issue.deferred_remaining_s)
            issue.deadline_uncertain = calendar.uncertain_between(
                now.astimezone(LOCAL_TZ).date(), issue.deadline.astimezone(LOCAL_TZ).date()
            )
        issue.deferred_remaining_s = None
        event_data = {"deadline": issue.deadline.isoformat() if issue.deadline else None}
    elif action == "merge":
        into_id = _need(data, "into_id", "合并目标（into_id）", "into_id")
        if into_id == issue.id:
            raise Invalid(Msg("不能合并到自身。", "An issue cannot be merged into itself."))
        target = get_issue(user, into_id, for_update=True)  # not merged away meanwhile
        if target.status == "merged":
            raise Conflict(Msg("目标问题已被合并。", "The target issue was itself merged."))
        issue.status, issue.merged_into_id, issue.closed_at = "merged", target.id, now
        _event(target, user, "absorb", target.status, target.status, note, {"merged_issue_id": issue.id})
        event_data = {"into_id": target.id}
    elif action == "reopen":
        if issue.closed_at is None or now - issue.closed_at > timedelta(days=REOPEN_DAYS):
            raise Conflict(
                Msg(
                    f"办结超过 {REOPEN_DAYS} 天，不能重新打开。", f"Closed more than {REOPEN_DAYS} days ago."
                ),
                state=issue.status,
                allowed_actions=[],
            )
        note = _need(data, "note", "原因（note）", "a reason (note)")
        issue.status, issue.closed_at, issue.closed_on_time = "in_progress", None, None
        issue.reopen_count += 1
    elif action == "escalate":
        _escalate(user, issue, data, now, event_data)
    elif action == "report_in":
        _report_in(user, issue, now, event_data)
    elif action == "confirm_location":
        _confirm_location(user, issue, data, event_data)
    _event(issue, user, action, before, issue.status, note, event_data or None, at=now)
    db.session.commit()
    return issue


def _escalate(user: User, issue: Issue, data: dict, now: datetime, event_data: dict) -> None:
    """One level up; naming departments blows the whistle, and each must report in (报到) in time."""
    if issue.level >= len(LEVELS) - 1:
        raise Conflict(
            Msg("已是最高层级。", "The issue is already at the top level."),
            state=issue.status,
            allowed_actions=allowed_actions(issue),
        )
    issue.level += 1
    event_data.update(level=LEVELS[issue.level])
    departments = data.get("departments") or []
    if departments:
        found = set(db.session.scalars(select(Department.id).where(Department.id.in_(departments))))
        if found != set(departments):
            raise Invalid(
                Msg("部门不存在。", "Unknown departments."), errors={"json": {"departments": ["unknown ids"]}}
            )
        hours = current_app.config["WHISTLE_ACK_HOURS"]
        deadline = work_calendar().add_working_seconds(now, hours * 3600)
        for department_id in departments:
            if (
                db.session.scalar(
                    select(Whistle.id).where(
                        Whistle.issue_id == issue.id, Whistle.department_id == department_id
                    )
                )
                is None
            ):
                db.session.add(
                    Whistle(
                        issue_id=issue.id,
                        department_id=department_id,
                        called_by=user.id,
                        called_at=now,
                        ack_deadline=deadline,
                    )
                )
        event_data.update(whistle=sorted(departments), report_in_by=deadline.isoformat())


def _confirm_location(user: User, issue: Issue, data: dict, event_data: dict) -> None:
    """Staff confirm a report placed at the nearest micro-grid (or by its address alone), or move it
    to the right one."""
    if issue.located_by not in ("nearest", "address"):
        raise Conflict(
            Msg("该事件的位置无需确认。", "This issue's location needs no confirmation."),
            state=issue.status,
            allowed_actions=allowed_actions(issue),
        )
    area_id = data.get("area_id")
    if area_id is not None and area_id != issue.area_id:
        area = db.session.scalar(
            select(Area).where(Area.id == area_id, Area.level == "micro_grid", area_in_scope(user))
        )
        if area is None:
            raise Invalid(
                Msg("所选微网格不存在或不在您的范围内。", "No such micro-grid in your areas."),
                errors={"json": {"area_id": ["unknown micro-grid"]}},
            )
        event_data.update(from_area_id=issue.area_id, to_area_id=area.id)
        issue.area_id = area.id
    event_data.update(distance_m=issue.located_distance_m)
    issue.located_by = "confirmed"


def _report_in(user: User, issue: Issue, now: datetime, event_data: dict) -> None:
    mine = set(user_department_ids(user))
    whistle = db.session.scalar(
        select(Whistle).where(
            Whistle.issue_id == issue.id, Whistle.department_id.in_(mine), Whistle.acked_at.is_(None)
        )
    )
    if whistle is None:
        raise NotFound(
            Msg("您的部门没有待报到的吹哨。", "Your department has no open whistle on this issue.")
        )
    whistle.acked_at, whistle.acked_by = now, user.id
    event_data.update(department_id=whistle.department_id, on_time=now <= whistle.ack_deadline)


def whistles(user: User, issue_id: int) -> list[Whistle]:
    issue = get_issue(user, issue_id)
    return list(db.session.scalars(select(Whistle).where(Whistle.issue_id == issue.id).order_by(Whistle.id)))
