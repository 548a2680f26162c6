"""The province bench: locate and market days on a seeded province, with the targets of issue #22.

    .venv/bin/python -m bench.province --database-url postgresql://postgres@127.0.0.1/gg_geo_big
    .venv/bin/python -m bench.province.bench --database-url postgresql://postgres@127.0.0.1/gg_geo_big

Measures, each in its own process so resident memory starts clean:
- the in-process index at worker start: build time (read every area, parse, STRtree) and the
  worker's RSS delta (target: a worker holds at most 300 MB for it, or PostGIS locates instead);
- the locate service (`areas.locating.locate`: deepest area, its path and workers) for random
  points of the province, p50/p99, in process and in PostGIS (target: PostGIS p99 ≤ 5 ms);
- every occurrence of 10,000 markets for a year (`market_days` as the admin, target ≤ 1 s) and the
  scheduler's market-reminder collector for tomorrow (target ≤ 0.2 s), median of 3 warm runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from common import percentile, table  # noqa: E402

TARGET_INDEX_MB = 300
TARGET_POSTGIS_P99_MS = 5.0
TARGET_OCCURRENCES_S = 1.0
TARGET_TICK_S = 0.2


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _app(url: str, **config):
    from gridgov import create_app

    app = create_app({"GRIDGOV_DATABASE_URL": url, "GRIDGOV_LOG_LEVEL": "WARNING", **config})
    app.app_context().push()
    return app


def _province_points(n: int) -> list[tuple[float, float]]:
    from sqlalchemy import func, select

    from gridgov.areas.models import Area
    from gridgov.extensions import db

    box = db.session.execute(
        select(func.min(Area.min_lon), func.min(Area.min_lat), func.max(Area.max_lon), func.max(Area.max_lat))
    ).one()
    rng = random.Random(22)
    return [(rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])) for _ in range(n)]


def _time_locate(points) -> list[float]:
    from sqlalchemy import select

    from gridgov.areas.locating import locate
    from gridgov.auth.models import User
    from gridgov.errors import NotFound
    from gridgov.extensions import db

    admin = db.session.scalar(select(User).where(User.username == "admin"))
    times = []
    for lon, lat in points:
        started = time.perf_counter()
        with contextlib.suppress(NotFound):
            locate(admin, lon, lat)
        times.append((time.perf_counter() - started) * 1000)
    return times


def child_locate(url: str, mode: str, points: int) -> dict:
    """In a fresh process: build this worker's index (in process or PostGIS) and time locate."""
    from gridgov.areas import locating
    from gridgov.areas.postgis import PostgisIndex

    limit = 10**12 if mode == "memory" else 0
    _app(url, LOCATE_IN_PROCESS_MAX_AREAS=limit)
    pts = _province_points(points)
    before = _rss_mb()
    started = time.perf_counter()
    index = locating.spatial_index()
    build = time.perf_counter() - started
    rss = _rss_mb() - before
    assert isinstance(index, PostgisIndex) == (mode == "postgis"), "PostGIS column missing?"
    _time_locate(pts[:50])  # warm the pool and the statement cache
    times = _time_locate(pts)
    floor = _time_floor(len(pts))
    return {
        "build_s": build,
        "rss_mb": rss,
        "p50": percentile(times, 50),
        "p99": percentile(times, 99),
        "floor_p50": percentile(floor, 50),
        "floor_p99": percentile(floor, 99),
    }


def _time_floor(n: int) -> list[float]:
    """The same session reading one row by primary key: what any statement costs on this machine now."""
    from sqlalchemy import select

    from gridgov.areas.models import AreaIndexVersion
    from gridgov.extensions import db

    times = []
    for _ in range(n):
        started = time.perf_counter()
        db.session.scalar(select(AreaIndexVersion.stamp).where(AreaIndexVersion.id == 1))
        times.append((time.perf_counter() - started) * 1000)
    return times


