"""Province bench for the figures and the issue lists: the daily summary, keyset pages and counts.

Against a database the generator stage filled (`bench/province/issues.py`), prints, with targets:
figures for a town month and the province year (the stats service and its HTTP answer), the first
page of the issue list, a keyset page 1000 pages in, the list's count, and the EXPLAIN of the list
queries. Run from the repository root:

    python bench/province_figures.py postgresql://postgres@127.0.0.1:5432/gg_fig_bench
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date

from common import table  # bench/common.py (puts the repository on the path)


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    """Median wall seconds of `repeat` calls after one warm-up, and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main(url: str) -> None:
    from flask import g
    from sqlalchemy import func, select, text

    from gridgov import create_app
    from gridgov.areas.models import Area
    from gridgov.auth.models import User
    from gridgov.auth.security import issue_access_token
    from gridgov.extensions import db
    from gridgov.issues import queries, stats
    from gridgov.issues.models import Issue

    app = create_app({"GRIDGOV_DATABASE_URL": url})
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        town = db.session.scalar(select(Area).where(Area.level == "town").order_by(Area.id))
        issues = db.session.scalar(select(func.count()).select_from(Issue))
        busiest = db.session.execute(
            text(
                "SELECT date_trunc('month', deadline)::date FROM issues GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar()
        year = busiest.year
        token, _ = issue_access_token(admin)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    month = {
        "from": busiest.isoformat(),
        "to": date(year, busiest.month % 12 + 1, 1).isoformat() if busiest.month < 12 else f"{year}-12-31",
    }
    rows = []

    def service(query):
        with app.test_request_context():
            g.current_user = admin
            return stats.issue_figures(admin, query)

    def http(path, **params):
        response = client.get(path, query_string=params, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response

    town_month = {
        "from_": date.fromisoformat(month["from"]),
        "to": date.fromisoformat(month["to"]),
        "area": town.id,
        "group_by": "grid",
    }
    province_year = {"from_": date(year, 1, 1), "to": date(year, 12, 31), "group_by": "category"}

    def floor():
        """The floor of the same run: one row by primary key in a request context, as the service runs."""
        with app.test_request_context():
            return db.session.scalar(select(User.id).where(User.id == admin.id))

    seconds, _ = timed(floor, repeat=21)
    rows.append(["floor: one row by primary key", f"{seconds * 1000:.2f} ms", "—", "", "same session"])
    for label, query in (
        ("figures town month (service)", town_month),
        ("figures province year (service)", province_year),
    ):
        seconds, result = timed(lambda q=query: service(q))
        rows.append(
            [
                label,
                f"{seconds * 1000:.0f} ms",
                "≤ 500 ms",
                "met" if seconds <= 0.5 else "unmet",
                f"due {sum(r['due'] for r in result):,}",
            ]
        )
    for label, params in (
        ("figures town month (HTTP)", {**month, "area": town.id, "group_by": "grid"}),
        (
            "figures province year (HTTP)",
            {"from": f"{year}-01-01", "to": f"{year}-12-31", "group_by": "category"},
        ),
    ):
        seconds, _ = timed(lambda p=params: http("/api/v1/stats/issues", **p))
        rows.append([label, f"{seconds * 1000:.0f} ms", "≤ 500 ms", "met" if seconds <= 0.5 else "unmet", ""])
    seconds, response = timed(lambda: http("/api/v1/issues", page_size=20))
    first_meta = response.headers["X-Pagination"]
    rows.append(
        [
            "list first page (HTTP, with total)",
            f"{seconds * 1000:.1f} ms",
            "≤ 50 ms",
            "met" if seconds <= 0.05 else "unmet",
            first_meta[:40],
        ]
    )
    with app.app_context():
        cursor = db.session.scalar(select(Issue.id).order_by(Issue.id.desc()).offset(20 * 1000).limit(1))
    seconds, _ = timed(lambda: http("/api/v1/issues", page_size=20, after=cursor))
    rows.append(
        [
            "keyset page 1000 (HTTP)",
            f"{seconds * 1000:.1f} ms",
            "≤ 50 ms",
            "met" if seconds <= 0.05 else "unmet",
            f"after={cursor}",
        ]
    )
    seconds, _ = timed(lambda: http("/api/v1/issues", page_size=20, page=1000))
    rows.append(["offset page 1000 (HTTP, for comparison)", f"{seconds * 1000:.1f} ms", "—", "", ""])
    with app.test_request_context():
        g.current_user = admin
        for label, filters in (
            ("count, all (counts table)", {}),
            ("count, status=closed & a town", {"status": ["closed"], "area": town.id}),
        ):
            seconds, total = timed(lambda f=filters: queries.issues_count(admin, f))
            rows.append(
                [
                    label,
                    f"{seconds * 1000:.2f} ms",
                    "≤ 50 ms",
                    "met" if seconds <= 0.05 else "unmet",
                    f"{total:,}",
                ]
            )
        seconds, total = timed(lambda: db.session.scalar(select(func.count()).select_from(Issue)), repeat=2)
        rows.append(
            ["count(*) over issues (for comparison)", f"{seconds * 1000:.0f} ms", "—", "", f"{total:,}"]
        )
        plans = {}
        for label, filters in (
            ("first page", {}),
            ("keyset page", {"after": cursor}),
            ("town, closed", {"area": town.id, "status": ["closed"]}),
        ):
            statement = queries.issues_query(admin, filters).limit(20)
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            plans[label] = [
                r[0] for r in db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS OFF) {compiled}"))
            ]
    rows.append(["patrol points ingest / partition drop", "bench/patrol_points.py", "≥ 20,000/s", "", ""])
    print(f"{issues:,} issues; busiest month {busiest:%Y-%m}")
    print(table(["measure", "value", "target", "", "note"], rows))
    for label, plan in plans.items():
        print(f"\nEXPLAIN ANALYZE list query, {label}:")
        print("\n".join("  " + line for line in plan))


if __name__ == "__main__":
    main(sys.argv[1])
