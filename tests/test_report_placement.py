"""Reports at the zone's edge (a fix just outside every micro-grid), sync results in the envelope's
shape, and device clocks that are wrong: kept, refused when ahead, never the start of a deadline."""

import uuid
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from gridgov.areas.geometry import GEOD
from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.issues.models import Issue, IssueEvent
from gridgov.timeutil import LOCAL_TZ
from gridgov.workcal.services import seed_from_library

# The demo district of `two_towns` is the square 113.0–113.2 E, 33.0–33.2 N; micro-grid MA sits in
# its south-west corner, so a point due west of MA's edge is outside the whole zone.
TUESDAY_10 = datetime.combine(date(2026, 11, 24), time(10), LOCAL_TZ)


def west_of_ma(metres: float) -> dict:
    lon, lat, _ = GEOD.fwd(113.0, 33.001, 270, metres)
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def field(app, make_user, auth_headers, two_towns, clock):
    clock.set(TUESDAY_10)
    seed_catalogue()
    seed_from_library()
    worker = make_user(roles=["grid_worker"], areas=[two_towns["GA"]])
    staff = make_user(roles=["staff"], areas=[two_towns["TA"]])
    return {
        "worker": auth_headers(worker),
        "worker_en": auth_headers(worker, "en"),
        "staff": auth_headers(staff),
        "areas": two_towns,
    }


def report(client, headers, point, **extra):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": "ENV-RUBBISH",
        "description": "路边垃圾堆积",
        "location": point,
        **extra,
    }
    return client.post("/api/v1/issues", json=body, headers=headers)


def test_twenty_metres_outside_with_a_30_m_fix_goes_to_the_nearest_micro_grid(client, field):
    response = report(client, field["worker"], west_of_ma(20), accuracy=30)
    assert response.status_code == 201, response.get_json()
    issue = response.get_json()
    assert issue["micro_grid"]["code"] == "MA"
    assert issue["located_by"] == "nearest" and 19 <= issue["located_distance_m"] <= 21
    assert issue["location_accuracy_m"] == 30
    # Staff find it among the reports to confirm, on the list and on the map's GeoJSON.
    listed = client.get("/api/v1/issues?located_by=nearest", headers=field["staff"]).get_json()
    assert [i["id"] for i in listed] == [issue["id"]]
    features = client.get(
        "/api/v1/issues?located_by=nearest&format=geojson", headers=field["staff"]
    ).get_json()["features"]
    assert features[0]["properties"]["located_by"] == "nearest"
    assert client.get("/api/v1/issues?located_by=inside", headers=field["staff"]).get_json() == []
    confirmed = client.post(
        f"/api/v1/issues/{issue['id']}/actions", json={"action": "confirm_location"}, headers=field["staff"]
    )
    assert confirmed.status_code == 200 and confirmed.get_json()["located_by"] == "confirmed"
    again = client.post(
        f"/api/v1/issues/{issue['id']}/actions", json={"action": "confirm_location"}, headers=field["staff"]
    )
    assert again.status_code == 409


def test_a_fix_is_given_at_least_50_m_but_never_more_than_the_limit(client, field, app):
    # No accuracy sent: the 50 m floor still places a point 40 m out.
    assert report(client, field["worker"], west_of_ma(40)).get_json()["located_by"] == "nearest"
    # A 500 m "accuracy" is capped at GRIDGOV_REPORT_SNAP_MAX_M (100 m by default).
    assert report(client, field["worker"], west_of_ma(150), accuracy=500).status_code == 422
    app.config["REPORT_SNAP_MAX_M"] = 200
    assert report(client, field["worker"], west_of_ma(150), accuracy=500).status_code == 201


def test_two_hundred_metres_outside_is_refused_naming_the_nearest(client, field):
    response = report(client, field["worker_en"], west_of_ma(200), accuracy=30)
    assert response.status_code == 422
    body = response.get_json()
    assert body["nearest_micro_grid"]["code"] == "MA" and 199 <= body["distance_m"] <= 201
    assert "nearest micro-grid is MA" in body["message"] and body["errors"] == {
        "json": {"location": ["outside every area"]}
    }
    assert db.session.scalar(select(Issue.id)) is None


