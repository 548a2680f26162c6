"""Lists cost a fixed number of queries, whatever the page holds; per-request memos stay per request."""

import contextlib
import io
import json
import uuid
import warnings
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select, update
from sqlalchemy.exc import SAWarning

from gridgov.areas.models import Area
from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.issues.models import Category, Department, DepartmentMember
from gridgov.issues.queries import issues_query
from gridgov.issues.stats import GROUPS
from gridgov.markets.rosters import assign, create_team
from gridgov.notifications.outbox import Draft, enqueue
from gridgov.patrols.models import Patrol, PatrolGrid
from gridgov.timeutil import local_today, utcnow
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
def town(app, area_tree, make_user, auth_headers):
    """Towns A and B, eight micro-grids in each one's grid; a worker in each town."""
    seed_catalogue()
    seed_from_library()
    areas = area_tree(micro_grids=8)
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


def test_a_page_with_its_total_is_three_statements_for_an_area_and_department_member(
    client, town, make_user, auth_headers
):
    """The principal brings the caller's departments; the rows bring their categories and
    micro-grids; the total's two parts (the area counts, the issues beyond them) are one statement."""
    ids = spread(client, town["a"], 6)
    member = make_user(roles=["grid_worker"], areas=[town["areas"]["GA"]])
    for code in ("CG", "SW"):
        department = db.session.scalar(select(Department.id).where(Department.code == code))
        db.session.add(DepartmentMember(department_id=department, user_id=member.id))
    db.session.commit()
    headers = auth_headers(member)
    with counted_queries() as statements:
        response = client.get("/api/v1/issues?page_size=4", headers=headers)
    assert response.status_code == 200
    assert len(statements) == 3, statements
    assert json.loads(response.headers["X-Pagination"])["total"] == 6
    page = response.get_json()
    assert [issue["id"] for issue in page] == sorted(ids, reverse=True)[:4]
    for issue in page:  # what the list read with its rows is what the issue's own page reads apart
        alone = client.get(f"/api/v1/issues/{issue['id']}", headers=headers).get_json()
        assert (issue["category"], issue["micro_grid"]) == (alone["category"], alone["micro_grid"])
        assert issue["micro_grid"]["code"].startswith("MA") and issue["micro_grid"]["level"] == "micro_grid"


def test_a_listed_issue_reloaded_after_expiry_keeps_its_own_briefs(client, town):
    """A list's issues expired in the same session (a rollback, a refresh) reload with the list's
    options: each one's category and micro-grid must still be its own, read without a cross join."""
    spread(client, town["a"], 6)
    db.session.expunge_all()
    issues = list(db.session.scalars(issues_query(town["worker_a"], {"format": "json"})))
    db.session.expire_all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)  # "cartesian product" is one
        for issue in issues:
            assert issue.status  # reloads the row
    for issue in issues:
        category = db.session.get(Category, issue.category_id)
        area = db.session.get(Area, issue.area_id)
        assert (issue.listed_category_code, issue.listed_area_id) == (category.code, area.id)
        assert (issue.listed_area_code, issue.listed_area_name) == (area.code, area.name)


def test_a_report_answers_with_its_briefs_and_audits_only_its_stored_columns(
    client, town, make_user, auth_headers
):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": "ROAD-DAMAGE",
        "description": "坑洼",
        "location": {"type": "Point", "coordinates": [113.015, 33.015]},
    }
    with counted_queries() as statements:
        answer = client.post("/api/v1/issues", json=body, headers=town["a"]).get_json()
    # the answer shows the category and micro-grid the report was placed by, not read back apart
    assert not any("FROM issue_categories" in s and "IN (" in s for s in statements), statements
    assert not any("areas.code" in s and "WHERE areas.id IN (" in s for s in statements), statements
    issue_id = answer["id"]
    alone = client.get(f"/api/v1/issues/{issue_id}", headers=town["a"]).get_json()
    assert (answer["category"], answer["micro_grid"]) == (alone["category"], alone["micro_grid"])
    assert answer["category"] == "ROAD-DAMAGE" and answer["micro_grid"]["code"] == "MA5"
    admin = auth_headers(make_user(roles=["admin"]))
    entries = client.get(f"/api/v1/audit?object_type=issues&object_id={issue_id}", headers=admin).get_json()
    assert [e["action"] for e in entries] == ["create"]
    assert set(entries[0]["changes"]) <= {c.name for c in db.metadata.tables["issues"].columns}
    assert entries[0]["changes"]["category_id"] and not any(k.startswith("listed_") for k in entries[0]["changes"])


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


# Every list and export of the API costs the same number of queries for 3 rows as for 30.

