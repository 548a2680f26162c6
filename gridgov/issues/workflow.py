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

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.areas.scope import area_in_scope
from gridgov.auth.models import User
from gridgov.errors import Conflict, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.issues.catalogue import user_department_ids
from gridgov.issues.deadlines import deadline_for
from gridgov.issues.models import LEVELS, Category, Department, Issue, IssueEvent, Whistle
from gridgov.issues.queries import get_issue
from gridgov.issues.states import HANDLING, OPEN, UNFIXED, IssueState
from gridgov.issues.states import S as I
from gridgov.issues.submission import owned_uploads
from gridgov.timeutil import LOCAL_TZ
from gridgov.workcal.services import work_calendar
from gridgov.workflow import ROLE_REFUSED, Move, Rule, Workflow

REOPEN_DAYS = 30
FIXER_REFUSED = Msg("处置人不能核查自己的处置结果。", "The fixer may not verify his own fix.")


def _reopenable(issue: Issue, now: datetime) -> Msg | None:
    if issue.closed_at is None or now - issue.closed_at > timedelta(days=REOPEN_DAYS):
        return Msg(f"办结超过 {REOPEN_DAYS} 天，不能重新打开。", f"Closed more than {REOPEN_DAYS} days ago.")
    return None


def _below_top(issue: Issue, now: datetime) -> Msg | None:
    if issue.level >= len(LEVELS) - 1:
        return Msg("已是最高层级。", "The issue is already at the top level.")
    return None


def _placed_unconfirmed(issue: Issue, now: datetime) -> Msg | None:
    if issue.located_by not in ("nearest", "address"):
        return Msg("该事件的位置无需确认。", "This issue's location needs no confirmation.")
    return None


RULES = {
    "accept": Rule((I.REPORTED,), "staff"),
    "reject": Rule((I.REPORTED,), "staff"),
    "dispatch": Rule((I.REPORTED, I.ACCEPTED, *HANDLING), "staff"),
    "start": Rule((I.DISPATCHED,), "handler"),
    "fix": Rule(HANDLING, "handler"),
    "verify": Rule((I.FIXED,), "verifier"),
    "defer": Rule(HANDLING, "staff"),
    "resume": Rule((I.DEFERRED,), "staff"),
    "merge": Rule(OPEN, "staff"),
    "reopen": Rule((I.CLOSED,), "staff", _reopenable),
    "escalate": Rule(UNFIXED, "staff", _below_top),
    "report_in": Rule(OPEN, "department"),
    "confirm_location": Rule(OPEN, "staff", _placed_unconfirmed),
}


def _refusal(user: User, issue: Issue, who: str) -> Msg | None:
    """Why this user may not take a move of `who` on this issue, or None when he may."""
    if who == "verifier" and issue.fixer_id == user.id:
        return FIXER_REFUSED
    if user.has_role("admin"):
        return None
    if who == "staff" and user.has_role("staff"):
        return None
    if who == "handler" and (
        user.has_role("staff")
        or issue.assignee_id == user.id
        or (issue.department_id and issue.department_id in user_department_ids(user))
    ):
        return None
    if who == "verifier" and user.has_role("staff", "grid_worker"):
        return None
    if who == "department" and user.has_role("department", "staff"):
        return None
    return ROLE_REFUSED


MOVES = Workflow(Msg("事件", "issue"), IssueState, RULES, _refusal, IssueEvent)


def actions_for(user: User | None, issue: Issue) -> list[str]:
    """The moves the issue's state allows and this user may take now (what a page offers)."""
    return MOVES.offered(user, issue)


def act(user: User, issue_id: int, data: dict) -> Issue:
    """Apply one action to an issue in the user's scope (commits); 409 when the state does not allow it."""
    issue = get_issue(user, issue_id, for_update=True)
    MOVES.run(user, issue, data)
    db.session.commit()
    return issue


@MOVES.handles("accept")
def accept(move: Move) -> None:
    move.subject.status = I.ACCEPTED