def test_staff_may_move_a_nearest_report_only_to_a_micro_grid_of_their_own(client, field, make_areas):
    issue = report(client, field["worker"], west_of_ma(20), accuracy=30).get_json()
    url = f"/api/v1/issues/{issue['id']}/actions"
    other_town = field["areas"]["MB"].id
    refused = client.post(
        url, json={"action": "confirm_location", "area_id": other_town}, headers=field["staff"]
    )
    assert refused.status_code == 422 and "area_id" in refused.get_json()["errors"]["json"]
    assert db.session.get(Issue, issue["id"]).located_by == "nearest"
    moved = client.post(
        url, json={"action": "confirm_location", "area_id": field["areas"]["MA"].id}, headers=field["staff"]
    )
    assert moved.status_code == 200


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sync_results_follow_the_error_envelope(client, field, lang, auth_headers):
    headers = {**field["worker"], "Accept-Language": lang}
    good = {
        "client_uuid": str(uuid.uuid4()),
        "category": "ENV-RUBBISH",
        "description": "垃圾",
        "location": {"type": "Point", "coordinates": [113.001, 33.001]},
    }
    outside = {**good, "client_uuid": str(uuid.uuid4()), "location": west_of_ma(500)}
    no_description = {k: v for k, v in good.items() if k != "description"} | {
        "client_uuid": str(uuid.uuid4())
    }
    results = client.post(
        "/api/v1/sync/issues", json={"items": [good, outside, no_description]}, headers=headers
    ).get_json()
    assert [r["status"] for r in results] == [201, 422, 422]
    refused, invalid = results[1], results[2]
    for result in (refused, invalid):
        assert isinstance(result["message"], str)
    if lang == "en":
        assert "nearest micro-grid is MA" in refused["message"]
        assert invalid["message"] == "Invalid fields."
        assert invalid["errors"] == {"json": {"description": ["Missing data for required field."]}}
    else:
        assert "最近的微网格是 MA" in refused["message"]
        assert invalid["message"] == "字段有误。"
        assert invalid["errors"] == {"json": {"description": ["必填字段缺失。"]}}
    assert refused["errors"] == {
        "json": {"location": ["outside every area" if lang == "en" else "outside every area"]}
    }
    assert refused["nearest_micro_grid"]["code"] == "MA" and refused["distance_m"] > 400


def test_a_device_clock_a_day_ahead_is_refused(client, field):
    ahead = (TUESDAY_10 + timedelta(days=1)).isoformat()
    response = report(client, field["worker_en"], west_of_ma(-100), reported_at=ahead)
    assert response.status_code == 422
    assert "reported_at" in response.get_json()["errors"]["json"]
    assert db.session.scalar(select(Issue.id)) is None
    # Five minutes of skew is a phone's clock, not a lie.
    assert (
        report(
            client,
            field["worker"],
            west_of_ma(-100),
            reported_at=(TUESDAY_10 + timedelta(minutes=4)).isoformat(),
        ).status_code
        == 201
    )


def test_a_report_made_a_week_ago_offline_runs_its_deadline_from_receipt(client, field):
    week_ago = TUESDAY_10 - timedelta(days=7)
    response = report(client, field["worker"], west_of_ma(-100), reported_at=week_ago.isoformat())
    assert response.status_code == 201
    issue = response.get_json()
    assert datetime.fromisoformat(issue["reported_at"]) == week_ago
    assert datetime.fromisoformat(issue["received_at"]) == TUESDAY_10
    # ENV-RUBBISH: 4 working hours from Tue 10:00 (08:30–12:00, 14:30–18:00) → Tue 16:30, by hand.
    assert datetime.fromisoformat(issue["deadline"]) == TUESDAY_10.replace(hour=16, minute=30)
    event = db.session.scalar(select(IssueEvent).where(IssueEvent.issue_id == issue["id"]))
    assert event.at == TUESDAY_10
    assert datetime.fromisoformat(event.data["device_time"]) == week_ago
    assert datetime.fromisoformat(event.data["received_at"]) == TUESDAY_10