FEW, MANY = 3, 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def measured(client, headers, url):
    """The queries of one GET after a first one (process caches filled, as in a running server)."""
    client.get(url, headers=headers)
    with counted_queries() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    return len(statements), response


def rows(response) -> int:
    """How many rows an answer holds: sheet rows, features, list items, or a report's table rows."""
    if response.mimetype == XLSX:
        return load_workbook(io.BytesIO(response.data)).active.max_row - 1
    if response.mimetype.endswith("xml"):
        return response.get_data(as_text=True).count("<request>")
    body = response.get_json()
    if isinstance(body, dict) and "features" in body:
        return len(body["features"])
    if isinstance(body, dict):
        found = [v for v in body.values() if isinstance(v, list)]
        return sum(len(v) for v in found) if found else len(body.get("service_requests", []))
    return len(body)


def assert_flat(client, grow, lists: dict, fixed: dict | None = None):
    """Grow the world from FEW to MANY rows; each URL's queries stay the same.

    `lists` ({url: headers}) must show more rows with MANY; `fixed` ones (figures) need only cost
    the same."""
    every = {**lists, **(fixed or {})}
    grow(FEW)
    before = {url: measured(client, headers, url) for url, headers in every.items()}
    grow(MANY - FEW)
    for url, headers in every.items():
        cost, response = measured(client, headers, url)
        assert cost == before[url][0], f"{url}: {before[url][0]} queries for {FEW} rows, {cost} for {MANY}"
        if url in lists:
            assert rows(response) > rows(before[url][1]), url


def test_issue_lists_exports_and_figures_stay_flat(client, area_tree, make_user, make_issue, auth_headers):
    areas = area_tree(micro_grids=8)
    staff = auth_headers(make_user(roles=["staff"], areas=[areas["TA"]]))
    leader = auth_headers(make_user(roles=["leader"], areas=[areas["D"]]))
    db.session.execute(update(Category).values(public=True))
    db.session.commit()
    made = []

    def grow(count):
        for _ in range(count):
            n = len(made)
            worker = make_user(roles=["grid_worker"], areas=[areas["GA"]])
            made.append(make_issue(areas[f"MA{n % 8}"], category=CATEGORIES[n % 3], reporter=worker))

    today = local_today().isoformat()
    period = f"from={today}&to={today}"
    assert_flat(
        client,
        grow,
        lists={
            "/api/v1/issues?page_size=100": staff,
            "/api/v1/issues?format=geojson": staff,
            "/api/v1/issues?format=xlsx": staff,
            "/open311/v2/requests.json": {},
            "/open311/v2/requests.xml": {},
        },
        fixed={
            **{f"/api/v1/stats/issues?{period}&group_by={group}": leader for group in GROUPS},
            **{f"/api/v1/stats/issues?{period}&group_by={group}&format=xlsx": leader for group in GROUPS},
            "/api/v1/departments": staff,
            "/api/v1/categories": staff,
            "/open311/v2/services.json": {},
        },
    )


def test_patrol_list_and_daily_report_stay_flat(client, area_tree, make_user, auth_headers):
    areas = area_tree(micro_grids=8)
    worker = make_user(roles=["grid_worker"], areas=[areas["GA"]])
    staff = auth_headers(make_user(roles=["staff"], areas=[areas["TA"]]))
    today = local_today()

    def grow(count):
        for k in range(count):  # each patrol through two micro-grids
            patrol = Patrol(
                client_uuid=str(uuid.uuid4()),
                worker_id=worker.id,
                started_at=utcnow(),
                local_date=today,
                status="finished",
            )
            db.session.add(patrol)
            db.session.flush()
            for m in (k % 8, (k + 1) % 8):
                db.session.add(
                    PatrolGrid(
                        patrol_id=patrol.id, area_id=areas[f"MA{m}"].id, seconds_inside=900.0, counted=True
                    )
                )
        db.session.commit()

    report = f"/api/v1/reports/daily?area={areas['TA'].id}&date={today.isoformat()}"
    assert_flat(
        client,
        grow,
        lists={
            "/api/v1/patrols?page_size=100": auth_headers(worker),
            f"/api/v1/patrols?page_size=100&date={today.isoformat()}": staff,
        },
        fixed={report: staff, f"{report}&format=xlsx": staff},
    )


