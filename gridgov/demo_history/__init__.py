"""Three months of the demo zone's life, replayed through the services with the app clock moved.

`seed_history()` plans every event of the past DAYS days (reports and their moves, patrols and
their tracks, market check-ins, nightly report freezes, reminder ticks) as (moment, step) pairs,
sorts them and runs each with the app clock held at its moment, so every row is one the product
itself writes. The plan comes from a random generator seeded with today's local date: running on
the same day plans the same history. The history is written once: when its first report is
already there, the seed leaves everything as it is.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select, text

from gridgov.areas.models import Area
from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.issues.models import Category, Department, DepartmentMember, Issue
from gridgov.notifications.models import Notification
from gridgov.timeutil import LOCAL_TZ, local_today, replay_clock, utcnow
from gridgov.workcal.services import work_calendar

DAYS = 91


def at_local(day: date, hours: float) -> datetime:
    """A moment of a local (Asia/Shanghai) day, `hours` after its midnight."""
    return datetime.combine(day, time(0), LOCAL_TZ) + timedelta(seconds=round(hours * 3600))


@dataclass(order=True)
class Step:
    at: datetime
    order: int
    run: Callable[[], object] = field(compare=False)


class Plan:
    """The replay: steps in time order; a step planned after `now` has not happened yet."""

    def __init__(self, now: datetime):
        self.now = now
        self.steps: list[Step] = []

    def add(self, at: datetime, run: Callable[[], object]) -> bool:
        if at > self.now:
            return False
        self.steps.append(Step(at, len(self.steps), run))
        return True

    def run(self, move: Callable[[datetime], None]) -> int:
        """Each step as one request of the product would make it, with the clock at its moment."""
        app = current_app._get_current_object()
        for step in sorted(self.steps):
            move(step.at)
            with app.test_request_context():
                step.run()
        return len(self.steps)


@dataclass
class Zone:
    """The demo zone's people and places, looked up once for the planners."""

    users: dict[str, User]
    areas: dict[int, Area]
    micro_grids: list[Area]
    categories: list[Category]
    departments: dict[str, Department]
    members: dict[int, User]  # department id → the demo account that handles its issues
    workers: dict[int, User]  # grid id → its grid worker
    town_staff: dict[int, User]  # town id → its staff account

    def ancestor(self, area: Area, level: str) -> Area:
        while area.level != level:
            area = self.areas[area.parent_id]
        return area

    def worker(self, micro_grid: Area) -> User:
        """The grid worker whose grid holds the micro-grid."""
        return self.workers[self.ancestor(micro_grid, "grid").id]

    def staff(self, area: Area) -> User:
        """The staff account of the area's town."""
        return self.town_staff[self.ancestor(area, "town").id]


def load_zone() -> Zone:
    areas = {a.id: a for a in db.session.scalars(select(Area))}
    users = {u.username: u for u in db.session.scalars(select(User))}
    members = {}
    for member in db.session.scalars(select(DepartmentMember).order_by(DepartmentMember.id)):
        members.setdefault(member.department_id, db.session.get(User, member.user_id))
    workers, town_staff = {}, {}
    for user in sorted(users.values(), key=lambda u: u.username):
        for area_id in user.area_ids:
            if user.has_role("grid_worker") and areas[area_id].level == "grid":
                workers.setdefault(area_id, user)
            if user.has_role("staff") and areas[area_id].level == "town":
                town_staff.setdefault(area_id, user)
    return Zone(
        users=users,
        areas=areas,
        micro_grids=sorted((a for a in areas.values() if a.level == "micro_grid"), key=lambda a: a.code),
        categories=list(
            db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))
        ),
        departments={d.code: d for d in db.session.scalars(select(Department))},
        members=members,
        workers=workers,
        town_staff=town_staff,
    )


@contextmanager
def quick_writes() -> Iterator[None]:
    """For the replay only: SQLite commits without fsync, and rows not reloaded after each commit.

    Thousands of small commits are what the services do one request at a time; a seed cut short
    leaves a demo database to create again, not data to lose.
    """
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        db.session.execute(text("PRAGMA synchronous=OFF"))
    try:
        yield
    finally:
        session.expire_on_commit = expire
        if sqlite:
            db.session.execute(text("PRAGMA synchronous=FULL"))


def seed_history(now: datetime | None = None) -> dict:
    """Replay the demo zone's past three months once (commits); returns what was written."""
    from gridgov.demo_history import issues, markets, patrols
    from gridgov.notifications.jobs import tick

    now = now or utcnow()
    if db.session.scalar(select(Issue.id).where(Issue.client_uuid == issues.client_uuid(0))):
        return {"history": "kept"}
    today = local_today(now)
    start_day = today - timedelta(days=DAYS - 1)
    rng = random.Random(today.toordinal())  # noqa: S311 - a reproducible demo, not a secret
    zone = load_zone()
    plan = Plan(now)
    planner = issues.Planner(plan, zone, rng, work_calendar())
    with quick_writes(), replay_clock(at_local(start_day - timedelta(days=7), 9)) as move:
        markets.prepare(zone, start_day, today)
        made = {
            "issues": issues.plan_issues(planner, start_day, today),
            "market_issues": markets.plan_market_issues(planner, start_day, today),
            "patrols": patrols.plan_patrols(plan, zone, rng, start_day, today),
            "check_ins": markets.plan_check_ins(plan, zone, rng, start_day, today),
        }
        patrols.plan_freezes(plan, start_day, today)
        for days_back in range(13, -1, -1):  # the scheduler's evening runs, and this week's mornings
            for hours in (7.5, 18.5) if days_back < 3 else (18.5,):
                plan.add(at_local(today - timedelta(days=days_back), hours), lambda: tick(utcnow()))
        made["steps"] = plan.run(move)
        move(now)
        tick(now)
        made["notifications"] = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.read_at.is_(None))
        )
    return made
