"""The working calendar in production: loaded by `db upgrade`, provisional years, admins entering a year."""

import json
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from gridgov.audit.models import AuditEntry
from gridgov.extensions import db
from gridgov.issues.catalogue import category_by_code, seed_catalogue
from gridgov.issues.deadlines import deadline_for
from gridgov.issues.models import Category, Issue, IssueEvent
from gridgov.timeutil import LOCAL_TZ
from gridgov.wages.models import WageCase, WageEvent
from gridgov.workcal.services import seed_from_library, work_calendar
from gridgov.workcal.statutory import statutory_holidays
from tests import hko
from tests.test_platform import empty_database_url  # noqa: F401 - fixture
from tests.test_wages import CLAIM


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


def test_fresh_upgrade_without_seed_counts_spring_festival_2026(empty_database_url, app_config):  # noqa: F811
    from gridgov import create_app
    from gridgov.workcal.services import invalidate

    migrated = create_app({**app_config, "GRIDGOV_DATABASE_URL": empty_database_url})
    assert migrated.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    with migrated.app_context():
        invalidate()
        calendar = work_calendar()
        assert {2024, 2025, 2026} <= calendar.known_years
        two_days = Category(code="X", limit_unit="days", limit_value=2)
        # Fri 13 Feb 2026 + 2: Sat 14 Feb is a 调休 working day, 15–23 Feb Spring Festival, then Tue 24.
        assert deadline_for(two_days, at(2026, 2, 13, 10), calendar) == (at(2026, 2, 24, 18), False)
        shown = migrated.test_cli_runner().invoke(args=["calendar", "show", "2026"])
        assert shown.exit_code == 0 and "2026: confirmed (source: chinese_calendar)" in shown.output
        assert "2026-02-14 Sat Spring Festival" in shown.output
        db.session.remove()
        db.engine.dispose()


def _lunar_first_days() -> dict[tuple[int, int], date]:
    """(lunar year, month) → its first Gregorian day, from the Hong Kong Observatory table."""
    return {
        (int(r["lunar_year"]), int(r["lunar_month"])): date.fromisoformat(r["gregorian_first_day"])
        for r in hko.month_starts()
        if r["is_leap"] == "0"
    }


def test_provisional_days_follow_the_holiday_law_and_the_observatory_table():
    months = _lunar_first_days()
    for year in (2027, 2030, 2045):
        days = statutory_holidays(year)
        spring = months[(year, 1)]
        assert {spring - timedelta(1), spring, spring + timedelta(1), spring + timedelta(2)} <= set(days)
        assert days[months[(year, 5)] + timedelta(4)] == "端午节"
        assert days[months[(year, 8)] + timedelta(14)] == "中秋节"
        assert {date(year, 1, 1), date(year, 5, 1), date(year, 5, 2)} <= set(days)
        assert {date(year, 10, d) for d in (1, 2, 3)} <= set(days)
        # 13 statutory days (1 + 4 + 1 + 2 + 1 + 1 + 3), each on a weekend given back on a weekday (补假).
        statutory = [d for d, n in days.items() if "补假" not in n]
        given_back = [d for d, n in days.items() if "补假" in n]
        assert len(statutory) == 13 and all(d.isoweekday() <= 5 for d in given_back)
        assert len(given_back) == sum(1 for d in statutory if d.isoweekday() > 5)
    # 2027 by hand: 春节 Sat 6 Feb (除夕 Fri 5 Feb; Sat, Sun back on Tue 9, Wed 10), 清明 Mon 5 Apr,
    # 劳动节 Sat–Sun (back Mon 3, Tue 4 May), 端午 Wed 9 Jun, 中秋 Wed 15 Sep, 国庆 Fri–Sun (back Mon 4, Tue 5).
    assert sorted(statutory_holidays(2027)) == [
        date(2027, 1, 1),
        *[date(2027, 2, d) for d in (5, 6, 7, 8, 9, 10)],
        date(2027, 4, 5),
        *[date(2027, 5, d) for d in (1, 2, 3, 4)],
        date(2027, 6, 9),
        date(2027, 9, 15),
        *[date(2027, 10, d) for d in (1, 2, 3, 4, 5)],
    ]
    # 2028: 中秋 falls on 3 October, a National Day; that day and Sun 1 Oct are given back on 4 and 5 Oct.
    days_2028 = statutory_holidays(2028)
    assert days_2028[date(2028, 10, 3)] == "中秋节" and days_2028[date(2028, 10, 5)] == "国庆节（补假）"
    assert [d.day for d in days_2028 if d.month == 10] == [1, 2, 3, 4, 5]
    # Under the same law the State Council's own 2025 and 2026 schedules give every one of these days off.
    from chinese_calendar.constants import holidays

    for year in (2025, 2026):
        assert set(statutory_holidays(year)) <= set(holidays), year


