"""CPU bench: server CPU time per request, as a multiple of a floor measured in the same run.

    .venv/bin/python bench/cpu.py [--requests 200] [--rounds 4]

Wall-clock throughput on two cores shared with PostgreSQL and the load generator moves by more
than 3x between two runs of the same code; the CPU time the serving process spends on a request
moves far less. So each endpoint is timed as the utime + stime of one gunicorn sync worker
(`/proc/<pid>/stat`) while one client sends requests one after another, and divided by the CPU per
request of the floor (bench/floor_app.py: a bearer token checked with PyJWT and one row read with
SQLAlchemy Core from the same database), served by its own sync worker in the same run. Endpoints
and the floor are measured in interleaved rounds, so a machine that gets busier part-way through
weighs on both alike.

Demo data on a fresh PostgreSQL database (as bench/load.py prepares it). Targets are those of
issue #22; `met` says which are met. Each endpoint's SQL statements are counted afterwards in this
process, and `stmt floor ×` is the least it could cost with that many: the floor plus, for each
further statement, one Core row's CPU (the floor app's `/floor` minus its `/floor-token`). Where a
target lies below it, only fewer statements can meet it; above it, the gap is the endpoint's Python.
`floor + a page of 20 issues` is the floor app's `/floor-page`: the floor's token and row plus the
newest 20 issues as ORM entities dumped by a plain marshmallow schema of their columns, which is
what the fixed stack costs for a page before any of gridgov's own work.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from load import prepare

from common import Client, fresh_postgres, gunicorn, login, table

BENCH = Path(__file__).resolve().parent
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
LON, LAT = (113.181, 113.219), (33.741, 33.759)  # inside the demo zone's micro-grids
# A map zoomed to a few micro-grids: about 16 of the demo's 285 issues. The whole set (no bbox) is
# measured too, without a target: it grows with the zone, so its cost is read per feature.
MAP_VIEW = "/api/v1/issues?format=geojson&bbox=113.19,33.745,113.2,33.75"


def worker_pid(port: int) -> int:
    """The one worker of the gunicorn bound to `port` (the process whose parent is its master)."""
    out = subprocess.run(["pgrep", "-f", f"127.0.0.1:{port}"], capture_output=True, text=True).stdout
    pids = {int(p) for p in out.split()}
    children = [p for p in pids if _parent(p) in pids]
    if len(children) != 1:
        raise RuntimeError(f"expected one worker on port {port}, found {sorted(pids)}")
    return children[0]


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def cpu_ms(pid: int) -> float:
    """utime + stime of the process so far, in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def point(rng: random.Random) -> list[float]:
    return [round(rng.uniform(*LON), 6), round(rng.uniform(*LAT), 6)]


def issue_body(rng: random.Random) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "category": "ENV-RUBBISH",
        "description": "cpu bench",
        "location": {"type": "Point", "coordinates": point(rng)},
    }


class Endpoints:
    """Each endpoint of the mix: a label, its targets (x floor) and a request maker."""

    def __init__(self, client: Client, console_cookie: str, rng: random.Random):
        self.rng = rng
        self.console_cookie = console_cookie
        started = datetime.now(UTC) - timedelta(hours=8)
        status, body = client.request(
            "POST", "/api/v1/patrols", {"client_uuid": str(uuid.uuid4()), "started_at": started.isoformat()}
        )
        if status not in (200, 201):
            raise RuntimeError(f"patrol start failed: {status} {body[:200]!r}")
        self.patrol, self.patrol_start, self.seq = json.loads(body)["id"], started, 0
        today = datetime.now(UTC).date()
        month = {
            "from": today.replace(day=1).isoformat(),
            "to": (today.replace(day=1) + timedelta(days=31)).replace(day=1).isoformat(),
        }
        self.month = urlencode(month)

    def all(self) -> list[tuple[str, str | None, str | None, object]]:
        """(label, target, moonshot, maker); maker() -> (method, path, body, headers)."""
        return [
            ("GET /healthz", None, None, lambda: ("GET", "/healthz", None, {"Authorization": ""})),
            ("GET /api/v1/me", "2", "1.3", lambda: ("GET", "/api/v1/me", None, None)),
            ("GET /api/v1/areas/locate", "2.5", "1.5", self.locate),
            (
                "GET /api/v1/issues (page of 20)",
                "3",
                "2",
                lambda: ("GET", "/api/v1/issues?page_size=20", None, None),
            ),
            (
                "GET /api/v1/issues?format=geojson&bbox= (a map view)",
                "3",
                "2",
                lambda: ("GET", MAP_VIEW, None, None),
            ),
            (
                "GET /api/v1/issues?format=geojson (all)",
                None,
                None,
                lambda: ("GET", "/api/v1/issues?format=geojson", None, None),
            ),
            (
                "GET /api/v1/market-days (a month)",
                "3",
                "2",
                lambda: ("GET", f"/api/v1/market-days?{self.month}", None, None),
            ),
            (
                "GET /api/v1/me/notifications",
                "2",
                "1.5",
                lambda: ("GET", "/api/v1/me/notifications", None, None),
            ),
            ("POST /api/v1/issues", "5", "3", lambda: ("POST", "/api/v1/issues", issue_body(self.rng), None)),
            ("POST /api/v1/sync/issues (50 items)", None, None, self.sync),
            ("POST /api/v1/patrols/{id}/points (100)", None, None, self.points),
            (
                "GET /api/v1/issues?format=xlsx",
                None,
                None,
                lambda: ("GET", "/api/v1/issues?format=xlsx", None, None),
            ),
            ("GET /console/map (a console page)", None, None, self.console),
        ]

    def locate(self):
        lon, lat = point(self.rng)
        return "GET", f"/api/v1/areas/locate?lon={lon}&lat={lat}", None, None

    def sync(self):
        return "POST", "/api/v1/sync/issues", {"items": [issue_body(self.rng) for _ in range(50)]}, None

    def points(self):
        self.seq += 1
        base = self.patrol_start + timedelta(seconds=100 * self.seq)
        rows = [
            {"lon": 113.19 + i * 1e-5, "lat": 33.745, "t": (base + timedelta(seconds=i)).isoformat()}
            for i in range(100)
        ]
        return "POST", f"/api/v1/patrols/{self.patrol}/points", {"seq": self.seq, "points": rows}, None

    def console(self):
        return "GET", "/console/map", None, {"Cookie": self.console_cookie, "Authorization": ""}


