"""`flask seed demo` builds a zone that has been running for three months before today."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from gridgov.areas.models import Area
from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.issues.models import Category, Issue, IssueEvent, Upload, Whistle
from gridgov.markets.models import Market, MarketCheckin, MarketException
from gridgov.notifications.models import Notification
from gridgov.patrols.models import DailyReport, Patrol, PatrolPoint
from gridgov.seeding import seed_demo
from gridgov.timeutil import LOCAL_TZ, local_today
from gridgov.wages.models import Notice, Payment, WageCase

# A Wednesday morning: the three months before reach back over National Day (Oct 1–8, 2026).
TODAY_10AM = datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def seeded(app, clock):
    clock.set(TODAY_10AM)
    return seed_demo()


def _rows() -> dict:
    """What a second seed must leave exactly as it was."""
    count = lambda column: db.session.scalar(select(func.count(column)))  # noqa: E731
    return {
        "issues": sorted(
            (i.client_uuid, i.status, i.received_at, i.closed_at, i.rework_count, i.reopen_count)
            for i in db.session.scalars(select(Issue))
        ),
        "events": count(IssueEvent.id),
        "patrols": count(Patrol.id),
        "points": count(PatrolPoint.id),
        "reports": count(DailyReport.id),
        "check_ins": count(MarketCheckin.id),
        "cases": sorted((c.number, c.status) for c in db.session.scalars(select(WageCase))),
        "notifications": count(Notification.id),
        "uploads": count(Upload.id),
    }


def _check_issues() -> None:
    issues = list(db.session.scalars(select(Issue)))
    assert 250 <= len(issues) <= 500
    first = min(i.received_at for i in issues).astimezone(LOCAL_TZ).date()
    assert (local_today() - first).days >= 85
    statuses = Counter(i.status for i in issues)
    for status in (
        "reported",
        "accepted",
        "dispatched",
        "in_progress",
        "deferred",
        "fixed",
        "merged",
        "rejected",
    ):
        assert statuses[status] > 0, status
    assert statuses["closed"] > len(issues) / 2
    micro_grids = set(db.session.scalars(select(Area.id).where(Area.level == "micro_grid")))
    assert {i.area_id for i in issues} == micro_grids
    assert {i.category_id for i in issues} == set(db.session.scalars(select(Category.id)))
    assert any(i.rework_count for i in issues if i.status == "closed")
    assert any(i.reopen_count for i in issues)
    assert any(i.closed_on_time is False for i in issues) and any(i.closed_on_time for i in issues)
    now = TODAY_10AM
    assert any(i.status in ("dispatched", "in_progress") and i.deadline < now for i in issues)  # overdue
    assert any(i.level > 0 for i in issues)
    whistles = list(db.session.scalars(select(Whistle)))
    assert any(w.acked_at for w in whistles) and any(w.acked_at is None for w in whistles)
    assert db.session.scalar(select(func.count(Upload.id)).where(Upload.issue_id.is_not(None))) > 150
    # Timelines: in time order, ending in the issue's state; desk moves in office hours.
    events = defaultdict(list)
    for event in db.session.scalars(select(IssueEvent).order_by(IssueEvent.id)):
        events[event.issue_id].append(event)
    for issue in issues:
        times = [e.at for e in events[issue.id]]
        assert times == sorted(times) and events[issue.id][-1].to_status == issue.status, issue.id
    for event in (e for evs in events.values() for e in evs if e.action in ("accept", "dispatch", "defer")):
        moment = event.at.astimezone(LOCAL_TZ).time()
        assert time(8, 30) <= moment <= time(12, 0) or time(14, 30) <= moment <= time(18, 0)


def _check_patrols_markets_wages_inboxes() -> None:
    days = Counter(p.worker_id for p in db.session.scalars(select(Patrol)))
    workers = db.session.scalars(select(User).where(User.username.like("worker_%"))).all()
    assert len(workers) == 8 and all(days[w.id] >= 45 for w in workers)  # of 61 working days
    frozen = db.session.scalars(select(DailyReport)).all()
    assert len({r.day for r in frozen}) >= 89 and local_today() not in {r.day for r in frozen}
    assert any(row["due"] and not row["covered"] for r in frozen for row in r.data["micro_grids"])  # missed
    markets = {m.name: m for m in db.session.scalars(select(Market))}
    assert {"杨庄集", "李营集", "湖滨集", "锦华农贸会", "锦华周六夜市"} <= set(markets)
    assert {e.kind for e in db.session.scalars(select(MarketException))} == {"cancel", "move"}
    check_ins = db.session.scalars(select(MarketCheckin)).all()
    assert {c.market_id for c in check_ins} == {m.id for m in markets.values()}
    assert any(not c.on_time for c in check_ins) and any(c.on_time for c in check_ins)
    stalls = db.session.scalars(select(Issue).where(Issue.market_id.is_not(None))).all()
    assert {s.market_id for s in stalls} == {m.id for m in markets.values()}
    assert all(s.received_at.astimezone(LOCAL_TZ).date().isoformat() == s.market_date for s in stalls)
    cases = Counter(c.status for c in db.session.scalars(select(WageCase)))
    for status in ("received", "verifying", "coordinating", "payment_ordered", "paying", "callback"):
        assert cases[status] > 0, status
    assert cases["closed"] >= 2 and cases["not_accepted"] == 1
    assert {n.kind for n in db.session.scalars(select(Notice))} == {"reminder", "supervision"}
    assert db.session.scalar(select(func.count(Payment.id))) >= 4


def test_the_seed_builds_three_months_once(seeded, clock):
    assert seeded["history"]["steps"] > 1000
    first = _rows()
    clock.set(TODAY_10AM + timedelta(minutes=5))
    again = seed_demo()
    assert again["history"] == {"history": "kept"}
    assert _rows() == first
    _check_issues()
    _check_patrols_markets_wages_inboxes()


def _recount(start, end) -> dict:
    """The figures by grid, counted again from the timelines by the documented formulas
    (gridgov/issues/stats.py): rejected and merged issues are out of the set; `reported` by the
    report's time; `due` by the deadline in the period; of those, `deferred` if deferred now, and
    of the rest `closed` if closed now, `closed_on_time` if the passing verification came by the
    deadline, `rework_count` the failed verifications and reopenings."""
    areas = {a.id: a for a in db.session.scalars(select(Area))}

    def grid(area_id):
        area = areas[area_id]
        while area.level != "grid":
            area = areas[area.parent_id]
        return area.code

    events = defaultdict(list)
    for event in db.session.scalars(select(IssueEvent).order_by(IssueEvent.at, IssueEvent.id)):
        events[event.issue_id].append(event)
    counts = defaultdict(Counter)
    for issue in db.session.scalars(select(Issue)):
        timeline = events[issue.id]
        now = timeline[-1].to_status
        if now in ("rejected", "merged"):
            continue
        reported = timeline[0].at
        row = counts[grid(issue.area_id)]
        if start <= reported < end:
            row["reported"] += 1
        deadline = issue.deadline
        if deadline is None or issue.deadline_provisional or not start <= deadline < end:
            continue
        row["due"] += 1
        if now == "deferred":
            row["deferred"] += 1
            continue
        row["rework_count"] += sum(
            1
            for e in timeline
            if (e.action == "verify" and e.data["result"] == "fail") or e.action == "reopen"
        )
        if now == "closed":
            passed = [e.at for e in timeline if e.action == "verify" and e.data["result"] == "pass"]
            row["closed"] += 1
            row["closed_on_time"] += passed[-1] <= deadline
    return counts


def test_the_figures_agree_with_a_recount_from_the_rows(seeded, client, auth_headers):
    leader = db.session.scalar(select(User).where(User.username == "leader"))
    today = local_today()
    for first in (today - timedelta(days=90), today.replace(day=1)):
        response = client.get(
            f"/api/v1/stats/issues?from={first}&to={today}&group_by=grid", headers=auth_headers(leader)
        )
        assert response.status_code == 200
        start = datetime.combine(first, time(0), LOCAL_TZ)
        end = datetime.combine(today + timedelta(days=1), time(0), LOCAL_TZ)
        recount = _recount(start, end)
        shown = {row["key"]: row for row in response.json}
        assert set(shown) == {k for k, v in recount.items() if v}
        for key, row in shown.items():
            for field in ("reported", "closed", "rework_count", "due", "deferred", "closed_on_time"):
                assert row[field] == recount[key][field], (key, field)
        assert sum(r["reported"] for r in shown.values()) > 0
    for user in db.session.scalars(select(User).where(User.username != "admin")):
        inbox = client.get("/api/v1/me/notifications", headers=auth_headers(user))
        assert inbox.status_code == 200 and len(inbox.json) > 0, user.username
