"""Markets through the API: occurrences, exceptions, blackouts, rosters, conflicts, feeds, check-ins."""

from datetime import UTC, date, datetime, time

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.markets.models import MarketAssignment
from gridgov.timeutil import LOCAL_TZ
from tests.conftest import square


@pytest.fixture(autouse=True)
def late_november(clock):
    """These tests plan December 2026 from a week before it: the app's clock stands there."""
    clock.set(datetime.combine(date(2026, 11, 25), time(10), LOCAL_TZ))
    return clock


@pytest.fixture
def staff(make_user, two_towns):
    return make_user(roles=["staff"], areas=[two_towns["TA"]], display_name="王敏")


@pytest.fixture
def headers(auth_headers, staff):
    return auth_headers(staff)


def create_market(client, headers, area, rule="逢二", **extra):
    body = {"name": extra.pop("name", "杨庄"), "area_id": area.id, "rule": rule, **extra}
    response = client.post("/api/v1/markets", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_market_and_list_occurrences_across_a_leap_month(client, headers, two_towns):
    market = create_market(client, headers, two_towns["CA"])
    assert market["rule"] == {"calendar": "lunar", "days": [2, 12, 22]} and market["rule_text"] == "逢二"
    assert market["start_time"] == "07:00" and market["end_time"] == "12:00"
    days = client.get(
        f"/api/v1/markets/{market['id']}/occurrences?from=2025-07-20&to=2025-08-25", headers=headers
    ).get_json()
    assert [d["date"] for d in days] == ["2025-07-26", "2025-08-05", "2025-08-15", "2025-08-24"]
    first = days[0]
    assert first["lunar"] | {"name": None} == {
        "year": 2025,
        "month": 6,
        "day": 2,
        "leap": True,
        "month_days": 29,
        "name": None,
        "uncertain": False,
    }
    assert first["status"] == "scheduled" and first["start"] == "2025-07-26T07:00:00+08:00"
    assert first["uncertain"] is False


def test_next_day_policy_and_days_in_a_flagged_month_are_uncertain(client, headers, two_towns):
    market = create_market(client, headers, two_towns["CA"], rule="逢十", missing_day="next_day")
    assert market["missing_day"] == "next_day"
    days = client.get(
        f"/api/v1/markets/{market['id']}/occurrences?from=2025-08-01&to=2025-09-10", headers=headers
    ).get_json()
    # 闰六月 has 29 days: its 三十 is held on 七月初一 (2025-08-23).
    assert [(d["date"], d["lunar"]["name"]) for d in days] == [
        ("2025-08-03", "闰六月初十"),
        ("2025-08-13", "闰六月二十"),
        ("2025-08-23", "七月初一"),
        ("2025-09-01", "七月初十"),
    ]
    # 2057-09-28 (九月初一) is a month start the Observatory flags: that month's days may be a day off.
    flagged = client.get(
        f"/api/v1/markets/{market['id']}/occurrences?from=2057-09-20&to=2057-11-10", headers=headers
    ).get_json()
    assert [(d["date"], d["uncertain"]) for d in flagged] == [
        ("2057-09-28", True),  # 八月 has 29 days: its 三十 is held on 九月初一
        ("2057-10-07", True),
        ("2057-10-17", True),
        ("2057-10-27", True),
        ("2057-11-06", False),
    ]
    bad = client.post(
        "/api/v1/markets",
        json={"name": "x", "area_id": two_towns["CA"].id, "rule": "逢十", "missing_day": "previous"},
        headers=headers,
    )
    assert bad.status_code == 422 and "missing_day" in bad.get_json()["errors"]["json"]


def test_bad_rule_is_422_listing_accepted_forms(client, headers, two_towns):
    response = client.post(
        "/api/v1/markets",
        json={"name": "x", "area_id": two_towns["CA"].id, "rule": "每月初一"},
        headers={**headers, "Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert "逢三六九" in response.get_json()["message"]


def test_scope_other_town_cannot_see_market(client, headers, make_user, auth_headers, two_towns):
    market = create_market(client, headers, two_towns["CA"])
    other = auth_headers(make_user(roles=["staff"], areas=[two_towns["TB"]]))
    assert client.get(f"/api/v1/markets/{market['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/market-days?from=2026-01-01&to=2026-01-31", headers=other).get_json() == []
    assert (
        client.post(
            "/api/v1/markets",
            json={"name": "x", "area_id": two_towns["CA"].id, "rule": "逢二"},
            headers=other,
        ).status_code
        == 422  # an area id in the body is refused on its field
    )


def test_cancel_move_and_blackout(client, headers, two_towns):
    market = create_market(client, headers, two_towns["CA"], rule="逢九")
    url = f"/api/v1/markets/{market['id']}"
    # 2026-06-22 is 五月初八? pick real days from the occurrences instead of guessing.
    days = client.get(f"{url}/occurrences?from=2026-06-01&to=2026-06-30", headers=headers).get_json()
    first, second = days[0]["date"], days[1]["date"]
    assert (
        client.post(
            f"{url}/exceptions", json={"action": "cancel", "date": first, "reason": "暴雨"}, headers=headers
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{url}/exceptions",
            json={"action": "move", "date": second, "new_date": "2026-06-30", "reason": "端午调整"},
            headers=headers,
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{url}/exceptions",
            json={"action": "cancel", "date": "2026-06-03", "reason": "x"},
            headers=headers,
        ).status_code
        == 422
    )
    days = {
        d["date"]: d
        for d in client.get(f"{url}/occurrences?from=2026-06-01&to=2026-06-30", headers=headers).get_json()
    }
    assert days[first]["status"] == "cancelled" and days[first]["reason"] == "暴雨"
    assert days[second]["status"] == "moved" and days[second]["moved_to"] == "2026-06-30"
    assert days["2026-06-30"]["status"] == "scheduled" and days["2026-06-30"]["moved_from"] == second
    # A Spring Festival closure for the whole town, 腊月廿五 to 正月初五.
    blackout = {
        "area_id": two_towns["TA"].id,
        "name": "春节休市",
        "start": {"month": 12, "day": 25},
        "end": {"month": 1, "day": 5},
    }
    assert client.post("/api/v1/market-blackouts", json=blackout, headers=headers).status_code == 201
    festival = client.get(f"{url}/occurrences?from=2026-02-01&to=2026-03-10", headers=headers).get_json()
    by_status = {d["lunar"]["name"]: d["status"] for d in festival}
    assert by_status["正月初九"] == "scheduled" and by_status["腊月十九"] == "scheduled"
    assert by_status["腊月廿九"] == "cancelled"
    assert next(d for d in festival if d["lunar"]["name"] == "腊月廿九")["reason"] == "春节休市"


@pytest.fixture
def teams(client, headers, make_user, two_towns):
    a1, a2, b1 = (
        make_user(roles=["patrol"], areas=[two_towns["TA"]], display_name=n) for n in ("陈刚", "刘洋", "赵磊")
    )
    made = []
    for name, members in (("一队", [a1.id, a2.id]), ("二队", [b1.id]), ("联防", [a2.id])):
        response = client.post(
            "/api/v1/patrol-teams",
            json={"name": name, "area_id": two_towns["TA"].id, "member_ids": members},
            headers=headers,
        )
        assert response.status_code == 201
        made.append(response.get_json())
    return made


def test_assign_conflict_is_409_naming_both_markets(client, headers, teams, two_towns):
    east = create_market(client, headers, two_towns["CA"], rule="每周三", name="东村")
    west = create_market(
        client, headers, two_towns["CA"], rule="每周三", name="西村", start_time="10:00", end_time="13:00"
    )
    team_one, _, joint = teams
    day = "2026-12-02"  # a Wednesday
    ok = client.post(
        f"/api/v1/markets/{east['id']}/assignments",
        json={"team_ids": [team_one["id"]], "date": day},
        headers=headers,
    )
    assert ok.status_code == 201
    clash = client.post(
        f"/api/v1/markets/{west['id']}/assignments",
        json={"team_ids": [team_one["id"]], "date": day},
        headers={**headers, "Accept-Language": "en"},
    )
    assert clash.status_code == 409
    message = clash.get_json()["message"]
    assert "东村" in message and "西村" in message
    # The joint team shares 刘洋 with team one: refused too, naming the person.
    person = client.post(
        f"/api/v1/markets/{west['id']}/assignments",
        json={"team_ids": [joint["id"]], "date": day},
        headers=headers,
    )
    assert person.status_code == 409 and "刘洋" in person.get_json()["message"]
    assert db.session.scalar(select(func.count(MarketAssignment.id))) == 1


def test_rotation_and_coverage(client, headers, teams, two_towns):
    market = create_market(client, headers, two_towns["CA"], rule="每周三")
    team_one, team_two, _ = teams
    url = f"/api/v1/markets/{market['id']}"
    made = client.post(
        f"{url}/assignments",
        json={
            "team_ids": [team_one["id"], team_two["id"]],
            "from": "2026-12-01",
            "to": "2026-12-20",
            "mode": "rotation",
        },
        headers=headers,
    )
    assert made.status_code == 201
    assert [(a["date"], a["team_id"]) for a in made.get_json()] == [
        ("2026-12-02", team_one["id"]),
        ("2026-12-09", team_two["id"]),
        ("2026-12-16", team_one["id"]),
    ]
    gaps = client.get("/api/v1/market-coverage?from=2026-12-01&to=2026-12-31", headers=headers).get_json()
    assert [g["date"] for g in gaps] == ["2026-12-23", "2026-12-30"]
    days = client.get(f"{url}/occurrences?from=2026-12-01&to=2026-12-10", headers=headers).get_json()
    assert [t["name"] for t in days[0]["teams"]] == ["一队"]


def test_calendar_feeds_parse_and_show_cancellations(client, headers, teams, two_towns):
    market = create_market(client, headers, two_towns["CA"], rule="每周三", name="东村")
    url = f"/api/v1/markets/{market['id']}"
    days = client.get(f"{url}/occurrences?from=2026-12-01&to=2027-01-31", headers=headers).get_json()
    client.post(
        f"{url}/exceptions",
        json={"action": "cancel", "date": days[1]["date"], "reason": "寒潮"},
        headers=headers,
    )
    client.post(
        f"{url}/assignments", json={"team_ids": [teams[0]["id"]], "date": days[0]["date"]}, headers=headers
    )
    ics = client.get(f"{url}/calendar.ics", headers=headers)
    assert ics.headers["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(ics.data)
    assert any(c.name == "VTIMEZONE" and str(c["TZID"]) == "Asia/Shanghai" for c in cal.subcomponents)
    events = {e["UID"]: e for e in cal.walk("VEVENT")}
    cancelled = events[f"market-{market['id']}-{days[1]['date'].replace('-', '')}@gridgov"]
    assert str(cancelled["STATUS"]) == "CANCELLED" and "东村" in str(cancelled["SUMMARY"])
    first = events[f"market-{market['id']}-{days[0]['date'].replace('-', '')}@gridgov"]
    assert first["DTSTART"].dt.hour == 7 and str(first["DTSTART"].params["TZID"]) == "Asia/Shanghai"
    assert "农历" in str(first["SUMMARY"])
    # The team feed needs its secret, which can be revoked.
    team_url = f"/api/v1/patrol-teams/{teams[0]['id']}"
    token = client.post(f"{team_url}/feed-token", headers=headers).get_json()["token"]
    feed = client.get(f"{team_url}/calendar.ics?token={token}")
    assert feed.status_code == 200
    assert [str(e["UID"]) for e in Calendar.from_ical(feed.data).walk("VEVENT")] == [
        f"market-{market['id']}-{days[0]['date'].replace('-', '')}@gridgov"
    ]
    assert client.get(f"{team_url}/calendar.ics?token=wrong").status_code == 404
    client.delete(f"{team_url}/feed-token", headers=headers)
    assert client.get(f"{team_url}/calendar.ics?token={token}").status_code == 404


def test_check_in_records_inside_and_on_time(app, client, headers, make_user, auth_headers, two_towns, clock):
    zone = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "摊区"}, "geometry": square(113.001, 33.001, 0.001)}
        ],
    }
    market = create_market(client, headers, two_towns["CA"], rule="每周三", zones=zone)
    member = make_user(roles=["patrol"], areas=[two_towns["TA"]])
    wednesday_early = datetime(2026, 12, 1, 22, 50, tzinfo=UTC)  # 06:50 Beijing, Wed 2 Dec
    clock.set(wednesday_early)
    patrol = auth_headers(member)  # a phone signs in on the day
    inside = client.post(
        f"/api/v1/markets/{market['id']}/checkins", json={"lon": 113.0015, "lat": 33.0015}, headers=patrol
    )
    assert inside.status_code == 201
    assert inside.get_json() | {"id": 0, "at": ""} == {
        "id": 0,
        "at": "",
        "device_at": None,
        "market_id": market["id"],
        "date": "2026-12-02",
        "inside": True,
        "on_time": True,
    }
    late = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 Beijing
    clock.set(late)
    patrol = auth_headers(member)
    outside = client.post(
        f"/api/v1/markets/{market['id']}/checkins", json={"lon": 113.01, "lat": 33.01}, headers=patrol
    ).get_json()
    assert outside["inside"] is False and outside["on_time"] is False
    thursday = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    clock.set(thursday)
    patrol = auth_headers(member)
    assert (
        client.post(
            f"/api/v1/markets/{market['id']}/checkins", json={"lon": 113.0015, "lat": 33.0015}, headers=patrol
        ).status_code
        == 409
    )
    assert date(2026, 12, 2).isoweekday() == 3


