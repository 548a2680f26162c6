"""Generator stage: synthetic patrol tracks over one week, bulk-loaded with COPY.

`stage(conn, ctx)` takes a psycopg connection and a dict with `worker_ids` and optionally
`points` (default 20,000,000), `start` (a UTC datetime, default 2026-11-23) and `seed`. One patrol
per worker per day, each a walk of points every 10 s. Alone, against any migrated, seeded database:

    python bench/province/points.py postgresql://postgres@127.0.0.1:5432/gg_fig_bench 200000

It writes `patrol_points` as migrated: on PostgreSQL, since revision 0037, the table partitioned
by month of `t` (`gridgov/patrols/partitions.py`), so the week's rows land in their months'
partitions, which the stage creates first where they are missing (as the scheduler's
`patrols.ensure_partitions` would have). `bench/patrol_points.py` compares this COPY, and the
API's batch insert, with a plain table in the same run.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta

DAYS = 7
STEP_S = 10


def _month_partitions(conn, first: datetime, last: datetime) -> None:
    """The monthly partitions of the week's months, where the table is partitioned (PostgreSQL)."""
    from gridgov.patrols.partitions import PARENT, add_months, month_start, partition_name

    partitioned = conn.execute(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s",
        (PARENT,),
    ).fetchone()
    month = month_start(first)
    while partitioned and month <= last.replace(tzinfo=None):
        upper = add_months(month, 1)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{month:%Y-%m-%d}') TO ('{upper:%Y-%m-%d}')"
        )
        month = upper


def stage(conn, ctx: dict) -> dict:
    """COPY the patrols, then their points; returns the counts and the points' COPY rate."""
    total = ctx.get("points", 20_000_000)
    start = ctx.get("start", datetime(2026, 11, 23, tzinfo=UTC))
    rng = random.Random(ctx.get("seed", 22))
    workers = ctx["worker_ids"]
    per_patrol = max(1, total // (len(workers) * DAYS))
    run = f"{rng.getrandbits(32):08x}"
    _month_partitions(conn, start, start + timedelta(days=DAYS))
    with conn.cursor().copy(
        "COPY patrols (client_uuid, worker_id, started_at, ended_at, local_date, status, distance_m,"
        " duration_s, points, flagged, max_speed_kmh, received_at) FROM STDIN"
    ) as copy:
        for day in range(DAYS):
            for worker in workers:
                began = (start + timedelta(days=day, hours=1)).replace(tzinfo=None)
                ended = began + timedelta(seconds=per_patrol * STEP_S)
                uuid = f"ppts-{run}-{day}-{worker:012d}"
                copy.write_row(
                    (uuid, worker, began, ended, began.date(), "finished", 0, 0, per_patrol, False, 0, ended)
                )
    patrols = conn.execute(
        "SELECT id, started_at FROM patrols WHERE client_uuid LIKE %s", (f"ppts-{run}-%",)
    ).fetchall()
    began = time.perf_counter()
    written = 0
    with conn.cursor().copy("COPY patrol_points (patrol_id, t, lon, lat, accuracy) FROM STDIN") as copy:
        for patrol_id, started_at in patrols:
            lon, lat = 113.2 + rng.random() * 0.1, 33.7 + rng.random() * 0.1
            for n in range(per_patrol):
                lon += rng.uniform(-1e-4, 1e-4)
                lat += rng.uniform(-1e-4, 1e-4)
                copy.write_row((patrol_id, started_at + timedelta(seconds=n * STEP_S), lon, lat, 5.0))
                written += 1
    conn.commit()
    seconds = time.perf_counter() - began
    return {"patrols": len(patrols), "points": written, "copy_s": seconds, "rate": written / seconds}


def main(argv: list[str]) -> None:
    import psycopg

    url, total = argv[1], int(argv[2]) if len(argv) > 2 else 20_000_000
    with psycopg.connect(url) as conn:
        workers = [r[0] for r in conn.execute("SELECT user_id FROM user_roles WHERE role = 'grid_worker'")]
        result = stage(conn, {"worker_ids": workers, "points": total})
    print(
        f"{result['points']:,} points in {result['patrols']} patrols: COPY {result['copy_s']:.1f} s "
        f"({result['rate']:,.0f} points/s)"
    )


if __name__ == "__main__":
    main(sys.argv)