@pytest.fixture
def officer(make_user, two_towns):
    return make_user(roles=["wage_officer"], areas=[two_towns["TA"]])


@pytest.fixture
def admin(make_user):
    return make_user(roles=["admin"], username="calendar-admin")


def test_a_case_opened_before_new_year_skips_new_years_day_and_is_uncertain(
    app, client, clock, officer, auth_headers
):
    seed_from_library()  # 2004–2026 known, 2027 not
    clock.set(at(2026, 12, 28, 10))
    assert client.post("/api/v1/public/wage-claims", json=CLAIM).status_code == 201
    case = client.get("/api/v1/wage-cases", headers=auth_headers(officer)).get_json()[0]
    # Mon 28 Dec + 5 working days: 29, 30, 31 Dec, (Fri 1 Jan 2027 off by law), Mon 4, Tue 5 Jan.
    assert datetime.fromisoformat(case["accept_deadline"]) == at(2027, 1, 5, 18)
    accept = case["clocks"][0]
    assert accept["clock"] == "accept" and accept["uncertain"] is True
    assert (accept["working_days"], accept["used"], accept["left"], accept["paused"]) == (5, 0, 5, False)
    clock.set(at(2026, 12, 31, 9))
    accept = client.get(f"/api/v1/wage-cases/{case['id']}", headers=auth_headers(officer)).get_json()[
        "clocks"
    ][0]
    assert (accept["used"], accept["left"]) == (3, 2)


def make_issue(area, category, start):
    deadline, uncertain = deadline_for(category, start, work_calendar())
    issue = Issue(
        client_uuid=str(uuid.uuid4()),
        request_hash="x",
        category_id=category.id,
        description="d",
        lon=113.001,
        lat=33.001,
        area_id=area.id,
        reported_at=start,
        received_at=start,
        dispatched_at=start,
        status="dispatched",
        deadline=deadline,
        deadline_provisional=False,
        deadline_uncertain=uncertain,
    )
    db.session.add(issue)
    db.session.commit()
    return issue


SCHEDULE_2027 = {  # a schedule as the State Council might publish it (test data, not the real notice)
    "days_off": [
        {"date": "2027-01-01", "name": "元旦"},
        *[{"date": f"2027-02-{d:02d}", "name": "春节"} for d in range(5, 13)],
        {"date": "2027-04-05", "name": "清明节"},
        *[{"date": f"2027-05-0{d}", "name": "劳动节"} for d in range(1, 6)],
        {"date": "2027-06-09", "name": "端午节"},
        {"date": "2027-09-15", "name": "中秋节"},
        *[{"date": f"2027-10-0{d}", "name": "国庆节"} for d in range(1, 8)],
    ],
    "working_days": [
        {"date": "2027-02-20", "name": "春节调休"},
        {"date": "2027-10-09", "name": "国庆节调休"},
    ],
    "source": "国办发明电〔2026〕示例号",
}