def console_cookie(port: int, username: str, password: str) -> str:
    """Sign in through the console's form (CSRF token and session cookie) and return the cookie."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/console/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urlencode({"csrf_token": csrf, "username": username, "password": password})
    conn.request(
        "POST",
        "/console/login",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = conn.getresponse()
    response.read()
    if response.status not in (302, 303):
        raise RuntimeError(f"console sign-in failed: {response.status}")
    return response.getheader("Set-Cookie", cookie).split(";", 1)[0]


class _InProcess:
    """bench/common.Client's interface over Flask's test client (no cookie jar: headers as given)."""

    def __init__(self, app, token: str):
        self.client, self.token = app.test_client(use_cookies=False), token

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes]:
        hdrs = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        response = self.client.open(path, method=method, json=body, headers={k: v for k, v in hdrs.items() if v})
        return response.status_code, response.get_data()


def statements_per_request(url: str, token: str, endpoints) -> dict[str, int]:
    """How many SQL statements each endpoint runs, counted in this process (after the timed runs,
    on the same database): the unit of the statement floor."""
    os.environ.update(GRIDGOV_DATABASE_URL=url, GRIDGOV_RATELIMIT_ENABLED="0", GRIDGOV_LOG_LEVEL="WARNING")
    from sqlalchemy import event

    from gridgov import create_app
    from gridgov.extensions import db

    app = create_app()
    client = _InProcess(app, token)
    counted: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: counted.append(args[2]))
    counts = {}
    for label, _, _, maker in endpoints:
        client.request(*maker())  # warm: the first request pays one-off reads (the area index)
        counted.clear()
        client.request(*maker())
        counts[label] = len(counted)
    return counts


def measure(client: Client, pid: int, maker, n: int) -> tuple[float, list[int]]:
    statuses = []
    before = cpu_ms(pid)
    for _ in range(n):
        method, path, body, headers = maker()
        status, _ = client.request(method, path, body, headers)
        statuses.append(status)
    return cpu_ms(pid) - before, statuses


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    parser.add_argument(
        "--template", help="copy this database, already prepared by load.prepare, instead of seeding one"
    )
    parser.add_argument("--only", action="append", help="measure only endpoints whose label starts so")
    args = parser.parse_args()
    per_round = max(1, args.requests // args.rounds)
    rng = random.Random(22)
    with fresh_postgres(args.template) as url:
        if not args.template:
            prepare(url)
        env = {"GRIDGOV_DATABASE_URL": url}
        with (
            gunicorn(url, workers=1, threads=1) as port,
            gunicorn(
                url, workers=1, threads=1, extra_env=env, app="floor_app:app", cwd=BENCH, ready_path="/ready"
            ) as floor_port,
        ):
            token = login(port, "load", "load-password-1")
            cookie = console_cookie(port, "load", "load-password-1")
            endpoints = Endpoints(Client(port, token), cookie, rng).all()
            if args.only:
                endpoints = [e for e in endpoints if e[0].startswith(tuple(args.only))]
            app_pid, floor_pid = worker_pid(port), worker_pid(floor_port)
            app_client, floor_client = Client(port, token), Client(floor_port, token)
            floor_maker = lambda: ("GET", "/floor", None, None)  # noqa: E731
            token_maker = lambda: ("GET", "/floor-token", None, None)  # noqa: E731
            page_maker = lambda: ("GET", "/floor-page", None, None)  # noqa: E731
            floor_ms, floor_n, token_ms, token_n = 0.0, 0, 0.0, 0
            page_ms, page_n = 0.0, 0
            spent = {label: [0.0, 0, set()] for label, *_ in endpoints}
            signed_in = time.monotonic()
            # Reads first (warmed and measured), then writes, so the lists and exports are read at
            # the demo's size and not at the size the bench's own submissions grow them to.
            reads = [e for e in endpoints if not e[0].startswith("POST")]
            writes = [e for e in endpoints if e[0].startswith("POST")]
            for phase in (reads, writes):
                for _ in range(20):  # warm both: imports, pools, caches, compiled statements
                    measure(floor_client, floor_pid, floor_maker, 1)
                    measure(floor_client, floor_pid, page_maker, 1)
                    for _, _, _, maker in phase:
                        measure(app_client, app_pid, maker, 1)
                for _ in range(args.rounds):
                    ms, statuses = measure(floor_client, floor_pid, floor_maker, per_round)
                    floor_ms, floor_n = floor_ms + ms, floor_n + len(statuses)
                    ms, statuses = measure(floor_client, floor_pid, token_maker, per_round)
                    token_ms, token_n = token_ms + ms, token_n + len(statuses)
                    if phase is reads:  # read at the demo's size, as the lists are
                        ms, statuses = measure(floor_client, floor_pid, page_maker, per_round)
                        page_ms, page_n = page_ms + ms, page_n + len(statuses)
                    for label, _, _, maker in phase:
                        if time.monotonic() - signed_in > 600:  # access tokens live 15 minutes
                            app_client.token = floor_client.token = login(port, "load", "load-password-1")
                            signed_in = time.monotonic()
                        ms, statuses = measure(app_client, app_pid, maker, per_round)
                        spent[label][0] += ms
                        spent[label][1] += len(statuses)
                        spent[label][2].update(statuses)
        statements = statements_per_request(url, app_client.token, endpoints)
    floor = floor_ms / floor_n
    row_ms = max(floor - token_ms / token_n, 0.0)  # one Core statement, read off the floor app
    rows = [
        ["floor (PyJWT + one Core row)", f"{floor:.2f}", "1.0", "", "", "", "1", "1.0", "200"],
        ["  of which the Core row", f"{row_ms:.2f}", f"{row_ms / floor:.1f}", "", "", "", "1", "", "200"],
    ]
    if page_n:
        page = page_ms / page_n
        rows.append(
            ["floor + a page of 20 issues (ORM + marshmallow)", f"{page:.2f}", f"{page / floor:.1f}"]
            + ["", "", "", "2", "", "200"]
        )
    ok = True
    for label, target, moonshot, _ in endpoints:
        ms, n, statuses = spent[label]
        per = ms / n
        ratio = per / floor
        met = "" if target is None else ("yes" if ratio <= float(target) else "no")
        ok &= met != "no" and all(s < 400 for s in statuses)
        count = statements[label]
        # The least this endpoint could cost with its statements: the floor, plus each further
        # statement at the floor's price of a Core row. A target below it needs fewer statements.
        statement_floor = (floor + max(count - 1, 0) * row_ms) / floor
        rows.append(
            [
                label,
                f"{per:.2f}",
                f"{ratio:.1f}",
                f"≤ {target}×" if target else "—",
                f"≤ {moonshot}×" if moonshot else "—",
                met,
                str(count),
                f"{statement_floor:.1f}",
                ",".join(str(s) for s in sorted(statuses)),
            ]
        )
    print(
        f"Server CPU per request (utime+stime of one gunicorn sync worker, {args.requests} requests each "
        f"in {args.rounds} interleaved rounds, PostgreSQL, demo data; clock tick {TICK_MS:.0f} ms), "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        table(
            ["endpoint", "CPU ms", "× floor", "target", "moonshot", "met", "stmts", "stmt floor ×", "statuses"],
            rows,
        )
    )
    print(
        "stmt floor ×: the floor plus one Core row's CPU for each further statement the endpoint runs "
        "(counted in process), as a multiple of the floor; the rest of an endpoint's ratio is its Python."
    )
    print(json.dumps({"ok": ok, "floor_ms": round(floor, 3)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
