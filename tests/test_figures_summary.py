"""The daily summary the figures read (and the per-area counts the lists read) stay exact: after
random moves through the API they equal a full recount of the issues table, and `stats rebuild`
makes the same rows again."""
# ruff: noqa: F811 - `world` is test_issues' fixture, taken as a parameter

import math
import random
import statistics
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.issues import counts, workflow
from gridgov.issues.counts import IssueCount
from gridgov.issues.models import Category, Department, Issue
from gridgov.issues.summary import (
    COUNTERS,
    KEYS,
    MONTH_KEYS,
    IssueDailyFigures,
    IssueMonthlyFigures,
    by_month,
    recount,
)
from tests.test_issues import POINT_A, POINT_B, act, photo, report, world  # noqa: F401 - fixture

CATEGORIES = ("INFRA-LIGHT", "ENV-RUBBISH", "MANHOLE")


def summary_rows() -> dict:
    db.session.expire_all()
    rows = db.session.execute(select(IssueDailyFigures)).scalars()
    kept = {tuple(getattr(r, k) for k in KEYS): {c: getattr(r, c) for c in COUNTERS} for r in rows}
    return {key: counts for key, counts in kept.items() if any(counts.values())}


def recounted() -> dict:
    totals = recount(db.session.connection())
    db.session.rollback()
    return {key: {c: counts[c] for c in COUNTERS} for key, counts in totals.items() if any(counts.values())}


def monthly_rows() -> dict:
    db.session.expire_all()
    rows = db.session.execute(select(IssueMonthlyFigures)).scalars()
    kept = {tuple(getattr(r, k) for k in MONTH_KEYS): {c: getattr(r, c) for c in COUNTERS} for r in rows}
    return {key: counts for key, counts in kept.items() if any(counts.values())}


def remonthed() -> dict:
    """The monthly roll-up as a full recount of the issues would make it."""
    totals = by_month(recount(db.session.connection()))
    db.session.rollback()
    return {key: {c: counts[c] for c in COUNTERS} for key, counts in totals.items() if any(counts.values())}


@pytest.fixture
def town_staff(world, make_user, auth_headers):
    """A staff member over the whole district, who may move the issues of both towns."""
    world["h"]["staff_d"] = auth_headers(make_user(roles=["staff"], areas=[world["areas"]["D"]]), "en")
    return world


def move(client, world, rng, issue_id: int, status: str, ids: list[int]) -> None:
    """One random move the state allows, made by whoever may make it."""
    h, cg = world["h"], world["cg"]
    choices = {
        "reported": [("accept", {}), ("reject", {"note": "x"}), ("dispatch", {"department_id": cg.id})],
        "accepted": [("dispatch", {"department_id": cg.id})],
        "dispatched": [("start", {}), ("fix", None), ("defer", {"note": "x"})],
        "in_progress": [("fix", None), ("defer", {"note": "x"}), ("dispatch", {"department_id": cg.id})],
        "deferred": [("resume", {})],
        "fixed": [("verify", {"result": "pass"}), ("verify", {"result": "fail"})],
        "closed": [("reopen", {"note": "x"})],
    }.get(status, [])
    if status in workflow.RULES["merge"].sources and len(ids) > 1 and rng.random() < 0.05:
        choices = [("merge", {"into_id": rng.choice([i for i in ids if i != issue_id])})]
    if not choices:
        return
    action, data = rng.choice(choices)
    who = "staff_d"
    if action in ("start", "fix"):
        who = "dept"
        data = {"note": "done", "photos": [photo(client, h["dept"])]} if action == "fix" else data
    response = act(client, h[who], issue_id, action, **data)
    assert response.status_code in (200, 409), response.get_json()  # 409: the merge target was merged


def random_history(client, world, clock, steps: int = 160) -> list[int]:
    """Reports and random moves spread over many local days; the ids of the issues reported."""
    rng = random.Random(22)
    clock.set(datetime(2026, 3, 2, 1, tzinfo=UTC))
    ids: list[int] = []
    for step in range(steps):
        clock.advance(hours=rng.choice([1, 5, 17, 30]))  # moves land on many local days, some late
        if step % 3 == 0 or not ids:
            worker = rng.choice(["worker_a", "worker_b"])
            point = POINT_A if worker == "worker_a" else POINT_B
            response, _ = report(client, world["h"][worker], point=point, category=rng.choice(CATEGORIES))
            assert response.status_code == 201
            ids.append(response.get_json()["id"])
            continue
        issue_id = rng.choice(ids)
        status = client.get(f"/api/v1/issues/{issue_id}", headers=world["h"]["leader"]).get_json()["status"]
        move(client, world, rng, issue_id, status, ids)
    return ids


