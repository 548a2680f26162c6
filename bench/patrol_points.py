"""Patrol points bench: ingest into the monthly-partitioned table against a plain copy, and
retention by dropping a month against DELETE (issue #22: a province writes 20 million a week).

    .venv/bin/python bench/patrol_points.py postgresql://postgres@127.0.0.1:5432/gg_part [points [month]]

`points` a path and round (default 100,000); `month`, the rows of each month in the retention
comparison (default 1,000,000).

It works in a scratch schema of that database (`bench_patrol_points`, dropped afterwards) built
from the models, so the partitioned table is exactly the app's. Each path runs in alternating
rounds against the partitioned table and a plain copy (same columns, key, index and foreign key),
best of the rounds, because the machine is shared: the ratio is the figure to read. Paths:

- COPY, as `bench/province/points.py` loads a week;
- the statement the service used, `session.execute(PatrolPoint.__table__.insert(), rows)`
  (psycopg 3 executemany: one pipelined INSERT a row), and the one it uses now, a single
  multi-row INSERT (`services.insert_points`), one commit per batch of 100 and of 1,000;
- the whole `patrols.services.add_points` (validation, the batch row, the commit), partitioned
  only, from one thread and from four at once (the API runs several workers).

Target: at least 20,000 points/s in batches.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from common import table

SCHEMA = "bench_patrol_points"
ROUNDS = 3
THREADS = 4
KINDS = ("executemany", "VALUES", "unnest")


def scratch_app(url: str):
    from gridgov import create_app

    base = url.replace("postgresql://", "postgresql+psycopg://", 1)
    joiner = "&" if "?" in base else "?"
    app = create_app(
        {"GRIDGOV_ENV": "testing", "GRIDGOV_DATABASE_URL": f"{base}{joiner}options=-csearch_path%3D{SCHEMA}"}
    )
    return app


def build(db) -> None:
    """The models' schema in the scratch schema, this month's partitions, and the plain copy."""
    from sqlalchemy import text

    from gridgov.patrols import partitions

    with db.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    db.create_all()
    with db.engine.begin() as conn:
        partitions.ensure_partitions(conn, datetime.now(UTC))
        conn.execute(
            text("CREATE TABLE patrol_points_plain (LIKE patrol_points INCLUDING DEFAULTS INCLUDING INDEXES)")
        )
        conn.execute(
            text(
                "ALTER TABLE patrol_points_plain ADD FOREIGN KEY (patrol_id) REFERENCES patrols (id) "
                "ON DELETE CASCADE"
            )
        )


def worker_and_patrols(db, n: int):
    from gridgov.auth.services import create_user
    from gridgov.patrols import services

    user = create_user("bench_worker", "bench-password-2026", ["grid_worker"])
    started = datetime.now(UTC) - timedelta(hours=6)
    ids = [services.start(user, str(uuid.uuid4()), started)[0].id for _ in range(n)]
    return user, ids, started


def rows_for(patrol_ids: list[int], start: datetime, total: int) -> list[dict]:
    per = total // len(patrol_ids)
    return [
        {
            "patrol_id": pid,
            "t": start + timedelta(seconds=k),
            "lon": 113.2 + k * 1e-6,
            "lat": 33.7,
            "accuracy": 5.0,
        }
        for pid in patrol_ids
        for k in range(per)
    ]


def copy_rate(db, name: str, rows: list[dict]) -> float:
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        began = time.perf_counter()
        with cursor.copy(f"COPY {name} (patrol_id, t, lon, lat, accuracy) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(
                    (r["patrol_id"], r["t"].replace(tzinfo=None), r["lon"], r["lat"], r["accuracy"])
                )
        raw.commit()
        return len(rows) / (time.perf_counter() - began)
    finally:
        raw.close()


def statement_rate(db, target, rows: list[dict], batch: int, kind: str) -> float:
    """executemany (the service's statement before #22), one multi-row VALUES, or one INSERT of
    arrays through unnest (the service's `insert_points` now)."""
    from sqlalchemy import text

    from gridgov.patrols.services import _UNNEST

    unnest = text(str(_UNNEST).replace("patrol_points", target.name, 1))
    began = time.perf_counter()
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        if kind == "VALUES":
            db.session.execute(target.insert().values(chunk))
        elif kind == "unnest":
            arrays = {k: [r[k] for r in chunk] for k in ("patrol_id", "lon", "lat", "accuracy")}
            db.session.execute(unnest, {**arrays, "t": [r["t"].replace(tzinfo=None) for r in chunk]})
        else:
            db.session.execute(target.insert(), chunk)
        db.session.commit()
    return len(rows) / (time.perf_counter() - began)


def service_rate(user, rows: list[dict], batch: int, seq: dict[int, int]) -> float:
    """Through `add_points`; `seq` carries each patrol's last batch number across rounds (a
    repeated number would be a replay, answered without writing)."""
    from gridgov.patrols import services

    began = time.perf_counter()
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        pid = chunk[0]["patrol_id"]
        seq[pid] = seq.get(pid, 0) + 1
        points = [{"t": r["t"], "lon": r["lon"], "lat": r["lat"], "accuracy": r["accuracy"]} for r in chunk]
        assert not services.add_points(user, pid, seq[pid], points)["duplicate"]
    return len(rows) / (time.perf_counter() - began)


def threaded_service_rate(app, user_id: int, rows: list[dict], batch: int, seq: dict[int, int]) -> float:
    """`add_points` from THREADS threads at once, each with its own session (as gunicorn's workers
    share the database): the commits' WAL flushes overlap. Each thread has its own patrols."""
    import threading

    from gridgov.auth.models import User
    from gridgov.extensions import db

    by_patrol: dict[int, list[dict]] = {}
    for row in rows:
        by_patrol.setdefault(row["patrol_id"], []).append(row)
    shares = [[] for _ in range(THREADS)]
    for n, pid in enumerate(sorted(by_patrol)):
        shares[n % THREADS].extend(by_patrol[pid])

    def run(share):
        with app.app_context():
            service_rate(db.session.get(User, user_id), share, batch, seq)
            db.session.remove()

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(rows) / (time.perf_counter() - began)


def ingest(db, user, patrol_ids, started, total: int) -> list[list]:
    from flask import current_app
    from sqlalchemy import MetaData

    from gridgov.patrols.models import PatrolPoint

    part = PatrolPoint.__table__
    plain = part.to_metadata(MetaData(), name="patrol_points_plain")
    best: dict[str, float] = {}
    seq: dict[int, int] = {}

    def keep(key, rate):
        best[key] = max(best.get(key, 0.0), rate)

    for n in range(ROUNDS):
        rows = rows_for(patrol_ids, started + timedelta(minutes=n * 20), total)
        for label, name in (("part", "patrol_points"), ("plain", "patrol_points_plain")):
            keep(("copy", label), copy_rate(db, name, rows))
        for batch in (100, 1000):
            for label, target in (("part", part), ("plain", plain)):
                for kind in KINDS:
                    keep((f"{kind} {batch}", label), statement_rate(db, target, rows, batch, kind))
            keep((f"service {batch}", "part"), service_rate(user, rows, batch, seq))
            threaded = threaded_service_rate(current_app._get_current_object(), user.id, rows, batch, seq)
            keep((f"service {batch} ×{THREADS}", "part"), threaded)
    out = []
    paths = ["copy"] + [f"{kind} {b}" for b in (100, 1000) for kind in KINDS]
    for path in [*paths, *(f"service {b}{t}" for b in (100, 1000) for t in ("", f" ×{THREADS}"))]:
        p, q = best.get((path, "part")), best.get((path, "plain"))
        out.append([path, f"{p:,.0f}", f"{q:,.0f}" if q else "-", f"{p / q:.2f}" if q else "-"])
    return out


def retention(db, patrol_ids, total: int) -> list[list]:
    """A month's points removed by DELETE, and the same number by detaching and dropping a month."""
    from sqlalchemy import text

    from gridgov.patrols import partitions

    conn = db.session.connection
    months = [datetime(2026, 5, 1), datetime(2026, 6, 1)]
    for month in months:
        partitions.create_month(conn(), month)
        db.session.commit()
        copy_rate(db, "patrol_points", rows_for(patrol_ids, month.replace(tzinfo=UTC), total))
    db.session.execute(text("ANALYZE patrol_points"))
    db.session.commit()
    began = time.perf_counter()
    deleted = db.session.execute(
        text("DELETE FROM patrol_points WHERE t >= '2026-05-01' AND t < '2026-06-01'")
    ).rowcount
    db.session.commit()
    delete_s = time.perf_counter() - began
    began = time.perf_counter()
    partitions.detach_month(conn(), "patrol_points_2026_06", datetime(2026, 9, 1, tzinfo=UTC))
    db.session.commit()
    dropped = partitions.drop_detached(conn(), "patrol_points_2026_06")
    db.session.commit()
    drop_s = time.perf_counter() - began
    return [
        ["DELETE a month", f"{deleted:,}", f"{delete_s:.2f}"],
        ["detach + count + DROP a month", f"{dropped:,}", f"{drop_s:.2f}"],
    ]


def main(argv: list[str]) -> None:
    url, total = argv[1], int(argv[2]) if len(argv) > 2 else 100_000
    month = int(argv[3]) if len(argv) > 3 else 1_000_000
    app = scratch_app(url)
    from gridgov.extensions import db

    with app.app_context():
        build(db)
        try:
            user, patrol_ids, started = worker_and_patrols(db, 50)
            print(f"{total:,} points a path and round, best of {ROUNDS} rounds (points/s)\n")
            print(
                table(["path", "partitioned", "plain", "ratio"], ingest(db, user, patrol_ids, started, total))
            )
            print()
            print(table(["retention", "rows", "seconds"], retention(db, patrol_ids, month)))
        finally:
            db.session.rollback()
            db.session.close()
            with db.engine.begin() as conn:
                from sqlalchemy import text

                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            db.engine.dispose()


if __name__ == "__main__":
    main(sys.argv)
