"""Load bench: a realistic mix under gunicorn on PostgreSQL at rising concurrency, plus faults.

    .venv/bin/python bench/load.py [--seconds 60] [--faults]

Mix: 70% reads (issue list, locate, market days, notifications), 20% issue submissions, 10% patrol
point batches, by 5, 20 and 50 clients. The reference is the floor of bench/cpu.py
(bench/floor_app.py: a bearer token checked with PyJWT and one row read with SQLAlchemy Core),
served by its own gunicorn of the same shape in the same run and loaded by the same clients
(issue #22; /healthz, which no authenticated read can approach, is still shown). Targets: reads at
least 40% of the floor's throughput; p99 at most
100 ms at 20 clients; no errors. A reference row times GET /api/v1/me alone, the cheapest
authenticated read (token check, one user row, the scope's ids), to show what part of the gap to the
ceiling is the cost of any authenticated database read on this stack and machine.

--faults: kill -9 a worker mid-load (every 2xx submission must be stored, retries must not
duplicate), then restart PostgreSQL mid-load (503 in the envelope meanwhile, never a 500, and
recovery without a restart of the API).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

from common import ROOT, Client, fresh_postgres, gunicorn, login, percentile, table

BENCH = ROOT / "bench"

WORKERS, THREADS = 2, 2  # one worker per core, two threads each, as the README deploys
CEILING = "GET /healthz"  # a bare Flask JSON endpoint: no token, no database
FLOOR_APP = "GET /floor"  # bench/floor_app.py: PyJWT + one Core row, the reference
FLOOR = "GET /api/v1/me"  # the cheapest authenticated read: token, one user row, scope ids
READS = [
    ("issues", "GET /api/v1/issues?page_size=20"),
    ("market-days", "GET /api/v1/market-days?from=2026-12-01&to=2026-12-31"),
    ("notifications", "GET /api/v1/me/notifications"),
    ("locate", None),
]


def prepare(url: str) -> None:
    env = {
        **os.environ,
        "GRIDGOV_DATABASE_URL": url,
        "GRIDGOV_LOG_LEVEL": "WARNING",
        "GRIDGOV_PASSWORD": "load-password-1",
    }
    load_user = [
        "users",
        "create",
        "load",
        "--role",
        "grid_worker",
        "--role",
        "staff",
        "--area",
        "410471000000",
    ]
    for args in (["db", "upgrade"], ["seed", "demo"], load_user):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )


class Mix:
    """One client's requests: it owns a patrol and numbers its batches."""

    def __init__(self, port: int, token: str, seed: int, log: list, lock: threading.Lock):
        self.client = Client(port, token)
        self.rng = random.Random(seed)
        self.log, self.lock = log, lock
        self.seq = 0
        status, body = self.client.request(
            "POST",
            "/api/v1/patrols",
            {"client_uuid": str(uuid.uuid4()), "started_at": "2026-11-22T08:00:00+08:00"},
        )
        self.patrol = json.loads(body)["id"] if status == 201 else None

    def next(self):
        roll = self.rng.random()
        if roll < 0.7:
            label, target = self.rng.choice(READS)
            if label == "locate":
                target = f"GET /api/v1/areas/locate?lon={self.rng.uniform(113.181, 113.219):.6f}&lat={self.rng.uniform(33.741, 33.759):.6f}"
            return label, target, None
        if roll < 0.9:
            body = {
                "client_uuid": str(uuid.uuid4()),
                "category": "ENV-RUBBISH",
                "description": "load",
                "location": {
                    "type": "Point",
                    "coordinates": [self.rng.uniform(113.181, 113.219), self.rng.uniform(33.741, 33.759)],
                },
            }
            return "submit", "POST /api/v1/issues", body
        self.seq += 1
        points = [
            {
                "lon": 113.19 + i * 1e-5,
                "lat": 33.745,
                "t": f"2026-11-22T09:{self.seq % 60:02d}:{i % 60:02d}+08:00",
            }
            for i in range(20)
        ]
        return "points", f"POST /api/v1/patrols/{self.patrol}/points", {"seq": self.seq, "points": points}

    def send(self, label, target, body, retries: int = 3):
        method, path = target.split(" ", 1)
        for attempt in range(retries + 1):
            started = time.perf_counter()
            try:
                status, payload = self.client.request(method, path, body)
            except Exception:  # noqa: BLE001 - a dropped connection: retry the same request
                status, payload = 0, b""
            elapsed = time.perf_counter() - started
            if status in (0, 502, 503) and attempt < retries:
                with self.lock:  # what the client saw before its retry
                    self.log.append((label + " (retried)", status, elapsed, None, payload[:200]))
                time.sleep(0.2 * (attempt + 1))
                continue
            with self.lock:
                self.log.append(
                    (
                        label,
                        status,
                        elapsed,
                        body.get("client_uuid") if isinstance(body, dict) else None,
                        payload[:200],
                    )
                )
            return status