def test_daily_report_stays_flat_as_the_town_grows(client, area_tree, make_areas, make_user, auth_headers):
    areas = area_tree()
    staff = auth_headers(make_user(roles=["staff"], areas=[areas["TA"]]))
    added = []

    def grow(count):  # micro-grids of 0.004° in rows of ten inside grid GA, each with its own worker
        specs = []
        for _ in range(count):
            k = len(added) + len(specs)
            corner = (113.0 + 0.004 * (k % 10), 33.006 + 0.004 * (k // 10))
            specs.append((f"X{k}", "micro_grid", "GA", square(*corner, 0.004)))
        made = make_areas(*specs)
        for code, *_ in specs:
            added.append(made[code])
            make_user(roles=["grid_worker"], areas=[made[code]])

    report = f"/api/v1/reports/daily?area={areas['TA'].id}&date={local_today().isoformat()}"
    assert_flat(client, grow, lists={report: staff, f"{report}&format=xlsx": staff})


def test_market_lists_and_calendars_stay_flat(client, area_tree, make_user, make_market, auth_headers):
    areas = area_tree()
    staff_user = make_user(roles=["staff"], areas=[areas["TA"]])
    staff = auth_headers(staff_user)
    start = local_today()
    end = start + timedelta(days=30)
    first = make_market(areas["CA"], rule="逢二")
    markets = [first]

    def grow(count):
        for _ in range(count):
            market = make_market(areas["CA"], rule="逢三六九")
            markets.append(market)
            team = create_team(
                staff_user,
                {
                    "name": f"队{market.id}",
                    "area_id": areas["TA"].id,
                    "member_ids": [make_user(roles=["patrol"]).id],
                },
            )
            if len(markets) % 2:  # every other market has a team: the rest are coverage gaps
                assign(
                    staff_user,
                    market.id,
                    {"team_ids": [team.id], "from_": start, "to": end, "mode": "rotation"},
                )

    period = f"from={start.isoformat()}&to={end.isoformat()}"
    assert_flat(
        client,
        grow,
        lists={
            "/api/v1/markets?page_size=100": staff,
            f"/api/v1/market-days?{period}": staff,
            f"/api/v1/market-coverage?{period}": staff,
            "/api/v1/patrol-teams?page_size=100": staff,
        },
        fixed={
            f"/api/v1/markets/{first.id}/occurrences?{period}": staff,
            "/api/v1/market-blackouts": staff,
        },
    )


def test_wage_lists_ledger_and_figures_stay_flat(client, area_tree, make_user, make_wage_case, auth_headers):
    areas = area_tree()
    officers = [
        make_user(roles=["wage_officer"], areas=[areas["TA"]], display_name=f"干部{n}") for n in range(3)
    ]
    headers = auth_headers(officers[0])

    def grow(count):
        for n in range(count):
            case = make_wage_case("TA")
            case.officer_id = officers[n % 3].id
        db.session.commit()

    today = local_today()
    period = f"from={today.isoformat()}&to={today.isoformat()}"
    assert_flat(
        client,
        grow,
        lists={
            "/api/v1/wage-cases?page_size=100": headers,
            f"/api/v1/wage-cases/ledger?{period}": headers,
            f"/api/v1/wage-cases/ledger?{period}&format=xlsx": headers,
        },
        fixed={
            f"/api/v1/wage-cases/figures?{period}": headers,
            f"/api/v1/wage-cases/figures?{period}&format=xlsx": headers,
            f"/api/v1/wage-cases/spot-checks?month={today.strftime('%Y-%m')}": headers,
        },
    )


def test_inbox_and_admin_lists_stay_flat(client, area_tree, make_areas, make_user, auth_headers):
    areas = area_tree()
    admin = auth_headers(make_user(roles=["admin"]))
    reader = make_user(roles=["staff"], areas=[areas["TA"]])
    added = []

    def grow(count):
        specs = []
        for _ in range(count):
            k = len(added) + len(specs)
            specs.append(
                (
                    f"Y{k}",
                    "micro_grid",
                    "GA",
                    square(113.0 + 0.001 * (k % 10), 33.01 + 0.001 * (k // 10), 0.001),
                )
            )
        made = make_areas(*specs)
        drafts = []
        for code, *_ in specs:
            added.append(made[code])
            make_user(roles=["grid_worker"], areas=[areas["GA"]])
            drafts.append(
                Draft("test", code, utcnow(), reader.id, f"通知 {code}", "正文", area_id=made[code].id)
            )
        enqueue(drafts)
        db.session.commit()

    assert_flat(
        client,
        grow,
        lists={
            "/api/v1/areas?page_size=100": admin,
            "/api/v1/areas?format=geojson": admin,
            f"/api/v1/areas/{areas['GA'].id}/workers": admin,
            "/api/v1/users?page_size=100": admin,
            "/api/v1/me/notifications?page_size=100": auth_headers(reader),
        },
        fixed={"/api/v1/me/notifications/unread-count": auth_headers(reader)},
    )
    # The audit log is longer than a page by now: a full page of 2 costs what a full page of 100 does.
    assert (
        measured(client, admin, "/api/v1/audit?page_size=2")[0]
        == measured(client, admin, "/api/v1/audit?page_size=100")[0]
    )