def test_markets_sharing_a_rule_keep_their_own_towns_closures_and_exceptions(
    client, make_user, auth_headers, two_towns
):
    """Same rule and hours in two towns: only the town with a Spring Festival closure loses its
    days, and one market's own cancellation touches no other market."""
    leader = make_user(roles=["staff"], areas=[two_towns["D"]])
    headers = auth_headers(leader)
    closed, open_a, open_b = (
        create_market(client, headers, two_towns[area], rule="逢二", name=name)
        for area, name in (("CA", "甲"), ("CB", "乙"), ("CB", "丙"))
    )
    blackout = {
        "area_id": two_towns["TA"].id,
        "name": "春节休市",
        "start": {"month": 12, "day": 25},
        "end": {"month": 1, "day": 5},
    }
    assert client.post("/api/v1/market-blackouts", json=blackout, headers=headers).status_code == 201
    # 2027-02-07 is 正月初二 (a 逢二 day inside the closure); 2027-02-17 is 正月十二, after it.
    cancel = {"action": "cancel", "date": "2027-02-17", "reason": "修路"}
    assert (
        client.post(f"/api/v1/markets/{open_b['id']}/exceptions", json=cancel, headers=headers).status_code
        == 201
    )
    days = client.get("/api/v1/market-days?from=2027-02-01&to=2027-02-28", headers=headers).get_json()
    status = {(d["market_name"], d["date"]): d["status"] for d in days}
    assert status[("甲", "2027-02-07")] == "cancelled"
    assert status[("乙", "2027-02-07")] == "scheduled" and status[("丙", "2027-02-07")] == "scheduled"
    assert status[("甲", "2027-02-17")] == "scheduled" and status[("乙", "2027-02-17")] == "scheduled"
    assert status[("丙", "2027-02-17")] == "cancelled"
    assert {d["market_id"] for d in days} == {closed["id"], open_a["id"], open_b["id"]}
