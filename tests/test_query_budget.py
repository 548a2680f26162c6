"""Lists cost a fixed number of queries, whatever the page holds; per-request memos stay per request."""

import contextlib
import json
import uuid

import pytest
from sqlalchemy import event

from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.workcal.services import seed_from_library
from tests.conftest import square

CATEGORIES = ("INFRA-LIGHT", "ENV-RUBBISH", "ROAD-DAMAGE")


@contextlib.contextmanager
def counted_queries():
    """Statements sent while the block runs, starting from an empty session as a server request does."""
    db.session.expunge_all()  # the test client shares the test's session: no identity-map hits from setup
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def town(app, make_areas, make_user, auth_headers):
    """Town A with eight micro-grids in one grid, and town B beside it; a worker in each town."""
    seed_catalogue()
    seed_from_library()
    specs = [
        ("D", "district", None, square(113.0, 33.0, 0.2)),
        ("TA", "town", "D", square(113.0, 33.0, 0.1)),
        ("TB", "town", "D", square(113.1, 33.0, 0.1)),
        ("CA", "community", "TA", square(113.0, 33.0, 0.05)),
        ("CB", "community", "TB", square(113.1, 33.0, 0.05)),
        ("GA", "grid", "CA", square(113.0, 33.0, 0.04)),
        ("GB", "grid", "CB", square(113.1, 33.0, 0.04)),
        ("MB", "micro_grid", "GB", square(113.1, 33.0, 0.01)),
    ]
    specs += [(f"MA{n}", "micro_grid", "GA", square(113.0 + 0.01 * n, 33.0, 0.01)) for n in range(4)]
    specs += [(f"MA{n + 4}", "micro_grid", "GA", square(113.0 + 0.01 * n, 33.01, 0.01)) for n in range(4)]
    areas = make_areas(*specs)
    worker_a = make_user(roles=["grid_worker"], areas=[areas["GA"]])
    worker_b = make_user(roles=["grid_worker"], areas=[areas["GB"]])
    return {"areas": areas, "a": auth_headers(worker_a), "b": auth_headers(worker_b), "worker_a": worker_a}


def submit(client, headers, n: int, lon: float, lat: float) -> int:
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": CATEGORIES[n % len(CATEGORIES)],
        "description": f"report {n}",
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }
    response = client.post("/api/v1/issues", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def spread(client, headers, count: int) -> list[int]:
    """`count` issues, one in each micro-grid of town A in turn, three categories."""
    return [
        submit(client, headers, n, 113.005 + 0.01 * (n % 4), 33.005 + 0.01 * ((n // 4) % 2))
        for n in range(count)
    ]


def test_issue_list_queries_do_not_grow_with_the_page(client, town):
    spread(client, town["a"], 16)
    costs = {}
    for size in (2, 16):
        with counted_queries() as statements:
            response = client.get(f"/api/v1/issues?page_size={size}", headers=town["a"])
        assert response.status_code == 200 and len(response.get_json()) == size
        costs[size] = len(statements)
    # Sixteen issues in eight micro-grids and three categories cost what two issues cost.
    assert costs[16] == costs[2], costs
    page = client.get("/api/v1/issues?page_size=16", headers=town["a"]).get_json()
    assert {issue["micro_grid"]["code"] for issue in page} == {f"MA{n}" for n in range(8)}
    assert {issue["category"] for issue in page} == set(CATEGORIES)


def test_issue_geojson_queries_do_not_grow_with_the_issues(client, town):
    spread(client, town["a"], 3)
    with counted_queries() as few:
        client.get("/api/v1/issues?format=geojson", headers=town["a"])
    spread(client, town["a"], 13)
    with counted_queries() as many:
        body = client.get("/api/v1/issues?format=geojson", headers=town["a"]).get_json()
    assert len(body["features"]) == 16
    assert len(many) == len(few)
    feature = body["features"][0]
    assert feature["properties"]["micro_grid"]["code"].startswith("MA")


def test_pagination_totals_on_every_page(client, town):
    spread(client, town["a"], 5)

    def page(query, headers=town["a"]):
        response = client.get(f"/api/v1/issues?{query}", headers=headers)
        assert response.status_code == 200
        return response.get_json(), json.loads(response.headers["X-Pagination"])

    items, meta = page("page_size=2")
    assert len(items) == 2 and meta["total"] == 5 and meta["total_pages"] == 3
    items, meta = page("page=3&page_size=2")
    assert len(items) == 1 and meta["total"] == 5
    items, meta = page("page=9&page_size=2")  # past the end: nothing, and the total still true
    assert items == [] and meta["total"] == 5
    items, meta = page("page_size=2", headers=town["b"])  # nothing in town B
    assert items == [] and meta["total"] == 0
    items, meta = page("page_size=2&category=ENV-RUBBISH")
    assert meta["total"] == 2 and {i["category"] for i in items} == {"ENV-RUBBISH"}


def test_scope_is_read_afresh_on_each_request(client, town, make_user, auth_headers):
    """The test client shares one app context across requests, as a CLI can: a memo there would leak."""
    ids = spread(client, town["a"], 2)
    staff = make_user(roles=["staff"], areas=[town["areas"]["TB"]])
    headers = auth_headers(staff)
    assert client.get("/api/v1/issues", headers=headers).get_json() == []
    admin = auth_headers(make_user(roles=["admin"]))
    moved = client.patch(
        f"/api/v1/users/{staff.id}", json={"area_ids": [town["areas"]["TA"].id]}, headers=admin
    )
    assert moved.status_code == 200
    assert sorted(i["id"] for i in client.get("/api/v1/issues", headers=headers).get_json()) == sorted(ids)
    moved = client.patch(
        f"/api/v1/users/{staff.id}", json={"area_ids": [town["areas"]["TB"].id]}, headers=admin
    )
    assert moved.status_code == 200
    assert client.get("/api/v1/issues", headers=headers).get_json() == []
    assert client.get(f"/api/v1/issues/{ids[0]}", headers=headers).status_code == 404
