"""Working-time deadlines across holidays and 调休 weekends, and the issue figures on a hand-computed fixture."""

import io
import uuid
from datetime import datetime

import pytest
from openpyxl import load_workbook

from gridgov.extensions import db
from gridgov.issues.catalogue import category_by_code, seed_catalogue
from gridgov.issues.deadlines import deadline_for
from gridgov.issues.models import Issue
from gridgov.timeutil import LOCAL_TZ
from gridgov.workcal.services import seed_from_library, set_year, work_calendar


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


@pytest.fixture
def calendar(app):
    seed_from_library()
    seed_catalogue()
    return work_calendar()


def test_working_days_skip_holidays_and_count_tiaoxiu_weekends(calendar):
    # Fri 18 Sep 2026 + 2 working days: Sun 20 Sep is a working day (调休), so Mon 21 Sep ends it.
    assert calendar.add_working_days(at(2026, 9, 18, 16), 2) == at(2026, 9, 21, 18)
    # Wed 30 Sep + 3: 1–7 Oct National Day, then Thu 8, Fri 9, Sat 10 Oct (调休) → Sat 10 Oct 18:00.
    assert calendar.add_working_days(at(2026, 9, 30, 10), 3) == at(2026, 10, 10, 18)


def test_working_hours_run_into_a_tiaoxiu_saturday(calendar):
    # Fri 13 Feb 2026 17:00 + 4 working hours: 1 h on Friday, 3 h on Sat 14 Feb (调休 for Spring Festival).
    assert calendar.add_working_seconds(at(2026, 2, 13, 17), 4 * 3600) == at(2026, 2, 14, 11, 30)
    # Across the lunch break: 11:00 + 2 h → 11:00–12:00 and 14:30–15:30.
    assert calendar.add_working_seconds(at(2026, 3, 2, 11), 2 * 3600) == at(2026, 3, 2, 15, 30)


def test_category_deadline_and_unknown_years_flagged(calendar):
    light = category_by_code("INFRA-LIGHT")  # 2 working days
    assert deadline_for(light, at(2026, 9, 30, 10), calendar) == (at(2026, 10, 8 + 1, 18), False)
    deadline, uncertain = deadline_for(light, at(2030, 3, 4, 10), calendar)
    assert uncertain is True and deadline == at(2030, 3, 6, 18)


def test_admins_can_load_a_later_year(app, calendar):
    set_year(2030, [{"day": datetime(2030, 3, 5).date(), "kind": "holiday", "name": "示例"}])
    updated = work_calendar()
    assert updated.knows(datetime(2030, 3, 5).date())
    assert deadline_for(category_by_code("INFRA-LIGHT"), at(2030, 3, 4, 10), updated) == (
        at(2030, 3, 7, 18),
        False,
    )


def make_issue(area, category, **fields):
    issue = Issue(
        client_uuid=str(uuid.uuid4()),
        request_hash="x",
        category_id=category.id,
        description="d",
        lon=113.001,
        lat=33.001,
        area_id=area.id,
        reported_at=fields["received_at"],
        deadline_provisional=False,
        **fields,
    )
    db.session.add(issue)
    return issue


def test_figures_on_a_hand_computed_fixture(client, calendar, make_user, auth_headers, two_towns):
    light = category_by_code("INFRA-LIGHT")
    ma = two_towns["MA"]
    make_issue(
        ma,
        light,
        received_at=at(2026, 11, 2, 9),
        status="closed",
        closed_at=at(2026, 11, 3, 9),
        deadline=at(2026, 11, 4, 18),
        closed_on_time=True,
    )
    make_issue(
        ma,
        light,
        received_at=at(2026, 11, 5, 9),
        status="closed",
        closed_at=at(2026, 11, 10, 9),
        deadline=at(2026, 11, 7, 18),
        closed_on_time=False,
        rework_count=2,
    )
    make_issue(
        ma, light, received_at=at(2026, 11, 10, 9), status="in_progress", deadline=at(2026, 11, 12, 18)
    )
    make_issue(
        ma,
        light,
        received_at=at(2026, 11, 20, 9),
        status="deferred",
        deadline=at(2026, 11, 25, 18),
        was_deferred=True,
    )
    make_issue(
        ma,
        light,
        received_at=at(2026, 10, 28, 9),
        status="closed",
        closed_at=at(2026, 11, 2, 9),
        deadline=at(2026, 11, 1, 18),
        closed_on_time=True,
    )
    db.session.commit()
    leader = auth_headers(make_user(roles=["leader"], areas=[two_towns["D"]]))
    rows = client.get(
        "/api/v1/stats/issues?from=2026-11-01&to=2026-11-30&group_by=category", headers=leader
    ).get_json()
    assert rows == [
        {
            "key": "INFRA-LIGHT",
            "name": "路灯损坏",
            "reported": 4,
            "due": 5,
            "deferred": 1,
            "closed": 3,
            "closure_rate": 0.75,
            "closed_on_time": 2,
            "on_time_rate": 0.5,
            "rework_count": 2,
            "reworked": 1,
            "reworked_3_plus": 0,
            "rework_rate": 0.25,
            "median_handling_hours": 120.0,
        }
    ]
    by_grid = client.get(
        "/api/v1/stats/issues?from=2026-11-01&to=2026-11-30&group_by=grid", headers=leader
    ).get_json()
    assert [(r["key"], r["reported"]) for r in by_grid] == [("GA", 4)]
    other_town = auth_headers(make_user(roles=["staff"], areas=[two_towns["TB"]]))
    assert (
        client.get("/api/v1/stats/issues?from=2026-11-01&to=2026-11-30", headers=other_town).get_json() == []
    )
    sheet = client.get(
        "/api/v1/stats/issues?from=2026-11-01&to=2026-11-30&group_by=category&format=xlsx", headers=leader
    )
    book = load_workbook(io.BytesIO(sheet.data))
    values = list(book.active.values)
    assert values[0][:5] == ("编码", "名称", "上报数", "办结数", "办结率") and values[1][2] == 4
    ledger = load_workbook(io.BytesIO(client.get("/api/v1/issues?format=xlsx", headers=leader).data))
    assert list(ledger.active.values)[0][:3] == ("编号", "类别", "描述") and ledger.active.max_row == 6
