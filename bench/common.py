"""Shared bench helpers: a fresh PostgreSQL database, gunicorn on loopback, a load runner, tables."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN_DSN = os.environ.get("GRIDGOV_BENCH_PG_ADMIN", "host=127.0.0.1 user=postgres dbname=test")


def table(headers: list[str], rows: list[list]) -> str:
    """A plain-text table, columns right-aligned after the first."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextlib.contextmanager
def fresh_postgres(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database for one bench run (empty, or a copy of `template`), dropped afterwards."""
    import psycopg

    name = f"gridgov_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    url = f"postgresql://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:5432/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_demo(url: str, *extra: list[str]) -> None:
    """Migrate the database at `url`, seed the demo zone, then run any `extra` flask commands."""
    env = {**os.environ, "GRIDGOV_DATABASE_URL": url}
    for args in (["db", "upgrade"], ["seed", "demo"], *extra):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    database_url: str,
    workers: int = 2,
    threads: int = 4,
    extra_env: dict | None = None,
    app: str = "wsgi:app",
    cwd: Path = ROOT,
    ready_path: str = "/api/v1/openapi.json",
) -> Iterator[int]:
    """gunicorn serving `app` (gridgov by default) on a free loopback port; stopped on exit."""
    port = free_port()
    env = {
        **os.environ,
        "GRIDGOV_DATABASE_URL": database_url,
        "GRIDGOV_RATELIMIT_ENABLED": "0",
        "GRIDGOV_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app,
    ]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", ready_path)
                if conn.getresponse().status == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


class Client:
    """One keep-alive HTTP connection to the bench server."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.token = token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes]:
        hdrs = {"Content-Type": "application/json"}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        hdrs.update(headers or {})  # a header given as "" is not sent
        hdrs = {k: v for k, v in hdrs.items() if v}
        data = json.dumps(body).encode() if body is not None else None
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise


def login(port: int, username: str, password: str) -> str:
    status, body = Client(port).request(
        "POST", "/api/v1/auth/login", {"username": username, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"login failed: {status} {body[:200]!r}")
    return json.loads(body)["access_token"]


def run_load(
    make_request: Callable[[Client, int], tuple[str, str, object]],
    port: int,
    token: str,
    clients: int,
    total: int | None = None,
    seconds: float | None = None,
) -> dict:
    """Run requests from `clients` threads; returns latencies per label, errors and throughput."""
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(10**12))
    stop_at = time.monotonic() + seconds if seconds else None

    def worker():
        client = Client(port, token)
        while True:
            with lock:
                n = next(counter)
            if (total is not None and n >= total) or (stop_at and time.monotonic() >= stop_at):
                return
            label, method_path, body = make_request(client, n)
            method, path = method_path.split(" ", 1)
            started = time.perf_counter()
            try:
                status, payload = client.request(method, path, body)
            except Exception as exc:  # noqa: BLE001 - counted as an error
                status, payload = 0, repr(exc).encode()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.setdefault(label, []).append(elapsed)
                if status >= 400 and status != 404 or status == 0:
                    errors.append(f"{label}: {status} {payload[:120]!r}")

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {"latencies": latencies, "errors": errors, "wall": wall}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]
