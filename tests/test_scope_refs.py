"""Generated from the schemas: every field a client sends that names another object resolves
through the caller's scope, and an id out of scope reads exactly like an unknown one.

`test_every_integer_field_is_classified` walks every schema a route or a console form loads; an
integer field that is neither a `Ref`/`Refs` nor a known quantity fails it, so a new field that
names an object cannot escape the check in `test_every_ref_refuses_another_scope_like_an_unknown_id`.
"""

import inspect
import re
from datetime import date, time

import pytest
from flask import g
from marshmallow import ValidationError, fields
from sqlalchemy import select

from gridgov.auth.models import ROLES
from gridgov.console import pages as console_pages
from gridgov.extensions import db
from gridgov.issues.models import Department, Issue
from gridgov.markets.models import PatrolTeam
from gridgov.markets.rosters import assign, create_team
from gridgov.markets.services import create_market
from gridgov.refs import OUT_OF_SCOPE, Ref, Refs
from gridgov.wages.models import WageParty
from tests.test_scope_routes import town_a_objects  # noqa: F401  (fixture)

# Integer fields that count or measure something; every other integer field names an object.
QUANTITIES = {
    "seq",
    "workers",
    "limit_value",
    "employment_problems_corrected",
    "month",
    "day",
    "year",
    "month_days",
    "after",  # a keyset cursor: a bound on the ids of rows already scoped, it names no object
}
UNKNOWN_IDS = (987654, 2**40)


def _schemas_of(schema, seen):
    schema = schema() if isinstance(schema, type) else schema
    if type(schema) in seen:
        return
    seen.add(type(schema))
    yield schema
    for field in schema.fields.values():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from _schemas_of(inner.nested, seen)