def test_summary_equals_a_recount_after_random_moves(client, world, town_staff, clock):
    ids = random_history(client, world, clock)
    statuses = Counter(
        client.get(f"/api/v1/issues/{i}", headers=world["h"]["leader"]).get_json()["status"] for i in ids
    )
    assert {"closed", "merged", "deferred", "in_progress"} <= set(statuses)  # the moves went far
    expected = recounted()
    assert sum(c["due"] for c in expected.values()) > 10
    assert summary_rows() == expected
    assert monthly_rows() == remonthed()
    assert len({key[0] for key in monthly_rows()}) >= 3  # the moves spread over several months
    kept_counts = {
        (r.area_id, r.status, r.category_id): {"n": r.n} for r in db.session.scalars(select(IssueCount))
    }
    assert {key: counts for key, counts in kept_counts.items() if counts["n"]} == counts.recount(
        db.session.connection()
    )


def test_figures_endpoint_reads_the_summary(client, world, clock):
    clock.set(datetime(2026, 3, 2, 1, tzinfo=UTC))
    response, _ = report(client, world["h"]["worker_a"])
    issue_id = response.get_json()["id"]
    act(client, world["h"]["staff_a"], issue_id, "dispatch", department_id=world["cg"].id)
    query = {"from": "2026-03-01", "to": "2026-03-31", "group_by": "category"}
    before = client.get("/api/v1/stats/issues", query_string=query, headers=world["h"]["leader"]).get_json()
    assert [(r["key"], r["reported"], r["due"]) for r in before] == [("INFRA-LIGHT", 1, 1)]
    for table, more in ((IssueDailyFigures.__table__, 4), (IssueMonthlyFigures.__table__, 7)):
        db.session.execute(table.update().where(table.c.due > 0).values(due=table.c.due + more))
    db.session.commit()

    def due(**period):
        rows = client.get(
            "/api/v1/stats/issues", query_string={**query, **period}, headers=world["h"]["leader"]
        ).get_json()
        return rows[0]["due"]

    # the figure is the summary's, not a count of the issues: a whole month's from the monthly
    # roll-up, a period of days from the daily summary
    assert (due(), due(to="2026-03-30"), due(to="2026-04-01")) == (8, 5, 8)


def test_stats_rebuild_makes_the_summary_again(app, client, world, clock):
    clock.set(datetime(2026, 3, 2, 1, tzinfo=UTC))
    for point in (POINT_A, POINT_B, POINT_A):
        response, _ = report(client, world["h"]["worker_a"], point=point)
        act(
            client, world["h"]["staff_a"], response.get_json()["id"], "dispatch", department_id=world["cg"].id
        )
    kept, kept_months = summary_rows(), monthly_rows()
    db.session.execute(IssueDailyFigures.__table__.delete())
    db.session.execute(IssueMonthlyFigures.__table__.update().values(due=99))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "summary rows" in result.output
    assert summary_rows() == kept == recounted()
    assert monthly_rows() == kept_months == remonthed()


