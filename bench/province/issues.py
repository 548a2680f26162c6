"""Generator stage: synthetic grid issues over five years, bulk-loaded with COPY, with the daily
summary, its monthly roll-up and the per-area counts made from the same rows (the figures'
timelines need no events), then VACUUM ANALYZE.

`stage(conn, ctx)` takes a psycopg connection and a dict with `micro_grid_ids`, `category_ids`,
`department_ids`, `worker_ids` and optionally `issues` (default 10,000,000), `start` (a UTC
datetime, default five years before 2026-12-01) and `seed`. Alone, against any migrated database
(say after `flask seed demo`), it reads those ids from the database itself:

    python bench/province/issues.py postgresql://postgres@127.0.0.1:5432/gg_fig_bench 1000000
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gridgov.issues import counts, summary  # noqa: E402 - after the path

YEARS = 5
# what becomes of an issue: (status, weight); the rest of its columns follow from the status
FATES = (
    ("closed", 74),
    ("in_progress", 6),
    ("dispatched", 4),
    ("fixed", 3),
    ("deferred", 3),
    ("reported", 3),
    ("rejected", 4),
    ("merged", 3),
)
COLUMNS = (
    "client_uuid, request_hash, source, reporter_id, category_id, description, lon, lat, area_id, reported_at,"
    " received_at, status, level, department_id, dispatched_at, deadline, deadline_provisional,"
    " deadline_uncertain, closed_at, closed_on_time, was_deferred, rework_count, reopen_count, photos,"
    " fix_photos, updated_at"
)


class _Row:
    """The columns `summary.contribution` reads, for one generated issue."""

    __slots__ = (*summary.SOURCE, "closed_at")

    def __init__(self, **values):
        for name, value in values.items():
            setattr(self, name, value)


def context_from_database(conn) -> dict:
    """The ids a stage needs, read from a migrated, seeded database."""

    def ids(sql: str) -> list[int]:
        return [row[0] for row in conn.execute(sql)]

    return {
        "micro_grid_ids": ids("SELECT id FROM areas WHERE level = 'micro_grid' ORDER BY id"),
        "category_ids": ids("SELECT id FROM issue_categories ORDER BY id"),
        "department_ids": ids("SELECT id FROM departments ORDER BY id"),
        "worker_ids": ids("SELECT user_id FROM user_roles WHERE role = 'grid_worker' ORDER BY user_id")
        or ids("SELECT id FROM users ORDER BY id"),
    }


def _naive(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=None) if moment else None


def _issue(rng: random.Random, ctx: dict, start: datetime, span_s: int, statuses, weights) -> _Row:
    received = start + timedelta(seconds=rng.randrange(span_s))
    status = rng.choices(statuses, weights)[0]
    dispatched = status not in ("reported", "rejected") and rng.random() < 0.97
    sent_back = rng.choices((0, 1, 2, 3, 4), (80, 12, 5, 2, 1))[0] if dispatched else 0
    closed_at = None
    if status == "closed":
        closed_at = received + timedelta(minutes=rng.randrange(30, 8 * 24 * 60))
    elif status in ("rejected", "merged"):
        closed_at = received + timedelta(hours=rng.randrange(1, 48))
    deadline = received + timedelta(hours=rng.choice((4, 24, 48, 72, 120)))
    return _Row(
        status=status,
        received_at=received,
        deadline=deadline,
        deadline_provisional=not dispatched,
        area_id=rng.choice(ctx["micro_grid_ids"]),
        category_id=rng.choice(ctx["category_ids"]),
        department_id=rng.choice(ctx["department_ids"]) if ctx["department_ids"] else None,
        reporter_id=rng.choice(ctx["worker_ids"]),
        closed_on_time=(closed_at <= deadline) if status == "closed" else None,
        rework_count=min(sent_back, 2),
        reopen_count=sent_back - min(sent_back, 2),
        closed_at=closed_at,
    )


def stage(conn, ctx: dict) -> dict:
    """COPY `ctx['issues']` issues into `issues`, then add their part to the daily summary and the
    per-area counts (also by COPY into a scratch table, then one upsert). Returns timings."""
    total = ctx.get("issues", 10_000_000)
    start = ctx.get("start", datetime(2026, 12, 1, tzinfo=UTC) - timedelta(days=365 * YEARS))
    span_s = 365 * YEARS * 86400
    rng = random.Random(ctx.get("seed", 22))
    statuses, weights = zip(*FATES, strict=True)
    run = f"{rng.getrandbits(32):08x}"
    figures: dict = defaultdict(Counter)
    by_area: Counter = Counter()
    began = time.perf_counter()
    with conn.cursor().copy(f"COPY issues ({COLUMNS}) FROM STDIN") as copy:
        for n in range(total):
            row = _issue(rng, ctx, start, span_s, statuses, weights)
            summary.add(figures, summary.contribution(row))
            by_area[(row.area_id, row.status, row.category_id)] += 1
            copy.write_row(
                (
                    f"prov-{run}-{n:012d}",
                    "x",
                    "app",
                    row.reporter_id,
                    row.category_id,
                    "bulk",
                    113.2,
                    33.75,
                    row.area_id,
                    _naive(row.received_at),
                    _naive(row.received_at),
                    row.status,
                    0,
                    row.department_id,
                    None if row.deadline_provisional else _naive(row.received_at),
                    _naive(row.deadline),
                    row.deadline_provisional,
                    False,
                    _naive(row.closed_at),
                    row.closed_on_time,
                    row.status == "deferred",
                    row.rework_count,
                    row.reopen_count,
                    "[]",
                    "[]",
                    _naive(row.closed_at or row.received_at),
                )
            )
    loaded = time.perf_counter()
    _copy_upsert(conn, summary.IssueDailyFigures.__table__.name, summary.KEYS, summary.COUNTERS, figures)
    _copy_upsert(
        conn,
        summary.IssueMonthlyFigures.__table__.name,
        summary.MONTH_KEYS,
        summary.COUNTERS,
        summary.by_month(figures),
    )
    paths = {
        area_id: [int(p) for p in path.strip("/").split("/") if p]
        for area_id, path in conn.execute("SELECT id, path FROM areas")
    }
    issue_counts: dict = defaultdict(Counter)
    for (area_id, status, category_id), n in by_area.items():
        for area in [counts.EVERYWHERE, *paths.get(area_id, [area_id])]:
            issue_counts[(area, status, category_id)]["n"] += n
    _copy_upsert(conn, counts.IssueCount.__table__.name, counts.KEYS, ("n",), issue_counts)
    conn.commit()
    _vacuum(conn)
    return {"issues": total, "copy_s": loaded - began, "summary_s": time.perf_counter() - loaded}


def _vacuum(conn) -> None:
    """VACUUM ANALYZE what the figures and lists read, as autovacuum would in time: the statistics
    (a zone's few dozen areas stay below autovacuum's 50-row analyse threshold, so without this the
    planner guesses one row per area filter) and the visibility map the index-only scans need."""
    autocommit, conn.autocommit = conn.autocommit, True  # VACUUM cannot run in a transaction
    for name in ("issues", "areas", "issue_daily_figures", "issue_monthly_figures", "issue_counts"):
        conn.execute(f"VACUUM (ANALYZE) {name}")
    conn.autocommit = autocommit


def _copy_upsert(conn, table: str, keys: tuple, counters: tuple, totals: dict) -> None:
    """Add {key: Counter} to `table` through a scratch table: COPY, then one INSERT … ON CONFLICT."""
    columns = ", ".join((*keys, *counters))
    conn.execute(f"CREATE TEMP TABLE scratch (LIKE {table}) ON COMMIT DROP")
    with conn.cursor().copy(f"COPY scratch ({columns}) FROM STDIN") as copy:
        for key, values in totals.items():
            if any(values.values()):
                copy.write_row((*key, *(values[c] for c in counters)))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
    conn.execute(
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM scratch"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )
    conn.execute("DROP TABLE scratch")


def main(argv: list[str]) -> None:
    import psycopg

    url, total = argv[1], int(argv[2]) if len(argv) > 2 else 10_000_000
    with psycopg.connect(url) as conn:
        ctx = {**context_from_database(conn), "issues": total}
        result = stage(conn, ctx)
    print(
        f"{result['issues']:,} issues: COPY {result['copy_s']:.0f} s "
        f"({result['issues'] / result['copy_s']:,.0f}/s), summary and counts {result['summary_s']:.1f} s"
    )


if __name__ == "__main__":
    main(sys.argv)
