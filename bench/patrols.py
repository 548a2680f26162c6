"""Patrol bench: a day of GPS tracks through the API, then the town's daily report.

    .venv/bin/python bench/patrols.py [--workers 500] [--hours 8]

500 workers × 8 hours × a point every 10 s = 1.44 million points, sent in batches of 100 by 8
concurrent clients to gunicorn on PostgreSQL. Targets (issue #5): at least 5,000 points/s
ingested; the town's daily report in at most 1 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta

from common import ROOT, Client, fresh_postgres, gunicorn, percentile, table
from gridgov.timeutil import LOCAL_TZ

DAY = datetime(2026, 11, 20, 8, 0, tzinfo=LOCAL_TZ)


def prepare(url: str, workers: int) -> tuple[list[str], str, int]:
    env = {**os.environ, "GRIDGOV_DATABASE_URL": url, "GRIDGOV_LOG_LEVEL": "WARNING"}
    for args in (["db", "upgrade"], ["seed", "demo"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    from sqlalchemy import insert, select

    from gridgov import create_app
    from gridgov.areas.models import Area
    from gridgov.auth.models import User, UserArea, UserRole
    from gridgov.auth.security import hash_password, issue_access_token
    from gridgov.extensions import db

    app = create_app(
        {
            "GRIDGOV_DATABASE_URL": url,
            "GRIDGOV_LOG_LEVEL": "WARNING",
            "ACCESS_TOKEN_TTL": timedelta(minutes=15),
        }
    )
    with app.app_context():
        grids = list(db.session.scalars(select(Area.id).where(Area.level == "grid").order_by(Area.id)))
        town = db.session.scalar(select(Area.id).where(Area.code == "410471001000"))
        digest = hash_password("bench-password-1")
        db.session.execute(
            insert(User),
            [
                {
                    "username": f"bench-w{i}",
                    "display_name": f"网格员{i}",
                    "password_hash": digest,
                    "is_active": True,
                }
                for i in range(workers)
            ],
        )
        ids = list(
            db.session.scalars(select(User.id).where(User.username.like("bench-w%")).order_by(User.id))
        )
        db.session.execute(insert(UserRole), [{"user_id": i, "role": "grid_worker"} for i in ids])
        db.session.execute(
            insert(UserArea), [{"user_id": i, "area_id": grids[n % len(grids)]} for n, i in enumerate(ids)]
        )
        db.session.commit()
        tokens = [issue_access_token(db.session.get(User, i))[0] for i in ids]
        staff = db.session.scalar(select(User).where(User.username == "staff_huangtai"))
        staff_token = issue_access_token(staff)[0]
        db.engine.dispose()
    return tokens, staff_token, town


def track(n: int, hours: int) -> list[dict]:
    """A worker's day: walking a loop in the demo zone, a point every 10 s."""
    lon0, lat0 = 113.181 + (n % 16) * 0.0024, 33.741 + (n // 16 % 8) * 0.0022
    points = []
    for i in range(hours * 360):
        step = i % 240
        dx = step if step < 120 else 240 - step
        points.append(
            {
                "lon": lon0 + dx * 0.000015,
                "lat": lat0 + (i % 60) * 0.000003,
                "t": (DAY + timedelta(seconds=10 * i)).isoformat(),
            }
        )
    return points


def ingest(port: int, tokens: list[str], hours: int, clients: int) -> dict:
    queue = list(enumerate(tokens))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    sent = [0]

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                n, token = queue.pop()
            client = Client(port, token)
            status, body = client.request(
                "POST", "/api/v1/patrols", {"client_uuid": str(uuid.uuid4()), "started_at": DAY.isoformat()}
            )
            if status != 201:
                errors.append(f"start {status}")
                continue
            patrol_id = __import__("json").loads(body)["id"]
            points = track(n, hours)
            for seq, start in enumerate(range(0, len(points), 100)):
                batch = points[start : start + 100]
                began = time.perf_counter()
                status, body = client.request(
                    "POST", f"/api/v1/patrols/{patrol_id}/points", {"seq": seq, "points": batch}
                )
                with lock:
                    latencies.append(time.perf_counter() - began)
                    if status != 200:
                        errors.append(f"points {status} {body[:100]!r}")
                    else:
                        sent[0] += len(batch)
            status, _ = client.request(
                "POST",
                f"/api/v1/patrols/{patrol_id}/finish",
                {"ended_at": (DAY + timedelta(hours=hours)).isoformat()},
            )
            if status != 200:
                errors.append(f"finish {status}")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "points": sent[0],
        "seconds": time.perf_counter() - started,
        "latencies": latencies,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=500)
    parser.add_argument("--hours", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with fresh_postgres() as url:
        tokens, staff_token, town = prepare(url, args.workers)
        with gunicorn(url, workers=2, threads=8) as port:
            result = ingest(port, tokens, args.hours, args.clients)
            client = Client(port, staff_token)
            report_times = []
            for _ in range(3):
                began = time.perf_counter()
                status, _ = client.request("GET", f"/api/v1/reports/daily?date={DAY.date()}&area={town}")
                report_times.append(time.perf_counter() - began)
                assert status == 200, status
    rate = result["points"] / result["seconds"]
    lat = result["latencies"]
    print(
        f"{args.workers} workers × {args.hours} h, a point every 10 s, batches of 100, {args.clients} clients, PostgreSQL"
    )
    print(
        table(
            ["measure", "value"],
            [
                ["points ingested", f"{result['points']:,}"],
                ["seconds", f"{result['seconds']:.1f}"],
                ["points per second", f"{rate:,.0f}"],
                [
                    "batch p50 / p99 ms",
                    f"{percentile(lat, 50) * 1000:.1f} / {percentile(lat, 99) * 1000:.1f}",
                ],
                ["errors", len(result["errors"])],
                ["town daily report (best of 3)", f"{min(report_times):.2f} s"],
            ],
        )
    )
    ok_rate, ok_report = rate >= 5000, min(report_times) <= 1.0
    print(f"target: ≥ 5,000 points/s → {rate:,.0f}/s {'MET' if ok_rate else 'MISSED'}")
    print(f"target: town report ≤ 1 s → {min(report_times):.2f} s {'MET' if ok_report else 'MISSED'}")
    return 0 if ok_rate and ok_report and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