@MOVES.handles("reject")
def reject(move: Move) -> None:
    move.need("note", "原因（note）", "a reason (note)")
    move.subject.status, move.subject.closed_at = I.REJECTED, move.now


@MOVES.handles("dispatch")
def dispatch(move: Move) -> None:
    issue, data = move.subject, move.data
    department_id, assignee_id = data.get("department_id"), data.get("assignee_id")
    if department_id is None and assignee_id is None:
        department_id = issue.department_id or move.need(
            "department_id", "承办部门或人员", "department_id or assignee_id"
        )
    if department_id is not None and db.session.get(Department, department_id) is None:
        raise Invalid(
            Msg("部门不存在。", "No such department."), errors={"json": {"department_id": ["unknown"]}}
        )
    if assignee_id is not None and db.session.get(User, assignee_id) is None:
        raise Invalid(Msg("人员不存在。", "No such user."), errors={"json": {"assignee_id": ["unknown"]}})
    issue.department_id, issue.assignee_id = department_id, assignee_id
    if issue.dispatched_at is None:  # the clock starts at the first dispatch
        category = db.session.get(Category, issue.category_id)
        issue.dispatched_at = move.now
        issue.deadline, issue.deadline_uncertain = deadline_for(category, move.now, work_calendar())
        issue.deadline_provisional = False
    issue.status = I.DISPATCHED
    move.event.update(
        department_id=department_id, assignee_id=assignee_id, deadline=issue.deadline.isoformat()
    )


@MOVES.handles("start")
def start(move: Move) -> None:
    move.subject.status = I.IN_PROGRESS


@MOVES.handles("fix")
def fix(move: Move) -> None:
    issue = move.subject
    move.need("note", "处置说明（note）", "the handler's feedback (note)")
    photos = owned_uploads(move.user, move.need("photos", "处置后照片", "a photo of the fix (photos)"))
    for upload in photos:
        upload.issue_id = issue.id
    issue.fix_photos = [*issue.fix_photos, *[p.id for p in photos]]
    issue.status, issue.fixer_id, issue.fixed_at = I.FIXED, move.user.id, move.now


@MOVES.handles("verify")
def verify(move: Move) -> None:
    issue = move.subject
    result = move.need("result", "核查结果（pass 或 fail）", "result (pass or fail)")
    if result == "pass":
        issue.status, issue.closed_at = I.CLOSED, move.now
        issue.closed_on_time = issue.deadline is None or move.now <= issue.deadline
    else:
        issue.rework_count += 1
        issue.status = I.IN_PROGRESS
    move.event.update(result=result, rework_count=issue.rework_count)


@MOVES.handles("defer")
def defer(move: Move) -> None:
    """The clock pauses: the working time left is kept, and given back on resume."""
    issue = move.subject
    move.need("note", "延期原因（note）", "a reason (note)")
    issue.previous_status = issue.status
    issue.deferred_remaining_s = (
        work_calendar().working_seconds_between(move.now, issue.deadline) if issue.deadline else None
    )
    issue.status, issue.was_deferred = I.DEFERRED, True
    move.event.update(approver_id=move.user.id, remaining_working_seconds=issue.deferred_remaining_s)


@MOVES.handles("resume")
def resume(move: Move) -> None:
    issue = move.subject
    issue.status = issue.previous_status or I.IN_PROGRESS
    if issue.deferred_remaining_s is not None:
        calendar = work_calendar()
        issue.deadline = calendar.add_working_seconds(move.now, issue.deferred_remaining_s)
        issue.deadline_uncertain = calendar.uncertain_between(
            move.now.astimezone(LOCAL_TZ).date(), issue.deadline.astimezone(LOCAL_TZ).date()
        )
    issue.deferred_remaining_s = None
    move.event["deadline"] = issue.deadline.isoformat() if issue.deadline else None


