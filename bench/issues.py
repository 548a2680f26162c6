"""Issue-submission bench: 10,000 reports through the API under gunicorn on PostgreSQL, singly and
in offline-sync batches, then the town's monthly figures with 1,000,000 issues in the database.

    .venv/bin/python bench/issues.py [--figures-rows 1000000]

Targets (issue #4): at 5 concurrent clients, submit p99 ≤ 50 ms; at 50, ≥ 300 submissions/s;
with 1,000,000 issues, the figures for a town over a month in ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from common import ROOT, fresh_postgres, gunicorn, login, percentile, run_load, table


def prepare(url: str) -> None:
    env = {**os.environ, "GRIDGOV_DATABASE_URL": url, "GRIDGOV_LOG_LEVEL": "WARNING"}
    for args in (["db", "upgrade"], ["seed", "demo"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )


def issue_body(rng: random.Random) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "category": rng.choice(["ENV-RUBBISH", "INFRA-LIGHT", "MKT-STALL"]),
        "description": "bench report",
        "crs": "wgs84",
        "location": {
            "type": "Point",
            "coordinates": [rng.uniform(113.181, 113.219), rng.uniform(33.741, 33.759)],
        },
    }


def submissions(port: int, token: str) -> list[list]:
    rows = []
    for clients, total in ((5, 2000), (50, 5000)):
        rng = random.Random(clients)

        def make(client, i, rng=rng):
            return "submit", "POST /api/v1/issues", issue_body(rng)

        result = run_load(make, port, token, clients, total)
        lat = result["latencies"]["submit"]
        rows.append(
            [
                f"single, {clients} clients",
                len(lat),
                f"{len(lat) / result['wall']:.0f}",
                f"{percentile(lat, 50) * 1000:.1f}",
                f"{percentile(lat, 99) * 1000:.1f}",
                len(result["errors"]),
            ]
        )
    rng = random.Random(9)
    result = run_load(
        lambda c, i: ("sync", "POST /api/v1/sync/issues", {"items": [issue_body(rng) for _ in range(50)]}),
        port,
        token,
        5,
        60,
    )
    lat = result["latencies"]["sync"]
    rows.append(
        [
            "sync batches of 50, 5 clients",
            len(lat) * 50,
            f"{len(lat) * 50 / result['wall']:.0f}",
            f"{percentile(lat, 50) * 1000:.1f}",
            f"{percentile(lat, 99) * 1000:.1f}",
            len(result["errors"]),
        ]
    )
    return rows


def load_million(url: str, rows: int) -> float:
    """Bulk-insert synthetic issues spread over a year across the demo zone's micro-grids."""
    import psycopg

    started = time.perf_counter()
    dsn = url.replace("postgresql://", "postgresql://", 1)
    with psycopg.connect(dsn) as conn:
        micro = [r[0] for r in conn.execute("SELECT id FROM areas WHERE level = 'micro_grid'")]
        categories = [r[0] for r in conn.execute("SELECT id FROM issue_categories")]
        rng = random.Random(1)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        with conn.cursor().copy(
            "COPY issues (client_uuid, request_hash, source, category_id, description, lon, lat, area_id, reported_at,"
            " received_at, status, level, dispatched_at, deadline, deadline_provisional, deadline_uncertain,"
            " closed_at, closed_on_time, was_deferred, rework_count, reopen_count, photos, fix_photos, updated_at)"
            " FROM STDIN"
        ) as copy:
            for _ in range(rows):
                received = base + timedelta(seconds=rng.randrange(365 * 86400))
                closed = rng.random() < 0.8
                deadline = received + timedelta(days=2)
                closed_at = received + timedelta(hours=rng.randrange(1, 96)) if closed else None
                naive = lambda d: d.replace(tzinfo=None) if d else None  # noqa: E731
                copy.write_row(
                    (
                        str(uuid.uuid4()),
                        "x",
                        "app",
                        rng.choice(categories),
                        "bulk",
                        113.2,
                        33.75,
                        rng.choice(micro),
                        naive(received),
                        naive(received),
                        "closed" if closed else "in_progress",
                        0,
                        naive(received),
                        naive(deadline),
                        False,
                        False,
                        naive(closed_at),
                        (closed_at <= deadline) if closed else None,
                        False,
                        rng.randrange(2),
                        0,
                        "[]",
                        "[]",
                        naive(received),
                    )
                )
        conn.execute("ANALYZE issues")
    return time.perf_counter() - started


def figures(port: int, token: str, town_id: int) -> list:
    timings = []
    from common import Client

    client = Client(port, token)
    for _ in range(5):
        started = time.perf_counter()
        status, _ = client.request(
            "GET", f"/api/v1/stats/issues?from=2026-06-01&to=2026-06-30&area={town_id}&group_by=grid"
        )
        timings.append(time.perf_counter() - started)
        assert status == 200, status
    return timings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--figures-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with fresh_postgres() as url:
        prepare(url)
        with gunicorn(url, workers=2, threads=8) as port:
            token = login(port, "worker_jinhua1", "demo-pass-2026")
            rows = submissions(port, token)
        loaded = load_million(url, args.figures_rows)
        with gunicorn(url, workers=2, threads=4) as port:
            token = login(port, "staff_huangtai", "demo-pass-2026")
            import psycopg

            with psycopg.connect(url) as conn:
                town_id = conn.execute("SELECT id FROM areas WHERE code = '410471001000'").fetchone()[0]
            timings = figures(port, token, town_id)
    print("Submissions through the API (gunicorn 2 workers, PostgreSQL)")
    print(table(["mode", "issues", "issues/s", "p50 ms", "p99 ms", "errors"], rows))
    best = min(timings)
    print(
        f"\nFigures for a town over a month with {args.figures_rows:,} issues in the table "
        f"(bulk load {loaded:.0f} s): best {best:.2f} s, median {sorted(timings)[2]:.2f} s"
    )
    p99_at_5 = float(rows[0][4])
    rate_at_50 = float(rows[1][2])
    checks = [
        ("submit p99 at 5 clients ≤ 50 ms", p99_at_5 <= 50, f"{p99_at_5:.1f} ms"),
        ("≥ 300 submissions/s at 50 clients", rate_at_50 >= 300, f"{rate_at_50:.0f}/s"),
        ("town figures for a month ≤ 2 s", sorted(timings)[2] <= 2, f"{sorted(timings)[2]:.2f} s"),
        ("no errors", all(r[5] == 0 for r in rows), ""),
    ]
    for name, ok, value in checks:
        print(f"target: {name} → {value} {'MET' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
