"""Patrols: batches (replayed, late), time per micro-grid, speed flags, privacy, the frozen daily report."""

import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.patrols.jobs import freeze_today, purge_old_points
from gridgov.patrols.models import DailyReport, Patrol, PatrolPoint
from gridgov.patrols.reports import freeze_day
from gridgov.timeutil import LOCAL_TZ
from tests.conftest import square, tree_specs

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture(autouse=True)
def next_morning(clock):
    """The patrols happen on T0's day; the app's clock stands at the next morning."""
    clock.set(T0 + timedelta(days=1, hours=1))
    return clock


@pytest.fixture
def zone(make_areas):
    return make_areas(
        *tree_specs(("",), micro_grids=0, grid_size=0.02),
        ("M1", "micro_grid", "G", square(113.0, 33.0, 0.005)),
        ("M2", "micro_grid", "G", square(113.005, 33.0, 0.005)),
    )


@pytest.fixture
def people(make_user, auth_headers, zone):
    worker = make_user(roles=["grid_worker"], areas=[zone["G"]], display_name="李娜")
    other = make_user(roles=["grid_worker"], areas=[zone["G"]])
    supervisor = make_user(roles=["staff"], areas=[zone["T"]])
    return {
        "worker": worker,
        "h": auth_headers(worker),
        "other": auth_headers(other),
        "supervisor": auth_headers(supervisor),
    }