def test_patrol_and_check_in_device_times(client, field, make_user, auth_headers):
    h = field["worker"]
    ahead = (TUESDAY_10 + timedelta(days=1)).isoformat()
    refused = client.post(
        "/api/v1/patrols", json={"client_uuid": str(uuid.uuid4()), "started_at": ahead}, headers=h
    )
    assert refused.status_code == 422 and "started_at" in refused.get_json()["errors"]["json"]
    started = client.post(
        "/api/v1/patrols",
        json={"client_uuid": str(uuid.uuid4()), "started_at": (TUESDAY_10 - timedelta(hours=2)).isoformat()},
        headers=h,
    )
    assert started.status_code == 201
    patrol = started.get_json()
    assert datetime.fromisoformat(patrol["received_at"]) == TUESDAY_10
    points = [
        {"lon": 113.001, "lat": 33.001, "t": (TUESDAY_10 - timedelta(minutes=1)).isoformat()},
        {"lon": 113.001, "lat": 33.001, "t": ahead},
    ]
    batch = client.post(
        f"/api/v1/patrols/{patrol['id']}/points", json={"seq": 1, "points": points}, headers=h
    )
    assert batch.status_code == 422
    assert batch.get_json()["errors"]["json"] == {
        "points": {"1": {"t": ["later than the server's clock allows"]}}
    }


def test_check_in_keeps_the_phones_time_beside_the_servers(client, field, make_user, auth_headers):
    staff = field["staff"]
    market = client.post(
        "/api/v1/markets",
        json={"name": "东村", "area_id": field["areas"]["CA"].id, "rule": "每周二"},
        headers=staff,
    )
    assert market.status_code == 201, market.get_json()
    url = f"/api/v1/markets/{market.get_json()['id']}/checkins"
    patrol = auth_headers(make_user(roles=["patrol"], areas=[field["areas"]["TA"]]))
    here = {"lon": 113.001, "lat": 33.001}
    ahead = client.post(
        url, json={**here, "device_at": (TUESDAY_10 + timedelta(hours=1)).isoformat()}, headers=patrol
    )
    assert ahead.status_code == 422 and "device_at" in ahead.get_json()["errors"]["json"]
    yesterday = client.post(
        url, json={**here, "device_at": (TUESDAY_10 - timedelta(days=1)).isoformat()}, headers=patrol
    )
    assert yesterday.status_code == 422
    early = TUESDAY_10.replace(hour=6, minute=50)
    made = client.post(url, json={**here, "device_at": early.isoformat()}, headers=patrol)
    assert made.status_code == 201
    body = made.get_json()
    assert datetime.fromisoformat(body["device_at"]) == early
    assert datetime.fromisoformat(body["at"]) == TUESDAY_10
    assert body["on_time"] is False  # received at 10:00, after the 07:00 opening: the server's time decides


def test_the_console_shows_a_nearest_report_for_confirmation(app, field, make_user):
    from tests.conftest import PASSWORD
    from tests.test_console import OwnContextClient, csrf_of, sign_in

    app.test_client_class = OwnContextClient
    browser = app.test_client()
    issue = report(app.test_client(), field["worker"], west_of_ma(20), accuracy=30).get_json()
    make_user(roles=["staff"], areas=[field["areas"]["TA"]], username="desk_a")
    assert sign_in(browser, "desk_a", PASSWORD).status_code == 302
    page = browser.get(f"/console/issues/{issue['id']}").get_data(as_text=True)
    assert 'id="located-nearest"' in page and "20 米" in page and 'id="action-confirm_location"' in page
    token = csrf_of(browser, f"/console/issues/{issue['id']}")
    browser.post(
        f"/console/issues/{issue['id']}/actions", data={"csrf_token": token, "action": "confirm_location"}
    )
    assert db.session.get(Issue, issue["id"]).located_by == "confirmed"
    assert 'id="located-nearest"' not in browser.get(f"/console/issues/{issue['id']}").get_data(as_text=True)
    map_page = browser.get("/console/map?located_by=nearest").get_data(as_text=True)
    assert "located_by=nearest" in map_page
