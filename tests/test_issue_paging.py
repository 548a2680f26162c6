"""Issue lists at scale: keyset pages (`after` / `next_after`) and totals from the per-area counts."""
# ruff: noqa: F811 - `town` is test_query_budget's fixture, taken as a parameter

import json

import flask_smorest
import pytest
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.issues.counts import IssueCount, recount
from gridgov.issues.models import Issue
from gridgov.pagination import Blueprint
from tests.test_query_budget import counted_queries, spread, town  # noqa: F401 - fixture


def listing(client, headers, query):
    response = client.get(f"/api/v1/issues?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [i["id"] for i in response.get_json()], json.loads(response.headers["X-Pagination"])


def test_keyset_pages_walk_the_whole_list_in_order(client, town):
    spread(client, town["a"], 11)
    everything, meta = listing(client, town["a"], "page_size=100")
    assert meta["total"] == 11 and "next_after" not in meta  # one page holds them all
    first, meta = listing(client, town["a"], "page_size=4")
    assert meta["total"] == 11 and meta["next_after"] == first[-1]
    walked, costs = list(first), []
    while "next_after" in meta:
        with counted_queries() as statements:
            page, meta = listing(client, town["a"], f"page_size=4&after={meta['next_after']}")
        costs.append(len(statements))
        assert meta["page_size"] == 4 and "total" not in meta  # a keyset page is not counted
        walked += page
    assert walked == everything and len(page) == 3
    assert len(set(costs)) == 1, costs  # every keyset page costs the same queries
    assert listing(client, town["a"], "page_size=4&after=1")[0] == []
    assert listing(client, town["b"], f"page_size=4&after={everything[0] + 1}")[0] == []  # scope holds


@pytest.mark.parametrize("after", ["0", "2147483648", "x"])
def test_a_bad_cursor_is_422(client, town, after):
    response = client.get(f"/api/v1/issues?after={after}", headers=town["a"])
    assert response.status_code == 422 and "after" in json.dumps(response.get_json()["errors"])


def test_totals_come_from_the_counts_and_stay_true(client, town, make_user, auth_headers):
    spread(client, town["a"], 9)
    admin = auth_headers(make_user(roles=["admin"]))
    leader = auth_headers(make_user(roles=["leader"], areas=[town["areas"]["D"]]))
    ma0 = town["areas"]["MA0"].id
    cases = [
        (town["a"], "page_size=2", 9),
        (admin, "page_size=2", 9),
        (leader, "page_size=2&category=ENV-RUBBISH", 3),
        (leader, f"page_size=1&area={ma0}", 2),
        (town["b"], "page_size=1", 0),
        (admin, "page_size=2&status=reported&status=closed", 9),
        (admin, "page_size=2&status=closed", 0),
    ]
    for headers, query, total in cases:
        assert listing(client, headers, query)[1]["total"] == total, query
    assert recount(db.session.connection()) == {
        (r.area_id, r.status, r.category_id): {"n": r.n}
        for r in db.session.scalars(select(IssueCount))
        if r.n
    }
    # the total is the counts' (tampered here), not a count of the issues
    db.session.execute(IssueCount.__table__.update().values(n=IssueCount.n + 1))
    db.session.commit()
    assert listing(client, admin, "page_size=2")[1]["total"] == 9 + db.session.scalar(
        select(func.count()).select_from(IssueCount).where(IssueCount.area_id == 0)
    )
    # a filter the counts cannot answer is counted from the rows
    assert listing(client, admin, "page_size=2&overdue=false")[1]["total"] == db.session.scalar(
        select(func.count()).select_from(Issue)
    )


def test_the_pagination_header_says_what_flask_smorest_says():
    """X-Pagination without smorest's per-request schema: its fields for every page of every size."""
    for item_count in (0, 1, 2, 19, 20, 21, 100, 101):
        for page_size in (1, 2, 20, 100):
            for page in (1, 2, 3, 6, 101, 200):
                ours = Blueprint._make_pagination_metadata(page, page_size, item_count)
                theirs = flask_smorest.Blueprint._make_pagination_metadata(page, page_size, item_count)
                assert json.dumps(ours) == json.dumps(theirs), (page, page_size, item_count)