def test_admin_enters_2027_and_open_deadlines_move(
    app, client, clock, admin, officer, auth_headers, two_towns
):
    seed_from_library()
    seed_catalogue()
    clock.set(at(2027, 2, 4, 10))
    light = category_by_code("INFRA-LIGHT")  # 2 working days
    issue = make_issue(two_towns["GA"], light, at(2027, 2, 4, 10))
    # Provisional: 5–10 Feb off (除夕 to 初三 and 补假), so Thu 11 and Fri 12 Feb.
    assert (issue.deadline, issue.deadline_uncertain) == (at(2027, 2, 12, 18), True)
    before = client.get("/api/v1/calendar/2027", headers=auth_headers(officer))
    assert before.status_code == 200
    shown = before.get_json()
    assert shown["status"] == "provisional" and shown["working_days"] == [] and shown["updated_by"] is None
    assert {"date": "2027-02-05", "name": "春节"} in shown["days_off"]
    headers = auth_headers(admin)
    assert (
        client.put("/api/v1/calendar/2027", json=SCHEDULE_2027, headers=auth_headers(officer)).status_code
        == 403
    )
    for bad in (
        {**SCHEDULE_2027, "working_days": [{"date": "2027-02-22"}]},  # a Monday is no make-up day
        {**SCHEDULE_2027, "days_off": [{"date": "2028-01-01"}]},
        {**SCHEDULE_2027, "days_off": [{"date": "2027-02-20"}]},  # also a working day
        {**SCHEDULE_2027, "days_off": [{"date": "2027-02-30"}]},
        {"days_off": [{"date": "2027-01-01"}] * 61},
    ):
        response = client.put("/api/v1/calendar/2027", json=bad, headers=headers)
        assert response.status_code == 422 and response.get_json()["message"], bad
    assert client.get("/api/v1/calendar/2027", headers=headers).get_json()["status"] == "provisional"
    assert client.get("/api/v1/calendar/1800", headers=headers).status_code == 422
    put = client.put("/api/v1/calendar/2027", json=SCHEDULE_2027, headers=headers)
    assert put.status_code == 200, put.get_json()
    entered = put.get_json()
    assert entered["status"] == "confirmed" and entered["updated_by"] == "calendar-admin"
    assert entered["source"] == "国办发明电〔2026〕示例号" and entered["moved_deadlines"] == 1
    assert entered["working_days"][0] == {"date": "2027-02-20", "name": "春节调休"}
    # 5–12 Feb off: Mon 15 and Tue 16 Feb, and no longer uncertain.
    moved = client.get(f"/api/v1/issues/{issue.id}", headers=headers).get_json()
    assert (
        datetime.fromisoformat(moved["deadline"]) == at(2027, 2, 16, 18)
        and moved["deadline_uncertain"] is False
    )
    event = db.session.scalar(select(IssueEvent).where(IssueEvent.action == "deadline_recomputed"))
    assert event.issue_id == issue.id and event.data["to"] == at(2027, 2, 16, 18).isoformat()
    assert (
        db.session.scalar(select(AuditEntry).where(AuditEntry.action == "calendar_set")).actor_id == admin.id
    )
    assert client.get("/api/v1/calendar/2027", headers=headers).get_json()["status"] == "confirmed"


def test_entering_a_year_moves_wage_clocks_with_a_public_event(
    app, client, clock, officer, auth_headers, tmp_path
):
    seed_from_library()
    clock.set(at(2027, 2, 3, 10))
    filed = client.post("/api/v1/public/wage-claims", json=CLAIM).get_json()
    case = db.session.scalar(select(WageCase))
    # Wed 3 Feb + 5: Thu 4, (5–10 Feb off by law), Thu 11, Fri 12, Mon 15, Tue 16.
    assert case.accept_deadline == at(2027, 2, 16, 18) and case.next_due == date(2027, 2, 16)
    path = tmp_path / "2027.json"
    path.write_text(json.dumps({"year": 2027, **SCHEDULE_2027}, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "2027: confirmed from 国办发明电〔2026〕示例号" in result.output
        and "1 open deadlines moved" in result.output
    )
    db.session.expire_all()
    # Entered: 5–12 Feb off: Thu 4, Mon 15, Tue 16, Wed 17, Thu 18 Feb.
    assert case.accept_deadline == at(2027, 2, 18, 18) and case.next_due == date(2027, 2, 18)
    event = db.session.scalar(select(WageEvent).where(WageEvent.action == "deadline_recomputed"))
    assert "2027-02-18" in event.public_text
    public = client.get(
        f"/api/v1/public/wage-claims/{filed['number']}?code={filed['tracking_code']}"
    ).get_json()
    assert public["next_deadline"] == "2027-02-18"
    bad = tmp_path / "bad.json"
    bad.write_text('{"year": 2027, "days_off": [{"date": "2027-13-01"}]}', encoding="utf-8")
    refused = app.test_cli_runner().invoke(args=["calendar", "import", str(bad)])
    assert refused.exit_code != 0 and "date" in refused.output
