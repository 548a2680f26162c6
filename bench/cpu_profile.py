"""Profile one endpoint of bench/cpu.py in-process: where a request's CPU goes.

    .venv/bin/python bench/cpu_profile.py LABEL [--url postgresql://…] [--requests 200] [--sort tottime]

LABEL is a prefix of an endpoint label in bench/cpu.py (`"GET /api/v1/me"`, `"POST /api/v1/issues"`).
The app is built in this process against a database already migrated and seeded as bench/cpu.py
prepares it (`--prepare` does that first), warmed, and then called under cProfile through Flask's
test client; the top functions are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time

from cpu import Endpoints
from load import prepare

from common import ROOT  # noqa: F401 - puts the repository on sys.path


class TestClient:
    """bench/common.Client's interface over Flask's test client."""

    def __init__(self, app, token: str):
        self.client = app.test_client()
        self.token = token

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes]:
        hdrs = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        hdrs = {k: v for k, v in hdrs.items() if v}
        response = self.client.open(path, method=method, json=body, headers=hdrs)
        return response.status_code, response.get_data()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label", help="prefix of an endpoint label in bench/cpu.py")
    parser.add_argument("--url", default=os.environ.get("GRIDGOV_DATABASE_URL", ""))
    parser.add_argument("--prepare", action="store_true", help="migrate and seed the database first")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--time-only", action="store_true", help="no profiler: CPU ms per request")
    parser.add_argument("--sql", action="store_true", help="no profiler: the SQL one request sends")
    args = parser.parse_args()
    if not args.url:
        parser.error("--url or GRIDGOV_DATABASE_URL names the database")
    if args.prepare:
        prepare(args.url)
    os.environ.update(
        GRIDGOV_DATABASE_URL=args.url, GRIDGOV_RATELIMIT_ENABLED="0", GRIDGOV_LOG_LEVEL="WARNING"
    )
    from gridgov import create_app

    app = create_app()
    login = app.test_client().post(
        "/api/v1/auth/login", json={"username": "load", "password": "load-password-1"}
    )
    client = TestClient(app, login.get_json()["access_token"])
    endpoints = Endpoints(client, "", random.Random(22)).all()
    matches = [e for e in endpoints if e[0].startswith(args.label)]
    if not matches:
        parser.error(f"no endpoint label starts with {args.label!r}: {json.dumps([e[0] for e in endpoints])}")
    label, _, _, maker = matches[0]
    for _ in range(20):
        client.request(*maker())
    statuses = set()
    if args.sql:
        from sqlalchemy import event

        from gridgov.extensions import db

        with app.app_context():
            engine = db.engine
        sent = []
        event.listen(engine, "before_cursor_execute", lambda *a: sent.append((a[2], a[3])))
        print(label, client.request(*maker())[0])
        for number, (statement, parameters) in enumerate(sent, 1):
            print(f"-- {number}: {parameters}\n{statement}\n")
        return 0
    if args.time_only:
        before = time.process_time()
        for _ in range(args.requests):
            statuses.add(client.request(*maker())[0])
        spent = (time.process_time() - before) * 1000 / args.requests
        print(f"{label}: {spent:.2f} CPU ms per request in-process, statuses {sorted(statuses)}")
        return 0
    profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting on the database
    profiler.enable()
    for _ in range(args.requests):
        statuses.add(client.request(*maker())[0])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    print(f"{label}: {args.requests} requests, statuses {sorted(statuses)}")
    stats.sort_stats(args.sort).print_stats(args.lines)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
