"""Scheduled work on issues: escalate the overdue up the ladder, remind handlers, chase whistles.

Escalation ladder: grid → community → town (or department) → district joint meeting → leaders.
An open issue goes up one level for every ESCALATE_AFTER_HOURS it is overdue; each change of
level notifies the new owners (staff of that level's area; leaders at the top).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.extensions import db
from gridgov.issues.models import LEVELS, Category, DepartmentMember, Issue, IssueEvent, Whistle
from gridgov.notifications.outbox import Draft

LEVEL_AREA = {1: "community", 2: "town", 3: "district", 4: "district"}
LEVEL_NAMES = {
    "grid": "网格",
    "community": "社区",
    "town": "镇（街道）/部门",
    "district_joint_meeting": "区联席会议",
    "leaders": "主要领导",
}


def _owners(area_path: str, level: int) -> list[int]:
    """Staff (or leaders at the top) assigned to the ancestor area that owns this level."""
    ids = [int(p) for p in area_path.strip("/").split("/")]
    areas = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(ids)))}
    target = next((areas[i] for i in ids if areas[i].level == LEVEL_AREA[level]), None)
    if target is None:
        return []
    role = "leader" if level == 4 else "staff"
    return list(
        db.session.scalars(
            select(User.id)
            .join(UserArea, UserArea.user_id == User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserArea.area_id == target.id, UserRole.role == role, User.is_active.is_(True))
        )
    )


def escalation_drafts(now: datetime) -> list[Draft]:
    """Raise the level of overdue issues (writes events, no commit) and draft the notices."""
    margin = timedelta(hours=current_app.config["ESCALATE_AFTER_HOURS"])
    drafts = []
    rows = db.session.execute(
        select(Issue, Area.path).join(Area, Area.id == Issue.area_id).where(Issue.overdue_at(now))
    )
    for issue, path in rows:
        wanted = min(len(LEVELS) - 1, int((now - issue.deadline) / margin))
        if wanted <= issue.level:
            continue
        before = issue.level
        issue.level = wanted
        db.session.add(
            IssueEvent(
                issue_id=issue.id,
                at=now,
                action="auto_escalate",
                from_status=issue.status,
                to_status=issue.status,
                data={"from": LEVELS[before], "to": LEVELS[wanted]},
            )
        )
        title = f"问题 #{issue.id} 超期升级至{LEVEL_NAMES[LEVELS[wanted]]}"
        body = f"问题 #{issue.id} 已超过办理时限 {issue.deadline:%Y-%m-%d %H:%M}（UTC），请督办。"
        for user_id in _owners(path, wanted):
            drafts.append(
                Draft(
                    "issue_escalated",
                    f"issue:{issue.id}:level:{wanted}",
                    issue.deadline,
                    user_id,
                    title,
                    body,
                    issue.area_id,
                    {"issue_id": issue.id, "level": LEVELS[wanted]},
                    urgent=True,
                )
            )
    return drafts


def overdue_drafts(now: datetime) -> list[Draft]:
    """Tell the handler (person or department) once when his issue passes its deadline."""
    drafts = []
    members: dict[int, list[int]] = {}
    for department_id, user_id in db.session.execute(
        select(DepartmentMember.department_id, DepartmentMember.user_id)
    ):
        members.setdefault(department_id, []).append(user_id)
    names = dict(db.session.execute(select(Category.id, Category.name_zh)).all())
    for issue in db.session.scalars(select(Issue).where(Issue.overdue_at(now))):
        people = {issue.assignee_id} if issue.assignee_id else set(members.get(issue.department_id, []))
        for user_id in people - {None}:
            drafts.append(
                Draft(
                    "issue_overdue",
                    f"issue:{issue.id}",
                    issue.deadline,
                    user_id,
                    f"问题 #{issue.id} 已超期",
                    f"{names.get(issue.category_id, '')}：{issue.description[:60]}",
                    issue.area_id,
                    {"issue_id": issue.id},
                )
            )
    return drafts


def whistle_drafts(now: datetime) -> list[Draft]:
    """Departments that were whistled and have not reported in by the deadline."""
    drafts = []
    for whistle in db.session.scalars(
        select(Whistle).where(Whistle.acked_at.is_(None), Whistle.ack_deadline < now)
    ):
        for user_id in db.session.scalars(
            select(DepartmentMember.user_id).where(DepartmentMember.department_id == whistle.department_id)
        ):
            drafts.append(
                Draft(
                    "whistle_overdue",
                    f"issue:{whistle.issue_id}:whistle:{whistle.department_id}",
                    whistle.ack_deadline,
                    user_id,
                    f"吹哨未报到：问题 #{whistle.issue_id}",
                    "请立即报到并参与处置。",
                    None,
                    {"issue_id": whistle.issue_id},
                    urgent=True,
                )
            )
    return drafts


COLLECTORS = [escalation_drafts, overdue_drafts, whistle_drafts]