def child_markets(url: str) -> dict:
    from sqlalchemy import select

    from gridgov.auth.models import User
    from gridgov.extensions import db
    from gridgov.markets.jobs import market_reminder_drafts
    from gridgov.markets.models import Market
    from gridgov.markets.services import market_days
    from gridgov.timeutil import LOCAL_TZ

    _app(url)
    start = date.today().replace(month=1, day=1)
    end = start.replace(month=12, day=31)
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    year, year_cpu, count = [], [], 0
    for _ in range(4):  # the first pays the lunar conversions; the median of the rest is reported
        db.session.expunge_all()
        admin = db.session.merge(admin)
        started, cpu = time.perf_counter(), time.process_time()
        count = len(market_days(admin, start, end))  # the service behind GET /market-days, every market
        year.append(time.perf_counter() - started)
        year_cpu.append(time.process_time() - cpu)
    evening = datetime.combine(date.today(), datetime.min.time(), LOCAL_TZ).replace(
        hour=18, minute=0, second=30
    )
    tick, tick_cpu, drafts = [], [], 0
    for _ in range(4):
        db.session.expunge_all()
        started, cpu = time.perf_counter(), time.process_time()
        drafts = len(market_reminder_drafts(evening))
        tick.append(time.perf_counter() - started)
        tick_cpu.append(time.process_time() - cpu)
    markets_n = db.session.scalar(select(db.func.count()).select_from(Market))
    return {
        "markets": markets_n,
        "occurrences": count,
        "year_s": statistics.median(year[1:]),
        "year_cpu_s": statistics.median(year_cpu[1:]),
        "tick_s": statistics.median(tick[1:]),
        "tick_cpu_s": statistics.median(tick_cpu[1:]),
        "drafts": drafts,
        "tomorrow": (date.today() + timedelta(days=1)).isoformat(),
    }


def _child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.province.bench", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _verdict(ok: bool) -> str:
    return "met" if ok else "UNMET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.province.bench")
    parser.add_argument("--database-url", required=True, help="a database seeded by python -m bench.province")
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--skip-memory", action="store_true", help="skip building the in-process index")
    parser.add_argument("--child", choices=("memory", "postgis", "markets"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "markets":
        print(json.dumps(child_markets(args.database_url)))
        return 0
    if args.child:
        print(json.dumps(child_locate(args.database_url, args.child, args.points)))
        return 0
    url, pts = args.database_url, str(args.points)
    memory = None if args.skip_memory else _child("--database-url", url, "--points", pts, "--child", "memory")
    postgis = _child("--database-url", url, "--points", pts, "--child", "postgis")
    markets = _child("--database-url", url, "--child", "markets")
    rows = []
    if memory:
        rows += [
            ["in-process index build at worker start", f"{memory['build_s']:.1f} s", "—", "—"],
            [
                "RSS per worker for the index",
                f"{memory['rss_mb']:,.0f} MB",
                f"≤ {TARGET_INDEX_MB} MB (else PostGIS)",
                _verdict(memory["rss_mb"] <= TARGET_INDEX_MB)
                + ("; PostGIS used" if memory["rss_mb"] > 300 else ""),
            ],
            ["locate p50 / p99, in process", f"{memory['p50']:.2f} / {memory['p99']:.2f} ms", "—", "—"],
            [
                "  floor in that run (one-row select)",
                f"{memory['floor_p50']:.2f} / {memory['floor_p99']:.2f} ms",
                "—",
                "—",
            ],
        ]
    rows += [
        ["PostGIS first use at worker start", f"{postgis['build_s'] * 1000:.0f} ms", "—", "—"],
        ["RSS per worker, PostGIS path", f"{postgis['rss_mb']:,.0f} MB", "—", "—"],
        [
            "locate p50 / p99, PostGIS",
            f"{postgis['p50']:.2f} / {postgis['p99']:.2f} ms",
            f"p99 ≤ {TARGET_POSTGIS_P99_MS:g} ms",
            _verdict(postgis["p99"] <= TARGET_POSTGIS_P99_MS),
        ],
        [
            "  floor in that run (one-row select)",
            f"{postgis['floor_p50']:.2f} / {postgis['floor_p99']:.2f} ms",
            "—",
            "—",
        ],
        [
            f"occurrences of {markets['markets']:,} markets for a year ({markets['occurrences']:,})",
            f"{markets['year_s']:.2f} s (CPU {markets['year_cpu_s']:.2f} s)",
            f"≤ {TARGET_OCCURRENCES_S:g} s",
            _verdict(markets["year_s"] <= TARGET_OCCURRENCES_S),
        ],
        [
            f"reminder tick for tomorrow ({markets['drafts']:,} drafts)",
            f"{markets['tick_s'] * 1000:.0f} ms (CPU {markets['tick_cpu_s'] * 1000:.0f} ms)",
            f"≤ {TARGET_TICK_S * 1000:.0f} ms",
            _verdict(markets["tick_s"] <= TARGET_TICK_S),
        ],
    ]
    print(f"province bench: {url.rsplit('/', 1)[-1]}, {args.points:,} random points per locate path")
    print(table(["measure", "value", "target", "verdict"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