def run(port: int, token: str, clients: int, seconds: float, only: str | None = None, fault=None) -> list:
    """The mix by `clients` for `seconds`; with `only` ("GET /path"), that one request over and over."""
    log: list = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(n):
        if only:
            method, path = only.split(" ", 1)
            client = Client(port, token)
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                status, _ = client.request(method, path)
                with lock:
                    log.append((only, status, time.perf_counter() - started, None, b""))
            return
        mix = Mix(port, token, n, log, lock)
        while time.monotonic() < stop_at:
            mix.send(*mix.next())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    if fault:
        time.sleep(seconds / 3)
        fault()
    for t in threads:
        t.join()
    return log


def summarise(log: list, seconds: float) -> dict:
    by: dict[str, list] = {}
    for label, status, elapsed, _, _ in log:
        by.setdefault(label, []).append((status, elapsed))
    return {
        label: {
            "n": len(rows),
            "rps": len(rows) / seconds,
            "p50": percentile([e for _, e in rows], 50) * 1000,
            "p99": percentile([e for _, e in rows], 99) * 1000,
            "errors": sum(1 for s, _ in rows if s >= 500 or s == 0),
            "statuses": sorted({s for s, _ in rows}),
        }
        for label, rows in by.items()
    }


def gunicorn_workers(port: int) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"127.0.0.1:{port}"], capture_output=True, text=True).stdout.split()
    pids = sorted(int(p) for p in out)
    return pids[1:]  # the first is the master


