"""Areas through the API: import, export, CRUD in scope, workers, coverage."""

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from gridgov.areas.models import Area
from gridgov.extensions import db
from tests.conftest import square, tree_specs

DEMO = json.loads((Path(__file__).parents[1] / "seeds" / "demo_zone.geojson").read_text(encoding="utf-8"))


def feature(code, level, parent, geometry, name=None):
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"code": code, "name": name or code, "level": level, "parent_code": parent},
    }


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture
def admin_headers(make_user, auth_headers):
    return auth_headers(make_user(roles=["admin"]))


def area_count():
    return db.session.scalar(select(func.count(Area.id)))


def test_an_import_gives_the_planner_the_areas_statistics(client, admin_headers):
    """47 areas never reach autovacuum's threshold: the import analyzes them itself."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    assert client.post("/api/v1/areas/import", json=DEMO, headers=admin_headers).status_code == 200
    # TRUNCATE between tests leaves reltuples at -1, "never analyzed"; ANALYZE counts the rows
    counted = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'areas'::regclass"))
    assert counted == len(DEMO["features"])


def test_a_scope_filter_reads_the_areas_through_an_index(client, admin_headers, make_user):
    """Scope is a prefix LIKE on the path; PostgreSQL takes a btree for it only under the "C"
    collation or with text_pattern_ops, so at a province's million areas every scoped query read
    them all (760 ms). With sequential scans priced out, the plan must find an index: for a scope
    filter and for `/me`'s area ids, as they are sent (bound parameters, the LIKE's escape)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner")
    from gridgov.areas.scope import _ids_under, _like_prefix, area_in_scope

    assert client.post("/api/v1/areas/import", json=DEMO, headers=admin_headers).status_code == 200
    town = db.session.scalar(select(Area).where(Area.level == "town"))
    user = make_user(roles=["grid_worker"], areas=[town])
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    scoped = select(Area.id).where(area_in_scope(user)).compile(connection)
    own_ids = _ids_under(1).compile(connection)
    for compiled, params in ((scoped, scoped.params), (own_ids, {"p0": _like_prefix(town.path)})):
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}", params))
        assert "Seq Scan" not in plan, plan
        assert "ix_areas_path" in plan, plan


