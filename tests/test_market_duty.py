"""Market days without a team and teams at two markets the same day: the API says what the console shows."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest

from gridgov.timeutil import LOCAL_TZ
from tests.console_session import signed_in

DECEMBER = "from=2026-12-01&to=2026-12-31"
MARKET_DIV = re.compile(r'<div class="market ([^"]*)" data-market="(\d+)" data-date="([\d-]+)"')


@pytest.fixture(autouse=True)
def late_november(clock):
    """December 2026 is planned from a week before it."""
    clock.set(datetime.combine(date(2026, 11, 25), time(10), LOCAL_TZ))


@pytest.fixture
def staff(make_user, two_towns):
    return make_user(roles=["staff"], areas=[two_towns["TA"]], username="staff_ta")


@pytest.fixture
def december(client, auth_headers, staff, make_user, two_towns):
    """Two Wednesday markets, morning and afternoon: team one at both on 2 December (a clash), team two
    at the afternoon one on 9, 16 and 23 December, nobody there on the 30th (a gap)."""
    headers = auth_headers(staff)

    def post(path, body):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    east = post("/api/v1/markets", {"name": "东村", "area_id": two_towns["CA"].id, "rule": "每周三"})
    west = post(
        "/api/v1/markets",
        {
            "name": "西村",
            "area_id": two_towns["CA"].id,
            "rule": "每周三",
            "start_time": "14:00",
            "end_time": "17:00",
        },
    )
    one, two = (
        post(
            "/api/v1/patrol-teams",
            {
                "name": name,
                "area_id": two_towns["TA"].id,
                "member_ids": [make_user(roles=["patrol"], areas=[two_towns["TA"]]).id],
            },
        )
        for name in ("一队", "二队")
    )
    post(
        f"/api/v1/markets/{east['id']}/assignments",
        {"team_ids": [one["id"]], "from": "2026-12-01", "to": "2026-12-31"},
    )
    post(f"/api/v1/markets/{west['id']}/assignments", {"team_ids": [one["id"]], "date": "2026-12-02"})
    post(
        f"/api/v1/markets/{west['id']}/assignments",
        {"team_ids": [two["id"]], "from": "2026-12-09", "to": "2026-12-23"},
    )
    return {"headers": headers, "east": east, "west": west, "one": one, "two": two}


def test_market_days_say_which_lack_a_team_and_which_clash(client, december):
    east, west, one = december["east"], december["west"], december["one"]
    days = client.get(f"/api/v1/market-days?{DECEMBER}", headers=december["headers"]).get_json()
    assert len(days) == 10 and all(d["status"] == "scheduled" for d in days)
    assert [(d["market_name"], d["date"]) for d in days if d["uncovered"]] == [("西村", "2026-12-30")]
    clashing = {(d["market_name"], d["date"]): d["clashes"] for d in days if d["clashes"]}
    assert clashing == {
        ("东村", "2026-12-02"): [
            {"team_id": one["id"], "team_name": "一队", "market_id": west["id"], "market_name": "西村"}
        ],
        ("西村", "2026-12-02"): [
            {"team_id": one["id"], "team_name": "一队", "market_id": east["id"], "market_name": "东村"}
        ],
    }
    only_gaps = client.get(f"/api/v1/market-days?{DECEMBER}&uncovered=true", headers=december["headers"])
    assert [(d["market_name"], d["date"]) for d in only_gaps.get_json()] == [("西村", "2026-12-30")]
    covered = client.get(f"/api/v1/market-days?{DECEMBER}&uncovered=false", headers=december["headers"])
    assert len(covered.get_json()) == 9 and not any(d["uncovered"] for d in covered.get_json())


def test_the_console_calendar_marks_the_gaps_and_clashes_the_api_gives(app, december):
    api = app.test_client()
    days = api.get(f"/api/v1/market-days?{DECEMBER}", headers=december["headers"]).get_json()
    console = signed_in(app, "staff_ta")
    page = console.get("/console/calendar?month=2026-12").get_data(as_text=True)
    shown = {(int(market), day): classes.split() for classes, market, day in MARKET_DIV.findall(page)}
    assert (
        {k for k, classes in shown.items() if "gap" in classes}
        == {(d["market_id"], d["date"]) for d in days if d["uncovered"]}
        == {(december["west"]["id"], "2026-12-30")}
    )
    assert (
        {k for k, classes in shown.items() if "clash" in classes}
        == {(d["market_id"], d["date"]) for d in days if d["clashes"]}
        == {(december["east"]["id"], "2026-12-02"), (december["west"]["id"], "2026-12-02")}
    )
    assert "缺岗 1 · 冲突 2" in page


def test_the_openapi_document_describes_gaps_and_clashes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    day = spec["components"]["schemas"]["MarketDay"]["properties"]
    assert day["uncovered"]["type"] == "boolean" and day["uncovered"]["description"]
    assert day["clashes"]["type"] == "array" and day["clashes"]["description"]
    parameters = spec["paths"]["/api/v1/market-days"]["get"]["parameters"]
    assert any(p["name"] == "uncovered" and p["in"] == "query" for p in parameters)