def check_committed(url: str, log: list) -> tuple[int, int, int]:
    import psycopg

    acknowledged = [c for label, status, _, c, _ in log if label == "submit" and status in (200, 201)]
    with psycopg.connect(url) as conn:
        stored = {r[0] for r in conn.execute("SELECT client_uuid FROM issues WHERE description = 'load'")}
        duplicates = conn.execute("SELECT count(*) - count(DISTINCT client_uuid) FROM issues").fetchone()[0]
    missing = sum(1 for c in acknowledged if c not in stored)
    return len(acknowledged), missing, duplicates


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--faults", action="store_true")
    args = parser.parse_args()
    ok = True
    with fresh_postgres() as url:
        prepare(url)
        with (
            gunicorn(url, workers=WORKERS, threads=THREADS) as port,
            gunicorn(
                url,
                workers=WORKERS,
                threads=THREADS,
                extra_env={"GRIDGOV_DATABASE_URL": url},
                app="floor_app:app",
                cwd=BENCH,
                ready_path="/ready",
            ) as floor_port,
        ):
            token = login(port, "load", "load-password-1")
            rows = []
            for clients in (5, 20, 50):
                reference = summarise(
                    run(floor_port, token, clients, args.seconds / 3, only=FLOOR_APP), args.seconds / 3
                )[FLOOR_APP]
                ceiling = summarise(
                    run(port, None, clients, args.seconds / 3, only=CEILING), args.seconds / 3
                )[CEILING]
                floor = summarise(run(port, token, clients, args.seconds / 3, only=FLOOR), args.seconds / 3)[
                    FLOOR
                ]
                mixed = summarise(run(port, token, clients, args.seconds), args.seconds)
                reads = sum(
                    mixed[k]["rps"]
                    for k in ("issues", "market-days", "notifications", "locate")
                    if k in mixed
                )
                for label in ("issues", "locate", "market-days", "notifications", "submit", "points"):
                    m = mixed.get(label)
                    if m:
                        rows.append(
                            [
                                clients,
                                label,
                                m["n"],
                                f"{m['rps']:.0f}",
                                f"{m['p50']:.1f}",
                                f"{m['p99']:.1f}",
                                m["errors"],
                            ]
                        )
                rows.append(
                    [
                        clients,
                        f"reference: {FLOOR} ({floor['rps'] / reference['rps']:.0%} of the floor app)",
                        floor["n"],
                        f"{floor['rps']:.0f}",
                        f"{floor['p50']:.1f}",
                        f"{floor['p99']:.1f}",
                        floor["errors"],
                    ]
                )
                rows.append(
                    [
                        clients,
                        "ceiling /healthz",
                        ceiling["n"],
                        f"{ceiling['rps']:.0f}",
                        f"{ceiling['p50']:.1f}",
                        f"{ceiling['p99']:.1f}",
                        ceiling["errors"],
                    ]
                )
                rows.append(
                    [
                        clients,
                        "floor app: PyJWT + one Core row",
                        reference["n"],
                        f"{reference['rps']:.0f}",
                        f"{reference['p50']:.1f}",
                        f"{reference['p99']:.1f}",
                        reference["errors"],
                    ]
                )
                share = reads / reference["rps"]
                worst_p99 = max(m["p99"] for m in mixed.values())
                errors = sum(m["errors"] for m in mixed.values())
                rows.append(
                    [
                        clients,
                        f"reads {share:.0%} of the floor app; worst p99 {worst_p99:.0f} ms",
                        "",
                        "",
                        "",
                        "",
                        errors,
                    ]
                )
                ok &= errors == 0 and share >= 0.4
                if clients == 20:
                    ok &= worst_p99 <= 100
            print(
                f"Mixed load, gunicorn {WORKERS} workers × {THREADS} threads, PostgreSQL, {args.seconds:.0f} s per step"
            )
            print(table(["clients", "endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors"], rows))
            if args.faults:

                def kill_worker():
                    victim = gunicorn_workers(port)[0]
                    os.kill(victim, signal.SIGKILL)
                    print(f"killed worker {victim} mid-load")

                log = run(port, token, 20, 20, fault=kill_worker)
                acknowledged, missing, duplicates = check_committed(url, log)
                server_errors = sum(1 for _, s, _, _, _ in log if s == 500)
                print(
                    f"kill -9: {acknowledged} submissions acknowledged, {missing} missing, {duplicates} duplicates, "
                    f"{server_errors} × 500; statuses seen {sorted({s for _, s, _, _, _ in log})}"
                )
                ok &= missing == 0 and duplicates == 0 and server_errors == 0

                def restart_postgres():
                    subprocess.run(
                        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart",
                        shell=True,
                        check=False,
                        capture_output=True,
                    )  # noqa: S602 - fixed bench command
                    print("restarted PostgreSQL mid-load")

                log = run(port, token, 20, 30, fault=restart_postgres)
                seen = {s for _, s, _, _, _ in log}
                bodies_503 = [p for _, s, _, _, p in log if s == 503]
                envelope = all(b.startswith(b"{") and b'"code":503' in b for b in bodies_503)
                tail_ok = all(s < 500 for _, s, _, _, _ in log[-200:])
                server_errors = sum(1 for _, s, _, _, _ in log if s == 500)
                print(
                    f"PostgreSQL restart: statuses seen {sorted(seen)}; {len(bodies_503)} × 503 in the envelope: "
                    f"{envelope}; {server_errors} × 500; last 200 requests all below 500: {tail_ok}"
                )
                ok &= server_errors == 0 and envelope and tail_ok
    print(json.dumps({"ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