def loaded_schemas(app):
    """Every schema a route loads (body, query, form), nested ones included, and the console's."""
    roots = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        for function in [getattr(cls, m.lower(), None) for m in rule.methods] if cls else [view]:
            for parameter in getattr(function, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                roots.append(parameter["schema"])
    forms = []
    for module in [getattr(console_pages, name) for name in console_pages.__all__]:
        source = inspect.getsource(module)  # forms: submit(XSchema(), …), XSchema().load, schema = XSchema()
        loaded = re.findall(r"submit\((\w+Schema)\(|(\w+Schema)\(\)\.load|schema = (\w+Schema)\(\)", source)
        forms += [getattr(module, name) for name in sorted({n for match in loaded for n in match if n})]
    assert forms, "the console's form schemas were not found"
    roots += forms
    seen: set = set()
    for root in roots:
        yield from _schemas_of(root, seen)


def integer_fields(schema):
    for name, field in schema.fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if not field.dump_only and isinstance(inner, fields.Integer):
            yield name, field


def test_every_integer_field_is_classified(app):
    unknown = {
        (type(schema).__name__, name)
        for schema in loaded_schemas(app)
        for name, field in integer_fields(schema)
        if not isinstance(field, Ref | Refs) and name not in QUANTITIES
    }
    assert unknown == set(), "make these Ref(kind)/Refs(kind), or add a quantity to QUANTITIES"


def _errors(schema, key, value):
    try:
        schema.load({key: value}, partial=True)
    except ValidationError as exc:
        return exc.messages.get(key)
    return None


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WEBHOOK_ALLOW": "127.0.0.1/32"}  # town A's channel points at loopback


@pytest.fixture
def ids_of_town_a(town_a_objects, two_towns):  # noqa: F811
    department = Department(code="TA-JS", name="甲镇建设办", area_id=two_towns["TA"].id)
    db.session.add(department)
    db.session.commit()
    return {
        "area": town_a_objects["area_id"],
        "user": town_a_objects["user_id"],
        "department": department.id,
        "team": town_a_objects["team_id"],
        "market": town_a_objects["market_id"],
        "upload": town_a_objects["upload_id"],
        "patrol": town_a_objects["patrol_id"],
        "issue": town_a_objects["issue_id"],
        "wage_party": db.session.scalar(select(WageParty.id).order_by(WageParty.id)),
    }


def test_every_ref_refuses_another_scope_like_an_unknown_id(app, make_user, two_towns, ids_of_town_a):
    from gridgov.auth.models import User

    staff_a = db.session.get(User, ids_of_town_a["user"])
    outsider = make_user(roles=[r for r in ROLES if r != "admin"], areas=[two_towns["TB"]])
    checked = set()
    for schema in loaded_schemas(app):
        for name, field in integer_fields(schema):
            if not isinstance(field, Ref | Refs):
                continue
            key = field.data_key or name
            wrap = (lambda i: [i]) if isinstance(field, Refs) else (lambda i: i)
            where = (type(schema).__name__, name)
            with app.test_request_context():
                g.current_user = staff_a
                assert _errors(schema, key, wrap(ids_of_town_a[field.kind])) is None, where
                g.current_user = outsider
                assert _errors(schema, key, wrap(ids_of_town_a[field.kind])) == [OUT_OF_SCOPE], where
                for unknown in UNKNOWN_IDS:
                    assert _errors(schema, key, wrap(unknown)) == [OUT_OF_SCOPE], where
                del g.current_user
                assert _errors(schema, key, wrap(ids_of_town_a[field.kind])) == [OUT_OF_SCOPE], where
            checked.add(where)
    assert len(checked) >= 25


@pytest.fixture
def towns(client, make_user, auth_headers, two_towns):
    staff_a = make_user(roles=["staff"], areas=[two_towns["TA"]])
    worker_b = make_user(roles=["grid_worker", "patrol"], areas=[two_towns["MB"]], display_name="乙")
    return {"staff_a": staff_a, "headers_a": auth_headers(staff_a, "en"), "worker_b": worker_b}


def test_staff_cannot_take_another_towns_worker_and_then_read_his_track(
    client, auth_headers, two_towns, towns
):
    worker_b, headers = towns["worker_b"], towns["headers_a"]
    patrol = client.post(
        "/api/v1/patrols",
        headers=auth_headers(worker_b),
        json={
            "client_uuid": "5b0c8f2e-8d55-4c36-9b7a-1f6f3a0a0001",
            "started_at": "2026-11-20T09:00:00+08:00",
        },
    ).get_json()
    url = f"/api/v1/areas/{two_towns['MA'].id}/workers"
    theirs = client.put(url, headers=headers, json={"user_ids": [worker_b.id]})
    nobody = client.put(url, headers=headers, json={"user_ids": [UNKNOWN_IDS[0]]})
    assert theirs.status_code == 422 and theirs.get_json()["errors"] == {"json": {"user_ids": [OUT_OF_SCOPE]}}
    assert theirs.get_json() == nobody.get_json()  # one message: ids cannot be probed
    assert client.get(url, headers=headers).get_json() == []
    assert client.get(f"/api/v1/patrols/{patrol['id']}/track", headers=headers).status_code == 404


def test_dispatch_refuses_an_assignee_of_another_town(client, auth_headers, two_towns, towns):
    from gridgov.issues.catalogue import seed_catalogue

    seed_catalogue()
    headers = towns["headers_a"]
    issue = client.post(
        "/api/v1/issues",
        headers=headers,
        json={
            "client_uuid": "5b0c8f2e-8d55-4c36-9b7a-1f6f3a0a0002",
            "category": "INFRA-LIGHT",
            "description": "路灯不亮",
            "location": {"type": "Point", "coordinates": [113.001, 33.001]},
        },
    ).get_json()
    response = client.post(
        f"/api/v1/issues/{issue['id']}/actions",
        headers=headers,
        json={"action": "dispatch", "assignee_id": towns["worker_b"].id},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"json": {"assignee_id": [OUT_OF_SCOPE]}}
    db.session.expire_all()
    assert db.session.get(Issue, issue["id"]).status == "reported"


def test_team_members_come_from_the_callers_areas_and_rosters_can_be_edited(
    client, make_user, two_towns, towns
):
    headers = towns["headers_a"]
    a1, a2 = (make_user(roles=["patrol"], areas=[two_towns["CA"]]) for _ in range(2))
    refused = client.post(
        "/api/v1/patrol-teams",
        headers=headers,
        json={"name": "一队", "area_id": two_towns["TA"].id, "member_ids": [a1.id, towns["worker_b"].id]},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"json": {"member_ids": [OUT_OF_SCOPE]}}
    assert db.session.scalar(select(PatrolTeam.id)) is None
    team = client.post(
        "/api/v1/patrol-teams",
        headers=headers,
        json={"name": "一队", "area_id": two_towns["TA"].id, "member_ids": [a1.id]},
    ).get_json()
    edited = client.patch(
        f"/api/v1/patrol-teams/{team['id']}", headers=headers, json={"member_ids": [a1.id, a2.id]}
    )
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["member_ids"] == sorted([a1.id, a2.id])
    again = client.patch(f"/api/v1/patrol-teams/{team['id']}", headers=headers, json={"member_ids": [a2.id]})
    assert again.status_code == 200 and again.get_json()["member_ids"] == [a2.id]


def test_a_clash_with_another_towns_market_does_not_show_its_roster(client, make_user, two_towns, towns):
    staff_a, headers = towns["staff_a"], towns["headers_a"]
    staff_b = make_user(roles=["staff"], areas=[two_towns["TB"]])
    both = make_user(roles=["patrol"], areas=[two_towns["CA"], two_towns["CB"]], display_name="两镇兼职")
    market = {
        "rule": "每周三",
        "missing_day": "skip",
        "start_time": time(7),
        "end_time": time(12),
        "zones": None,
    }
    market_a = create_market(staff_a, {**market, "name": "甲镇集", "area_id": two_towns["CA"].id})
    market_b = create_market(staff_b, {**market, "name": "乙镇秘密集", "area_id": two_towns["CB"].id})
    team_b = create_team(
        staff_b, {"name": "乙镇暗队", "area_id": two_towns["TB"].id, "member_ids": [both.id]}
    )
    day = date(2030, 1, 2)  # a Wednesday
    assign(staff_b, market_b.id, {"team_ids": [team_b.id], "date": day})
    team_a = create_team(staff_a, {"name": "甲队", "area_id": two_towns["TA"].id, "member_ids": [both.id]})
    response = client.post(
        f"/api/v1/markets/{market_a.id}/assignments",
        headers=headers,
        json={"team_ids": [team_a.id], "date": day.isoformat()},
    )
    assert response.status_code == 409
    message = response.get_json()["message"]
    assert "outside your areas" in message and "乙镇秘密集" not in message and "乙镇暗队" not in message


def test_a_query_filter_on_another_towns_area_is_refused(client, two_towns, towns):
    response = client.get(f"/api/v1/issues?area={two_towns['MB'].id}", headers=towns["headers_a"])
    assert response.status_code == 422 and response.get_json()["errors"] == {
        "query": {"area": [OUT_OF_SCOPE]}
    }


def test_the_console_offers_only_departments_the_caller_may_dispatch_to(app, two_towns, towns):
    from gridgov.issues.catalogue import list_departments, seed_catalogue

    seed_catalogue()
    theirs = Department(code="TB-JS", name="乙镇建设办", area_id=two_towns["TB"].id)
    district = Department(code="D-SW", name="区水务局", area_id=two_towns["D"].id)
    db.session.add_all([theirs, district])
    db.session.commit()
    offered = {d.code for d in list_departments(towns["staff_a"])}
    assert "TB-JS" not in offered and {"CG", "D-SW"} <= offered
    assert "TB-JS" in {d.code for d in list_departments()}