def test_concurrent_moves_lose_no_count(app, client, world, clock, database_url):
    """Two threads dispatch and close issues that share every summary row at once."""
    clock.set(datetime(2026, 3, 2, 1, tzinfo=UTC))
    ids = []
    for _ in range(12):
        response, _ = report(client, world["h"]["worker_a"])
        ids.append(response.get_json()["id"])
    statuses = []

    def work(mine):
        with app.app_context():
            local = app.test_client()
            for issue_id in mine:
                for action, data in (
                    ("dispatch", {"department_id": world["cg"].id}),
                    ("defer", {"note": "x"}),
                ):
                    statuses.append(act(local, world["h"]["staff_a"], issue_id, action, **data).status_code)

    threads = [threading.Thread(target=work, args=(ids[n::2],)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 24
    rows = summary_rows()
    assert sum(c["deferred"] for c in rows.values()) == 12
    assert rows == recounted()
    assert monthly_rows() == remonthed()


PERIODS = (
    ("2026-03-01", "2026-05-31"),  # whole months only
    ("2026-03-01", "2026-04-01"),  # a month and a day
    ("2026-03-05", "2026-04-30"),  # days, then a month
    ("2026-03-15", "2026-05-03"),  # days, a month, days
    ("2026-03-03", "2026-03-29"),  # days within a month
    ("2026-02-01", "2026-12-31"),  # months before and after the issues
    ("2026-07-01", "2026-07-31"),  # a month after them all: no rows
)


def period_keys(group_by: str):
    """The response's row key for a summary key, read from the rows themselves (no stats code)."""
    areas = {a.id: a for a in db.session.scalars(select(Area))}

    def grid(area_id):
        path = [areas[int(p)] for p in areas[area_id].path.strip("/").split("/")] if area_id else []
        return next((a.code for a in path if a.level == "grid"), None)

    return {
        "grid": lambda key: grid(key[1]),
        "category": lambda key: db.session.get(Category, key[2]).code,
        "department": lambda key: db.session.get(Department, key[3]).code if key[3] else None,
        "worker": lambda key: db.session.get(User, key[4]).username if key[4] else None,
    }[group_by]


@pytest.mark.parametrize("group_by", ["category", "grid", "department", "worker"])
def test_figures_over_any_period_equal_a_recount(client, world, town_staff, clock, group_by):
    """Whatever mix of whole months (the monthly roll-up) and days (the daily summary) a period
    is, its counts are those a recount of the issues' contributions over its days makes."""
    random_history(client, world, clock)
    totals = recount(db.session.connection())
    key_of = period_keys(group_by)
    town_a = {
        a.id for a in db.session.scalars(select(Area).where(Area.path.startswith(world["areas"]["TA"].path)))
    }
    # the district's leader sees both towns; town A's staff only its own, from the same tables
    for who, in_scope in (("leader", lambda area_id: True), ("staff_a", town_a.__contains__)):
        for first, last in PERIODS:
            expected: dict = defaultdict(Counter)
            for key, parts in totals.items():
                if first <= key[0].isoformat() <= last and in_scope(key[1]):
                    expected[key_of(key)].update(parts)
            query = {"from": first, "to": last, "group_by": group_by}
            rows = client.get("/api/v1/stats/issues", query_string=query, headers=world["h"][who]).get_json()
            assert {r["key"]: {c: r[c] for c in COUNTERS} for r in rows} == {
                value: {c: parts[c] for c in COUNTERS}
                for value, parts in expected.items()
                if parts["reported"] or parts["due"]
            }, (who, first, last)
            assert bool(rows) == (first != "2026-07-01")


def handling_medians(group_by: str, start: datetime, end: datetime) -> dict:
    """{row key: median hours} recounted from the closed issues due in [start, end)."""
    areas = {a.id: a for a in db.session.scalars(select(Area))}
    keys = {
        "category": lambda i: db.session.get(Category, i.category_id).code,
        "worker": lambda i: db.session.get(User, i.reporter_id).username,
        "grid": lambda i: next(
            (
                areas[int(p)].code
                for p in areas[i.area_id].path.strip("/").split("/")
                if areas[int(p)].level == "grid"
            ),
            None,
        ),
    }
    hours = defaultdict(list)
    for i in db.session.scalars(select(Issue).where(Issue.status == "closed")):
        if not i.deadline_provisional and start <= i.deadline.astimezone(UTC) < end:
            hours[keys[group_by](i)].append(
                Fraction((i.closed_at - i.received_at) // timedelta(microseconds=1))
            )
    return {key: half_up(statistics.median(values) / 3_600_000_000) for key, values in hours.items()}


def half_up(hours: Fraction) -> float:
    return math.floor(hours * 100 + Fraction(1, 2)) / 100


@pytest.mark.parametrize("group_by", ["grid", "category", "worker"])
def test_figures_medians_equal_a_recount(client, world, town_staff, clock, group_by):
    random_history(client, world, clock, steps=220)
    query = {"from": "2026-03-01", "to": "2026-04-30", "group_by": group_by}
    rows = client.get("/api/v1/stats/issues", query_string=query, headers=world["h"]["leader"]).get_json()
    start, end = datetime(2026, 2, 28, 16, tzinfo=UTC), datetime(2026, 4, 30, 16, tzinfo=UTC)  # local dates
    expected = handling_medians(group_by, start, end)
    assert len(expected) >= 2 and len(set(expected.values())) >= 2  # several groups, different medians
    assert {
        r["key"]: r["median_handling_hours"] for r in rows if r["median_handling_hours"] is not None
    } == expected


def test_a_median_on_the_half_hundredth_rounds_up(client, world, clock):
    h, cg = world["h"], world["cg"]
    for took in (timedelta(hours=1), timedelta(hours=1, seconds=36)):  # median 1 h 18 s = 1.005 h
        clock.set(datetime(2026, 3, 2, 1, tzinfo=UTC))
        issue_id = report(client, h["worker_a"])[0].get_json()["id"]
        act(client, h["staff_a"], issue_id, "dispatch", department_id=cg.id)
        act(client, h["dept"], issue_id, "fix", note="x", photos=[photo(client, h["dept"])])
        clock.advance(seconds=took.total_seconds())
        assert act(client, h["worker_a"], issue_id, "verify", result="pass").get_json()["status"] == "closed"
    query = {"from": "2026-03-01", "to": "2026-03-31", "group_by": "category"}
    rows = client.get("/api/v1/stats/issues", query_string=query, headers=h["leader"]).get_json()
    assert [(r["closed"], r["median_handling_hours"]) for r in rows] == [(2, 1.01)]  # 四舍五入, not 1.0
