"""Grid issues of the demo's past months: each one's life planned as the moves people make.

Every micro-grid and category comes round in turn; each report gets a life drawn from SCENARIOS
(closed on time or late, reworked, deferred, merged, rejected, reopened, escalated with whistles,
left open past its deadline...). Moves happen in working hours, after the one before, and a
report near today simply has not got as far yet.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from gridgov.areas.models import Area
from gridgov.auth.models import User
from gridgov.demo_history import Plan, Zone, at_local
from gridgov.demo_history.images import photo
from gridgov.extensions import db
from gridgov.issues.deadlines import deadline_for
from gridgov.issues.models import Category
from gridgov.issues.submission import save_upload, submit
from gridgov.issues.workflow import act
from gridgov.workcal.clock import WorkCalendar

SCENARIOS = {
    "closed": 36,
    "late": 8,
    "on_spot": 5,
    "rework": 6,
    "rework_open": 2,
    "deferred": 3,
    "resumed": 3,
    "merged": 4,
    "rejected": 4,
    "reopened": 3,
    "reopened_open": 1,
    "whistle": 4,
    "whistle_open": 2,
    "escalated": 2,
    "overdue": 7,
    "fixed_waiting": 3,
    "dispatched": 3,
    "accepted": 2,
}
REJECT_NOTES = (
    "经现场核实，问题不存在。",
    "属于私人纠纷，已引导居民通过调解处理。",
    "不属于网格事项，已告知居民拨打 12345。",
)
DESCRIPTIONS = {
    "ENV-RUBBISH": "{place}垃圾桶满溢，周边散落生活垃圾。",
    "ENV-WEEDS": "{place}绿化带杂草丛生，傍晚蚊虫较多。",
    "FIRE-STAIRWELL": "{place}楼道堆放纸箱、旧家具，堵塞消防通道。",
    "INFRA-LIGHT": "{place}路灯不亮，夜间行人看不清路。",
    "MKT-STALL": "{place}流动商贩占道经营，影响车辆通行。",
    "SITE-DUST": "{place}工地渣土未覆盖，刮风扬尘严重。",
    "BUILD-ILLEGAL": "{place}有住户在楼顶私搭彩钢房。",
    "NOISE": "{place}夜间施工噪声扰民。",
    "ROAD-DAMAGE": "{place}路面出现坑洼，雨后积水。",
    "DRAIN-BLOCKED": "{place}下水道堵塞，污水外溢。",
    "MANHOLE": "{place}井盖破损，存在安全隐患。",
    "AD-ILLEGAL": "{place}墙面乱贴小广告。",
    "VEHICLE-ABANDONED": "{place}僵尸车长期占用车位。",
    "FOOD-SAFETY": "{place}无证小吃摊，卫生条件差。",
    "RESIDENT-REQUEST": "{place}居民反映单元门禁损坏，希望尽快维修。",
}
FIX_NOTES = ("已现场处置完毕，拍照留存。", "已协调物业清理完成。", "已安排维修，恢复正常。")


def client_uuid(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"gridgov-demo-history-issue-{n}"))


def cycle(rng: random.Random, items: list) -> Iterator:
    """Every item once in a shuffled round, then the next round: all of them come up."""
    while True:
        round_ = list(items)
        rng.shuffle(round_)
        yield from round_


@dataclass
class Life:
    """One report and the people who will move it."""

    n: int
    at: datetime
    micro_grid: Area
    category: Category
    point: tuple[float, float]
    reporter: User
    staff: User
    handler: User
    verifier: User
    department_id: int | None
    extra: dict = field(default_factory=dict)
    place: str = ""
    scenario: str = ""
    issue_id: int | None = None


def point_in(geometry: dict, rng: random.Random) -> tuple[float, float]:
    """A point well inside a polygon's bounding box (the demo's areas and zones are rectangles)."""
    ring = geometry["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    dx, dy = (max(lons) - min(lons)) * 0.2, (max(lats) - min(lats)) * 0.2
    return (
        round(rng.uniform(min(lons) + dx, max(lons) - dx), 6),
        round(rng.uniform(min(lats) + dy, max(lats) - dy), 6),
    )


def new_life(
    zone: Zone, n: int, at: datetime, micro_grid: Area, category: Category, point, extra=None
) -> Life:
    reporter, staff = zone.worker(micro_grid), zone.staff(micro_grid)
    if category.department_id is not None:
        handler, verifier = zone.members[category.department_id], reporter
    else:
        handler, verifier = reporter, staff  # a resident's request the worker handles himself
    return Life(
        n,
        at,
        micro_grid,
        category,
        point,
        reporter,
        staff,
        handler,
        verifier,
        category.department_id,
        extra or {},
    )


class Planner:
    """Turns a life and its scenario into timed steps on the plan."""

    def __init__(self, plan: Plan, zone: Zone, rng: random.Random, calendar: WorkCalendar):
        self.plan, self.zone, self.rng, self.calendar = plan, zone, rng, calendar
        self.by_grid: dict[int, list[Life]] = {}
        self.count = 0  # lives planned so far; the next one's number

    def later(self, moment: datetime, low: float, high: float) -> datetime:
        """`low`–`high` working minutes after `moment`."""
        return self.calendar.add_working_seconds(moment, self.rng.uniform(low, high) * 60)

    def report(self, life: Life, on_spot: bool) -> None:
        with_photo = life.n % 6 == 0

        def run():
            db.session.info["actor_id"] = life.reporter.id
            body = {
                "client_uuid": client_uuid(life.n),
                "category": life.category.code,
                "description": DESCRIPTIONS[life.category.code].format(
                    place=life.place or life.micro_grid.name
                ),
                "location": {"type": "Point", "coordinates": list(life.point)},
                "crs": "wgs84",
                "accuracy": 8.0,
                **life.extra,
            }
            if with_photo:
                body["photos"] = [save_upload(life.reporter, photo(life.n))[0].id]
            if on_spot:
                body["fixed_on_spot"] = True
                body["fix_photos"] = [save_upload(life.reporter, photo(life.n + 1))[0].id]
                body["fix_note"] = "现场劝导，已当场处置。"
            life.issue_id = submit(life.reporter, body).issue.id

        self.plan.add(life.at, run)

    def move(self, at: datetime, life: Life, user: User, data: dict | None = None, **fields) -> datetime:
        def run():
            db.session.info["actor_id"] = user.id
            body = dict(data or {}, **fields)
            if body["action"] == "fix":
                body["photos"] = [save_upload(user, photo(life.n + 2))[0].id]
            if "into" in body:
                body["into_id"] = body.pop("into").issue_id
            act(user, life.issue_id, body)

        self.plan.add(at, run)
        return at

    def fix_and_verify(
        self, life: Life, t: datetime, deadline: datetime, late: bool, passes=(True,)
    ) -> datetime:
        soonest = self.later(t, 20, 90)
        if late:
            t = max(soonest, self.calendar.add_working_seconds(deadline, self.rng.uniform(1, 16) * 3600))
        else:
            span = max(self.calendar.working_seconds_between(t, deadline), 1800)
            t = max(soonest, self.calendar.add_working_seconds(t, span * self.rng.uniform(0.15, 0.85)))
        for passed in passes:
            t = self.move(t, life, life.handler, action="fix", note=self.rng.choice(FIX_NOTES))
            if passed is None:
                return t
            t = self.move(
                self.later(t, 40, 360),
                life,
                life.verifier,
                action="verify",
                result="pass" if passed else "fail",
            )
            if not passed:
                t = self.later(t, 120, 900)
        return t

    def live(self, life: Life, scenario: str) -> None:
        """Plan the moves of one life in its scenario."""
        later, move = self.later, self.move
        self.report(life, scenario == "on_spot")
        earlier = [
            o
            for o in self.by_grid.get(life.micro_grid.id, [])
            if o.scenario not in ("merged", "rejected") and o.at < life.at - timedelta(hours=1)
        ]
        self.by_grid.setdefault(life.micro_grid.id, []).append(life)
        if scenario == "merged" and not earlier:
            scenario = "rejected"
        life.scenario = scenario
        if scenario == "on_spot":
            move(later(life.at, 60, 240), life, life.staff, action="verify", result="pass")
            return
        if scenario == "rejected":
            move(
                later(life.at, 30, 180), life, life.staff, action="reject", note=self.rng.choice(REJECT_NOTES)
            )
            return
        if scenario == "merged":
            target = earlier[-1]
            move(
                later(life.at, 20, 120),
                life,
                life.staff,
                action="merge",
                into=target,
                note="同一问题重复上报，合并办理。",
            )
            return
        t = move(later(life.at, 15, 120), life, life.staff, action="accept")
        if scenario == "accepted":
            return
        whistled = self._whistle_departments(life)
        if scenario in ("whistle_open", "escalated"):
            t = move(
                later(t, 30, 180),
                life,
                life.staff,
                action="escalate",
                departments=[d.id for d in whistled] if scenario == "whistle_open" else [],
                note="需多部门协同处置，吹哨报到。"
                if scenario == "whistle_open"
                else "网格内无法解决，上报社区。",
            )
            if scenario == "whistle_open":
                move(
                    later(t, 30, 240),
                    life,
                    self.zone.members[whistled[0].id],
                    action="report_in",
                    note="已报到，安排人员到场。",
                )
                return
        dispatch = (
            {"department_id": life.department_id} if life.department_id else {"assignee_id": life.reporter.id}
        )
        t = move(later(t, 10, 60), life, life.staff, action="dispatch", **dispatch)
        deadline, _ = deadline_for(life.category, t, self.calendar)
        if scenario == "dispatched":
            return
        if scenario == "whistle":
            t = move(
                later(t, 60, 240),
                life,
                life.staff,
                action="escalate",
                departments=[d.id for d in whistled],
                note="涉及多个部门，吹哨报到。",
            )
            called = t
            for department in whistled:
                member = self.zone.members[department.id]
                t = max(t, move(later(called, 20, 300), life, member, action="report_in", note="已报到。"))
        t = move(later(t, 30, 240), life, life.handler, action="start")
        if scenario == "overdue":
            return
        if scenario in ("deferred", "resumed"):
            t = move(later(t, 60, 300), life, life.staff, action="defer", note="需等待配件到货，申请延期。")
            if scenario == "deferred":
                return
            remaining = self.calendar.working_seconds_between(t, deadline)
            t = move(later(t, 2 * 7 * 60, 4 * 7 * 60), life, life.staff, action="resume")
            deadline = self.calendar.add_working_seconds(t, remaining)
        passes = {"rework": (False, True), "rework_open": (False,), "fixed_waiting": (None,)}.get(
            scenario, (True,)
        )
        t = self.fix_and_verify(life, t, deadline, scenario == "late", passes)
        if scenario in ("reopened", "reopened_open"):
            t = move(
                later(t, 7 * 60, 5 * 7 * 60), life, life.staff, action="reopen", note="居民反映问题复发。"
            )
            if scenario == "reopened":
                deadline, _ = deadline_for(life.category, t, self.calendar)
                self.fix_and_verify(life, t, max(deadline, t + timedelta(hours=4)), False)

    def _whistle_departments(self, life: Life):
        own = [d for d in self.zone.departments.values() if d.id == life.department_id]
        others = sorted(
            (d for d in self.zone.departments.values() if d.id != life.department_id), key=lambda d: d.code
        )
        return own + [others[life.n % len(others)]]


def choose(rng: random.Random) -> str:
    return rng.choices(list(SCENARIOS), weights=list(SCENARIOS.values()))[0]


def plan_issues(planner: Planner, start_day: date, today: date) -> int:
    """A few reports each working day (fewer at weekends), over every micro-grid and category."""
    zone, rng, calendar = planner.zone, planner.rng, planner.calendar
    grids = cycle(rng, zone.micro_grids)
    categories = cycle(rng, [c for c in zone.categories if c.code != "MKT-STALL"])
    n, day = 0, start_day
    while day <= today:
        workday = calendar.is_workday(day)
        for _ in range(rng.randint(2, 5) if workday else rng.randint(0, 2)):
            at = at_local(day, rng.uniform(8.0, 17.5) if workday else rng.uniform(9.0, 16.0))
            micro_grid = next(grids)
            life = new_life(zone, n, at, micro_grid, next(categories), point_in(micro_grid.geometry, rng))
            planner.live(life, choose(rng))
            n += 1
        day += timedelta(days=1)
    planner.count = n
    return n