@MOVES.handles("merge")
def merge(move: Move) -> None:
    issue = move.subject
    into_id = move.need("into_id", "合并目标（into_id）", "into_id")
    if into_id == issue.id:
        raise Invalid(Msg("不能合并到自身。", "An issue cannot be merged into itself."))
    target = get_issue(move.user, into_id, for_update=True)  # not merged away meanwhile
    if target.status == I.MERGED:
        raise Conflict(Msg("目标问题已被合并。", "The target issue was itself merged."))
    issue.status, issue.merged_into_id, issue.closed_at = I.MERGED, target.id, move.now
    IssueEvent.record(
        target,
        move.user,
        "absorb",
        target.status,
        target.status,
        note=move.note,
        data={"merged_issue_id": issue.id},
    )
    move.event["into_id"] = target.id


@MOVES.handles("reopen")
def reopen(move: Move) -> None:
    issue = move.subject
    move.need("note", "原因（note）", "a reason (note)")
    issue.status, issue.closed_at, issue.closed_on_time = I.IN_PROGRESS, None, None
    issue.reopen_count += 1


@MOVES.handles("escalate")
def escalate(move: Move) -> None:
    """One level up; naming departments blows the whistle, and each must report in (报到) in time."""
    issue = move.subject
    issue.level += 1
    move.event["level"] = LEVELS[issue.level]
    departments = move.data.get("departments") or []
    if not departments:
        return
    found = set(db.session.scalars(select(Department.id).where(Department.id.in_(departments))))
    if found != set(departments):
        raise Invalid(
            Msg("部门不存在。", "Unknown departments."), errors={"json": {"departments": ["unknown ids"]}}
        )
    deadline = work_calendar().add_working_seconds(move.now, current_app.config["WHISTLE_ACK_HOURS"] * 3600)
    called = set(db.session.scalars(select(Whistle.department_id).where(Whistle.issue_id == issue.id)))
    for department_id in sorted(found - called):
        db.session.add(
            Whistle(
                issue_id=issue.id,
                department_id=department_id,
                called_by=move.user.id,
                called_at=move.now,
                ack_deadline=deadline,
            )
        )
    move.event.update(whistle=sorted(departments), report_in_by=deadline.isoformat())


@MOVES.handles("confirm_location")
def confirm_location(move: Move) -> None:
    """Staff confirm a report placed at the nearest micro-grid (or by its address alone), or move it
    to the right one."""
    issue, area_id = move.subject, move.data.get("area_id")
    if area_id is not None and area_id != issue.area_id:
        area = db.session.scalar(
            select(Area).where(Area.id == area_id, Area.level == "micro_grid", area_in_scope(move.user))
        )
        if area is None:
            raise Invalid(
                Msg("所选微网格不存在或不在您的范围内。", "No such micro-grid in your areas."),
                errors={"json": {"area_id": ["unknown micro-grid"]}},
            )
        move.event.update(from_area_id=issue.area_id, to_area_id=area.id)
        issue.area_id = area.id
    move.event["distance_m"] = issue.located_distance_m
    issue.located_by = "confirmed"


@MOVES.handles("report_in")
def report_in(move: Move) -> None:
    mine = set(user_department_ids(move.user))
    whistle = db.session.scalar(
        select(Whistle).where(
            Whistle.issue_id == move.subject.id, Whistle.department_id.in_(mine), Whistle.acked_at.is_(None)
        )
    )
    if whistle is None:
        raise NotFound(
            Msg("您的部门没有待报到的吹哨。", "Your department has no open whistle on this issue.")
        )
    whistle.acked_at, whistle.acked_by = move.now, move.user.id
    move.event.update(department_id=whistle.department_id, on_time=move.now <= whistle.ack_deadline)


def whistles(user: User, issue_id: int) -> list[Whistle]:
    issue = get_issue(user, issue_id)
    return list(db.session.scalars(select(Whistle).where(Whistle.issue_id == issue.id).order_by(Whistle.id)))
