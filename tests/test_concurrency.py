"""Two people acting at the same moment (PostgreSQL, where requests really run side by side):
one wins, the other is told why with 409, and nothing is done twice."""

import threading
import time as wall
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.markets import rosters
from gridgov.markets.models import MarketAssignment
from gridgov.markets.rosters import create_team
from gridgov.markets.services import create_market
from gridgov.wages import workflow as wage_workflow
from gridgov.wages.intake import file_claim
from gridgov.wages.models import WageCase, WageEvent
from tests.test_patrols import people, zone  # noqa: F401 - fixtures


@pytest.fixture
def postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent requests need PostgreSQL (SQLite serialises whole transactions)")


def at_once(app, requests):
    """Send the requests from separate threads released together; their responses, in order."""
    start = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, method, url, headers, body):
        client = app.test_client()
        start.wait()
        response = client.open(url, method=method, headers=headers, json=body)
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def slowed(monkeypatch, module, name, seconds=0.5):
    """Widen the window between a move's read and its write, where an unlocked read interleaves."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        wall.sleep(seconds)
        return result

    monkeypatch.setattr(module, name, slow)


def test_two_officers_moving_one_case_at_once_give_one_success_and_one_409(
    app, postgresql_only, make_user, auth_headers, two_towns, monkeypatch
):
    case, _ = file_claim(
        {
            "claimant": {"name": "王", "phone": "13812345678", "id_number": "11010519491231002X"},
            "project": {"name": "p", "area_code": "TA"},
            "parties": [{"role": "general_contractor", "name": "g"}],
            "work_period": {"from_": date(2026, 1, 1), "to": date(2026, 2, 1)},
            "amount_claimed": "7000.00",
            "workers": 1,
            "description": "工资未结",
        }
    )
    url = f"/api/v1/wage-cases/{case.id}/actions"
    one, two = (auth_headers(make_user(roles=["wage_officer"], areas=[two_towns["TA"]])) for _ in range(2))
    slowed(monkeypatch, wage_workflow, "work_calendar")  # accept calls it after the state check
    results = at_once(
        app,
        [
            ("POST", url, one, {"action": "accept"}),
            ("POST", url, two, {"action": "refuse", "note": "不属实"}),
        ],
    )
    assert sorted(status for status, _ in results) == [200, 409], results
    loser = next(body for status, body in results if status == 409)
    winner = next(body for status, body in results if status == 200)
    assert loser["state"] == winner["status"]
    db.session.expire_all()
    assert db.session.get(WageCase, case.id).status == winner["status"]
    moves = select(func.count()).select_from(WageEvent).where(WageEvent.case_id == case.id)
    assert db.session.scalar(moves.where(WageEvent.action.in_(["accept", "refuse"]))) == 1


def test_two_desks_rostering_one_person_at_once_give_one_success_and_one_409(
    app, postgresql_only, make_user, auth_headers, two_towns, monkeypatch
):
    staff = make_user(roles=["staff"], areas=[two_towns["TA"]])
    person = make_user(roles=["patrol"], areas=[two_towns["CA"]], display_name="陈刚")
    rule = {
        "rule": "每周三",
        "missing_day": "skip",
        "start_time": time(7),
        "end_time": time(12),
        "zones": None,
    }
    markets = [
        create_market(staff, {**rule, "name": n, "area_id": two_towns["CA"].id}) for n in ("东集", "西集")
    ]
    teams = [
        create_team(staff, {"name": n, "area_id": two_towns["TA"].id, "member_ids": [person.id]})
        for n in ("一队", "二队")
    ]
    headers = auth_headers(staff)
    slowed(monkeypatch, rosters, "find_conflict")
    results = at_once(
        app,
        [
            (
                "POST",
                f"/api/v1/markets/{m.id}/assignments",
                headers,
                {"team_ids": [t.id], "date": "2030-01-02"},
            )
            for m, t in zip(markets, teams, strict=True)
        ],
    )
    assert sorted(status for status, _ in results) == [201, 409], results
    assert "陈刚" in next(body for status, body in results if status == 409)["message"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(MarketAssignment)) == 1


def test_a_case_merged_into_one_being_merged_away_at_that_moment_is_refused(
    app, postgresql_only, make_user, auth_headers, two_towns, monkeypatch
):
    def claim(text):
        case, _ = file_claim(
            {
                "claimant": {"name": "王", "phone": "13812345678", "id_number": "11010519491231002X"},
                "project": {"name": "p", "area_code": "TA"},
                "parties": [{"role": "general_contractor", "name": "g"}],
                "work_period": {"from_": date(2026, 1, 1), "to": date(2026, 2, 1)},
                "amount_claimed": "100.00",
                "workers": 1,
                "description": text,
            }
        )
        return case

    first, second, third = claim("一"), claim("二"), claim("三")
    headers = auth_headers(make_user(roles=["wage_officer"], areas=[two_towns["TA"]]))
    original = wage_workflow.MOVES.handlers["merge"]

    def slow(move):  # the move on `second` holds it longest; the merge into it looks for it meanwhile
        wall.sleep(0.8 if threading.current_thread().name == "second" else 0.2)
        return original(move)

    monkeypatch.setitem(wage_workflow.MOVES.handlers, "merge", slow)
    moves = {
        "first": (first.id, {"action": "merge", "into_number": second.number}),
        "second": (second.id, {"action": "merge", "into_number": third.number}),
    }
    results = {}
    start = threading.Barrier(2)

    def run(name):
        case_id, body = moves[name]
        client = app.test_client()
        start.wait()
        response = client.post(f"/api/v1/wage-cases/{case_id}/actions", headers=headers, json=body)
        results[name] = response.status_code

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {"second": 200, "first": 409}
    db.session.expire_all()
    assert db.session.get(WageCase, first.id).status == "received"


def test_two_batches_of_one_patrol_at_once_both_count(
    app, postgresql_only, client, people, clock, monkeypatch  # noqa: F811 - people from test_patrols
):
    """A phone resending its queue sends batches side by side: the patrol's count keeps them all."""
    from gridgov.patrols import services as patrol_services
    from tests.test_patrols import T0, start_patrol, walk

    clock.set(T0 + timedelta(days=1, hours=1))
    patrol_id = start_patrol(client, people["h"])
    slowed(monkeypatch, patrol_services, "insert_points")  # both have read the patrol before either writes
    url = f"/api/v1/patrols/{patrol_id}/points"
    batches = [{"seq": n, "points": walk(T0 + timedelta(minutes=10 * n), 2, 113.001, 33.001)} for n in (1, 2)]
    results = at_once(app, [("POST", url, people["h"], batch) for batch in batches])
    assert [status for status, _ in results] == [200, 200], results
    patrol = client.get(f"/api/v1/patrols/{patrol_id}", headers=people["h"]).get_json()
    assert patrol["points"] == sum(len(batch["points"]) for batch in batches)