def walk(start: datetime, minutes: int, lon: float, lat: float, step_s: int = 30, dlon: float = 0.00001):
    """Points every step_s seconds, strolling east from (lon, lat)."""
    return [
        {"lon": lon + i * dlon, "lat": lat, "t": (start + timedelta(seconds=i * step_s)).isoformat()}
        for i in range(minutes * 60 // step_s + 1)
    ]


def start_patrol(client, headers, started=T0):
    body = {"client_uuid": str(uuid.uuid4()), "started_at": started.isoformat()}
    response = client.post("/api/v1/patrols", json=body, headers=headers)
    assert response.status_code == 201
    assert client.post("/api/v1/patrols", json=body, headers=headers).status_code == 200
    return response.get_json()["id"]


def send(client, headers, patrol_id, seq, points):
    return client.post(
        f"/api/v1/patrols/{patrol_id}/points", json={"seq": seq, "points": points}, headers=headers
    )


def test_replayed_and_late_batches_and_time_per_grid(client, people):
    h = people["h"]
    pid = start_patrol(client, h)
    # 15 minutes in M1, then 2 minutes across M2, then back in M1 for 1 minute.
    first = walk(T0, 15, 113.0040, 33.001, dlon=0.000015)
    crossing = walk(T0 + timedelta(minutes=15, seconds=30), 2, 113.00505, 33.001, dlon=0.00005)
    back = walk(T0 + timedelta(minutes=18), 1, 113.0049, 33.001)
    assert send(client, h, pid, 1, first).get_json() == {"seq": 1, "received": len(first), "duplicate": False}
    assert send(client, h, pid, 1, first).get_json()["duplicate"] is True  # replay: nothing stored
    assert send(client, h, pid, 3, back).status_code == 200
    assert send(client, h, pid, 2, crossing).status_code == 200  # late: placed by its timestamps
    assert db.session.scalar(select(func.count(PatrolPoint.id))) == len(first) + len(crossing) + len(back)
    done = client.post(
        f"/api/v1/patrols/{pid}/finish",
        json={"ended_at": (T0 + timedelta(minutes=19)).isoformat()},
        headers=h,
    ).get_json()
    assert done["duration_s"] == 19 * 60 and done["flagged"] is False and done["distance_m"] > 100
    grids = {g["code"]: g for g in done["grids"]}
    assert grids["M1"]["counted"] is True and grids["M1"]["seconds_inside"] >= 15 * 60
    assert (
        grids["M2"]["counted"] is False and grids["M2"]["seconds_inside"] < 3 * 60
    )  # crossed, not patrolled


def test_impossible_speed_is_flagged_and_counts_for_nothing(client, people):
    h = people["h"]
    pid = start_patrol(client, h)
    points = walk(T0, 12, 113.001, 33.001)
    points.append(
        {"lon": 113.009, "lat": 33.004, "t": (T0 + timedelta(minutes=12, seconds=20)).isoformat()}
    )  # 800 m in 20 s
    send(client, h, pid, 1, points)
    done = client.post(
        f"/api/v1/patrols/{pid}/finish",
        json={"ended_at": (T0 + timedelta(minutes=13)).isoformat()},
        headers=h,
    ).get_json()
    assert done["flagged"] is True and done["max_speed_kmh"] > 30
    assert all(not g["counted"] for g in done["grids"])


def test_track_only_for_the_worker_and_his_supervisor(client, people, make_user, auth_headers, two_towns):
    h = people["h"]
    pid = start_patrol(client, h)
    send(client, h, pid, 1, walk(T0, 2, 113.001, 33.001))
    own = client.get(f"/api/v1/patrols/{pid}/track", headers=h)
    assert own.status_code == 200 and own.get_json()["geometry"]["type"] == "LineString"
    assert len(own.get_json()["geometry"]["coordinates"]) == 5
    assert client.get(f"/api/v1/patrols/{pid}/track", headers=people["supervisor"]).status_code == 200
    assert client.get(f"/api/v1/patrols/{pid}/track", headers=people["other"]).status_code == 404
    assert client.get(f"/api/v1/patrols/{pid}", headers=people["other"]).status_code == 404
    far_staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TB"]]))
    assert client.get(f"/api/v1/patrols/{pid}/track", headers=far_staff).status_code == 404
    assert send(client, people["other"], pid, 2, walk(T0, 1, 113.001, 33.001)).status_code == 404


def test_frozen_report_is_unchanged_by_later_data_which_shows_as_correction(client, people, zone):
    h = people["h"]
    pid = start_patrol(client, h)
    send(client, h, pid, 1, walk(T0, 12, 113.001, 33.001))
    client.post(
        f"/api/v1/patrols/{pid}/finish",
        json={"ended_at": (T0 + timedelta(minutes=12)).isoformat()},
        headers=h,
    )
    url = f"/api/v1/reports/daily?date=2026-11-20&area={zone['T'].id}"
    live = client.get(url, headers=people["supervisor"]).get_json()
    assert live["frozen"] is False and live["total"]["due"] == 2 and live["total"]["covered"] == 1
    assert live["total"]["coverage"] == 0.5 and "覆盖率 50%" in live["summary"] and "M2" in live["summary"]
    assert freeze_day(date(2026, 11, 20)) == 2
    # The next day a late offline patrol of M2 is synced for the 20th.
    late = start_patrol(client, h, T0 + timedelta(hours=2))
    send(client, h, late, 1, walk(T0 + timedelta(hours=2), 12, 113.006, 33.001))
    client.post(
        f"/api/v1/patrols/{late}/finish",
        json={"ended_at": (T0 + timedelta(hours=2, minutes=12)).isoformat()},
        headers=h,
    )
    frozen = client.get(url, headers=people["supervisor"]).get_json()
    assert (
        frozen["frozen"] is True and frozen["total"]["covered"] == 1 and frozen["summary"] == live["summary"]
    )
    assert frozen["correction"]["total"]["covered"] == 2 and frozen["correction"]["changed"]["covered"] == 2
    grid_row = client.get(
        f"/api/v1/reports/daily?date=2026-11-20&area={zone['G'].id}", headers=people["supervisor"]
    ).get_json()
    assert grid_row["frozen"] is True and grid_row["grids"][0]["covered"] == 1
    xlsx = client.get(url + "&format=xlsx", headers=people["supervisor"])
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_issue_reported_on_a_patrol_is_linked(client, people, app):
    from gridgov.issues.catalogue import seed_catalogue

    seed_catalogue()
    h = people["h"]
    pid = start_patrol(client, h)
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": "ENV-RUBBISH",
        "description": "垃圾",
        "location": {"type": "Point", "coordinates": [113.001, 33.001]},
        "patrol_id": pid,
    }
    assert client.post("/api/v1/issues", json=body, headers=h).get_json()["patrol_id"] == pid
    other_pid = start_patrol(client, people["other"])
    stolen = {**body, "client_uuid": str(uuid.uuid4()), "patrol_id": other_pid}
    assert client.post("/api/v1/issues", json=stolen, headers=h).status_code == 422


def test_freezing_runs_on_the_time_it_is_given(zone):
    moment = T0 + timedelta(days=400)  # far from the app's clock
    assert freeze_today(moment) == 2
    assert {(r.day, r.frozen_at) for r in db.session.scalars(select(DailyReport))} == {
        (moment.date(), moment)
    }


def test_old_raw_points_are_purged_but_figures_stay(client, people, app):
    h = people["h"]
    old = T0 - timedelta(days=120)
    pid = start_patrol(client, h, old)
    send(client, h, pid, 1, walk(old, 12, 113.001, 33.001))
    client.post(
        f"/api/v1/patrols/{pid}/finish",
        json={"ended_at": (old + timedelta(minutes=12)).isoformat()},
        headers=h,
    )
    recent = start_patrol(client, h)
    send(client, h, recent, 1, walk(T0, 1, 113.001, 33.001))
    assert purge_old_points() == 25
    assert db.session.scalar(select(func.count(PatrolPoint.id))) == 3
    assert db.session.get(Patrol, pid).distance_m > 0