def test_demo_zone_imports_and_round_trips(client, admin_headers):
    shuffled = copy.deepcopy(DEMO)
    shuffled["features"].reverse()  # children before parents: still resolved
    response = client.post("/api/v1/areas/import", json=shuffled, headers=admin_headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 47
    exported = client.get("/api/v1/areas?format=geojson", headers=admin_headers)
    assert exported.headers["Content-Type"].startswith("application/geo+json")
    exported = exported.get_json()
    assert {f["properties"]["code"]: f["geometry"] for f in exported["features"]} == {
        f["properties"]["code"]: f["geometry"] for f in DEMO["features"]
    }
    again = client.post("/api/v1/areas/import", json=exported, headers=admin_headers)
    assert again.get_json() == {"created": 0, "updated": 47, "codes": again.get_json()["codes"]}
    assert area_count() == 47
    micro = client.get("/api/v1/areas?format=geojson&level=micro_grid", headers=admin_headers).get_json()
    assert len(micro["features"]) == 32
    props = micro["features"][0]["properties"]
    assert set(props) == {"id", "code", "name", "level", "parent_code"} and props["parent_code"]


def test_bad_import_stores_nothing_and_names_each_bad_feature(client, admin_headers):
    good = [
        feature("D", "district", None, square(113.0, 33.0, 0.2)),
        feature("T1", "town", "D", square(113.0, 33.0, 0.1)),
    ]
    bad = [
        feature("T2", "town", "NOPE", square(113.1, 33.0, 0.1)),
        feature("T3", "town", "D", {"type": "Point", "coordinates": [113.1, 33.0]}),
        feature(
            "T4",
            "town",
            "D",
            {
                "type": "Polygon",
                "coordinates": [
                    [  # overlaps T1, sticks out of D
                        [113.05, 33.05],
                        [113.25, 33.05],
                        [113.25, 33.1],
                        [113.05, 33.1],
                        [113.05, 33.05],
                    ]
                ],
            },
        ),
    ]
    response = client.post(
        "/api/v1/areas/import",
        json=collection(*good, *bad),
        headers={**admin_headers, "Accept-Language": "en"},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]["features"]
    assert set(errors) == {"1", "2", "3", "4"}
    assert errors["1"]["messages"][0].startswith("Overlaps its sibling T4 by 25,")
    assert errors["2"]["code"] == "T2" and "NOPE" in errors["2"]["messages"][0]
    assert errors["3"]["code"] == "T3" and "Point" in errors["3"]["messages"][0]
    messages = errors["4"]["messages"]
    assert any("outside its parent D" in m for m in messages)
    assert any("Overlaps its sibling T1" in m for m in messages)
    assert area_count() == 0


def test_wrong_parent_level_and_duplicate_code(client, admin_headers):
    body = collection(
        feature("D", "district", None, square(113.0, 33.0, 0.2)),
        feature("G", "grid", "D", square(113.0, 33.0, 0.02)),
        feature("D", "district", None, square(113.0, 33.0, 0.2)),
    )
    errors = client.post(
        "/api/v1/areas/import", json=body, headers={**admin_headers, "Accept-Language": "en"}
    ).get_json()["errors"]["json"]["features"]
    assert "appears twice" in errors["2"]["messages"][0]
    body["features"].pop()
    errors = client.post(
        "/api/v1/areas/import", json=body, headers={**admin_headers, "Accept-Language": "en"}
    ).get_json()["errors"]["json"]["features"]
    assert "must be a community" in errors["1"]["messages"][0]


def test_overlap_within_tolerance_is_accepted(client, admin_headers):
    # Two micro-grids sharing an edge, the second nudged 1 mm west: about 0.2 m² of overlap.
    body = collection(
        feature("D", "district", None, square(113.0, 33.0, 0.2)),
        feature("T", "town", "D", square(113.0, 33.0, 0.1)),
        feature("C", "community", "T", square(113.0, 33.0, 0.05)),
        feature("G", "grid", "C", square(113.0, 33.0, 0.02)),
        feature("M1", "micro_grid", "G", square(113.0, 33.0, 0.002)),
        feature("M2", "micro_grid", "G", square(113.00199999, 33.0, 0.002)),
    )
    assert client.post("/api/v1/areas/import", json=body, headers=admin_headers).status_code == 200


def test_staff_create_update_delete_in_scope_only(client, make_user, auth_headers, two_towns):
    staff_a = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    new = {
        "code": "MA2",
        "name": "新微网格",
        "level": "micro_grid",
        "parent_id": two_towns["GA"].id,
        "geometry": square(113.005, 33.0, 0.005),
    }
    created = client.post("/api/v1/areas", json=new, headers=staff_a)
    assert created.status_code == 201, created.get_json()
    area_id = created.get_json()["id"]
    other = {**new, "code": "MB2", "parent_id": two_towns["GB"].id, "geometry": square(113.105, 33.0, 0.005)}
    assert client.post("/api/v1/areas", json=other, headers=staff_a).status_code == 422
    renamed = client.patch(f"/api/v1/areas/{area_id}", json={"name": "改名"}, headers=staff_a)
    assert renamed.get_json()["name"] == "改名"
    outside = client.patch(
        f"/api/v1/areas/{area_id}", json={"geometry": square(113.2, 33.2, 0.005)}, headers=staff_a
    )
    assert outside.status_code == 422
    assert client.delete(f"/api/v1/areas/{two_towns['MB'].id}", headers=staff_a).status_code == 404
    assert client.delete(f"/api/v1/areas/{two_towns['GA'].id}", headers=staff_a).status_code == 409
    assert client.delete(f"/api/v1/areas/{area_id}", headers=staff_a).status_code == 204
    assert db.session.get(Area, area_id) is None


def test_grid_worker_cannot_create_areas(client, make_user, auth_headers, two_towns):
    worker = auth_headers(make_user(roles=["grid_worker"], areas=[two_towns["GA"]]))
    new = {
        "code": "X",
        "name": "x",
        "level": "micro_grid",
        "parent_id": two_towns["GA"].id,
        "geometry": square(113.005, 33.0, 0.005),
    }
    assert client.post("/api/v1/areas", json=new, headers=worker).status_code == 403


def test_assign_workers_and_locate_lists_them(client, make_user, auth_headers, two_towns):
    staff_a = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    worker = make_user(
        roles=["grid_worker"], areas=[two_towns["TA"]], display_name="李娜", phone="13800001111"
    )
    not_worker = make_user(roles=["patrol"], areas=[two_towns["TA"]])
    url = f"/api/v1/areas/{two_towns['MA'].id}/workers"
    assert client.put(url, json={"user_ids": [not_worker.id]}, headers=staff_a).status_code == 422
    assigned = client.put(url, json={"user_ids": [worker.id]}, headers=staff_a).get_json()
    assert [w["id"] for w in assigned] == [worker.id] and assigned[0]["phone"] == "138****1111"
    located = client.get("/api/v1/areas/locate?lon=113.001&lat=33.001", headers=staff_a).get_json()
    assert located["area"]["code"] == "MA"
    assert [a["code"] for a in located["path"]] == ["D", "TA", "CA", "GA", "MA"]
    assert [w["display_name"] for w in located["workers"]] == ["李娜"]
    # Staff of the other town may resolve the point but do not see the workers.
    staff_b = auth_headers(make_user(roles=["staff"], areas=[two_towns["TB"]]))
    assert (
        client.get("/api/v1/areas/locate?lon=113.001&lat=33.001", headers=staff_b).get_json()["workers"] == []
    )
    assert client.put(url, json={"user_ids": []}, headers=staff_b).status_code == 404


def test_coverage_reports_gaps_and_overlaps(client, make_areas, make_user, auth_headers):
    make_areas(
        *tree_specs(("",), micro_grids=0, grid_size=0.02),
        ("M1", "micro_grid", "G", square(113.0, 33.0, 0.01)),
        ("M2", "micro_grid", "G", square(113.009, 33.0, 0.01)),
    )
    admin = auth_headers(make_user(roles=["admin"]))
    grid_id = db.session.scalar(select(Area.id).where(Area.code == "G"))
    report = client.get(f"/api/v1/areas/{grid_id}/coverage", headers=admin)
    assert report.headers["Content-Type"].startswith("application/geo+json")
    features = report.get_json()["features"]
    overlaps = [f for f in features if f["properties"]["kind"] == "overlap"]
    gaps = [f for f in features if f["properties"]["kind"] == "gap"]
    assert [o["properties"]["codes"] for o in overlaps] == [["M1", "M2"]]
    assert 90_000 < overlaps[0]["properties"]["area_m2"] < 115_000  # 0.001° × 0.01°
    assert gaps and sum(g["properties"]["area_m2"] for g in gaps) > 2_000_000
