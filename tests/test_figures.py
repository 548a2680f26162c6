"""办结率, 按期办结率 and 返工率 by the evaluation formulas of digital urban management, on hand-counted issues."""

import uuid
from datetime import datetime

import pytest

from gridgov.extensions import db
from gridgov.issues.catalogue import category_by_code, seed_catalogue
from gridgov.issues.models import Issue
from gridgov.issues.stats import evaluation_rates
from gridgov.timeutil import LOCAL_TZ


def at(m, d, hh=9):
    return datetime(2026, m, d, hh, tzinfo=LOCAL_TZ)


def test_published_monthly_figures_of_a_city_centre():
    # 应结案 972, 结案 911, 按期结案 737, no 缓办: 911 ÷ 972 = 93.72%, 737 ÷ 972 = 75.82%.
    assert evaluation_rates(972, 0, 911, 737) == (0.9372, 0.7582)
    assert evaluation_rates(10, 2, 8, 8) == (1.0, 1.0)  # the deferred leave the base, never the numerators
    assert evaluation_rates(0, 0, 0, 0) == (None, None)
    for not_nested in ((10, 2, 9, 1), (10, 0, 3, 4)):
        with pytest.raises(ValueError):
            evaluation_rates(*not_nested)


@pytest.fixture
def november(app, make_user, two_towns):
    """Ten hand-counted issues: five in grid GA by worker w1, five in GB by w2."""
    seed_catalogue()
    light, rubbish, manhole = (category_by_code(c) for c in ("INFRA-LIGHT", "ENV-RUBBISH", "MANHOLE"))
    w1 = make_user(roles=["grid_worker"], areas=[two_towns["GA"]], username="w1")
    w2 = make_user(roles=["grid_worker"], areas=[two_towns["GB"]], username="w2")
    ma, mb = two_towns["MA"], two_towns["MB"]

    def issue(area, worker, category, received, deadline, status, **fields):
        fields.setdefault("deadline_provisional", False)
        db.session.add(
            Issue(
                client_uuid=str(uuid.uuid4()),
                request_hash="x",
                category_id=category.id,
                department_id=category.department_id,
                reporter_id=worker.id,
                description="d",
                lon=area_lon[area.code],
                lat=33.001,
                area_id=area.id,
                reported_at=received,
                received_at=received,
                deadline=deadline,
                status=status,
                **fields,
            )
        )

    area_lon = {"MA": 113.001, "MB": 113.101}
    # GA / w1
    issue(ma, w1, light, at(11, 2), at(11, 4, 18), "closed", closed_at=at(11, 3), closed_on_time=True)  # 1
    issue(
        ma,
        w1,
        light,
        at(11, 4),
        at(11, 6, 18),
        "closed",
        closed_at=at(11, 9),
        closed_on_time=False,
        rework_count=1,
        reopen_count=1,
    )  # 2: late, sent back twice
    issue(ma, w1, rubbish, at(11, 10), at(11, 12, 18), "deferred", was_deferred=True)  # 3: 缓办 now
    issue(
        ma,
        w1,
        rubbish,
        at(11, 16),
        at(11, 20, 18),
        "closed",
        closed_at=at(11, 18),
        closed_on_time=True,
        was_deferred=True,
    )  # 4: deferred, resumed, closed on time
    issue(ma, w1, light, at(11, 29), at(11, 30, 18), "reported", deadline_provisional=True)  # 10: not started
    # GB / w2
    issue(mb, w2, light, at(11, 5), at(11, 10, 18), "rejected", closed_at=at(11, 5, 10))  # 5: out
    issue(mb, w2, light, at(11, 6), at(11, 11, 18), "merged", closed_at=at(11, 6, 10))  # 6: out
    issue(mb, w2, rubbish, at(11, 12), at(11, 16, 18), "in_progress", reopen_count=1)  # 7: reopened
    issue(
        mb,
        w2,
        rubbish,
        at(11, 20),
        at(11, 25, 18),
        "closed",
        closed_at=at(11, 24),
        closed_on_time=True,
        rework_count=3,
    )  # 8: failed verification three times
    issue(mb, w2, manhole, at(11, 28), at(12, 3, 18), "in_progress")  # 9: due in December
    db.session.commit()
    return make_user(roles=["leader"], areas=[two_towns["D"]])


def row(key, reported, due, deferred, closed, on_time, rework, reworked, three, hours):
    base = due - deferred
    rate = (lambda n: round(n / base, 4)) if base else (lambda n: None)
    return {
        "key": key,
        "reported": reported,
        "due": due,
        "deferred": deferred,
        "closed": closed,
        "closure_rate": rate(closed),
        "closed_on_time": on_time,
        "on_time_rate": rate(on_time),
        "rework_count": rework,
        "reworked": reworked,
        "reworked_3_plus": three,
        "rework_rate": rate(reworked),
        "median_handling_hours": hours,
    }


# Counted by hand from the fixture above (issue numbers in the comments).
EXPECTED = {
    # GA: reported 1 2 3 4 10; due 1 2 3 4; deferred 3; closed 1 2 4 (24 h, 120 h, 48 h); on time 1 4.
    # GB: reported 7 8 9; due 7 8; closed 8 (96 h), on time; sent back 7 once, 8 three times.
    "grid": [row("GA", 5, 4, 1, 3, 2, 2, 1, 0, 48.0), row("GB", 3, 2, 0, 1, 1, 4, 2, 1, 96.0)],
    "worker": [row("w1", 5, 4, 1, 3, 2, 2, 1, 0, 48.0), row("w2", 3, 2, 0, 1, 1, 4, 2, 1, 96.0)],
    # CG (城管): light 1 2 10 and manhole 9; HW (环卫): rubbish 3 4 7 8.
    "department": [row("CG", 4, 2, 0, 2, 1, 2, 1, 0, 72.0), row("HW", 4, 4, 1, 2, 2, 4, 2, 1, 72.0)],
    "category": [
        row("ENV-RUBBISH", 4, 4, 1, 2, 2, 4, 2, 1, 72.0),
        row("INFRA-LIGHT", 3, 2, 0, 2, 1, 2, 1, 0, 72.0),
        row("MANHOLE", 1, 0, 0, 0, 0, 0, 0, 0, None),
    ],
}


@pytest.mark.parametrize("group_by", sorted(EXPECTED))
def test_figures_by_each_grouping_on_hand_counted_issues(client, auth_headers, november, group_by):
    response = client.get(
        f"/api/v1/stats/issues?from=2026-11-01&to=2026-11-30&group_by={group_by}",
        headers=auth_headers(november),
    )
    assert response.status_code == 200
    got = [{k: v for k, v in r.items() if k != "name"} for r in response.get_json()]
    assert got == EXPECTED[group_by]
    assert all(
        r[k] is None or r[k] <= 1 for r in got for k in ("closure_rate", "on_time_rate", "rework_rate")
    )


def test_the_formulas_are_in_the_api_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    fields = spec["components"]["schemas"]["StatsRow"]["properties"]
    assert "closed ÷ (due − deferred)" in fields["closure_rate"]["description"]
    assert "closed_on_time ÷ (due − deferred)" in fields["on_time_rate"]["description"]
    assert "rejected and merged" in fields["due"]["description"]
