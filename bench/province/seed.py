"""The province generator's driver: the stage list and the command line."""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench.province import issues, points
from bench.province.areas import seed_areas
from bench.province.context import Context, Stage
from bench.province.markets import seed_markets
from bench.province.people import seed_people

ROOT = Path(__file__).resolve().parents[2]


def seed_issues(conn: psycopg.Connection, ctx: Context) -> None:
    """10,000,000 issues over five years at scale 1, with their daily summary and per-area counts."""
    found = issues.context_from_database(conn)
    issues.stage(conn, {**found, "issues": round(10_000_000 * ctx.scale), "seed": ctx.seed})


def seed_points(conn: psycopg.Connection, ctx: Context) -> None:
    """20,000,000 patrol points over a week at scale 1."""
    found = issues.context_from_database(conn)
    points.stage(conn, {**found, "points": round(20_000_000 * ctx.scale), "seed": ctx.seed})


# In order; a stage may use what the ones before it put in the context.
STAGES: list[Stage] = [
    Stage("areas", seed_areas),
    Stage("people", seed_people),
    Stage("markets", seed_markets),
    Stage("issues", seed_issues),
    Stage("points", seed_points),
]


def migrate(database_url: str) -> None:
    env = {**os.environ, "GRIDGOV_DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True
    )


def run(database_url: str, scale: float = 1.0, stages: list[str] | None = None, seed: int = 22) -> Context:
    """Migrate the database, then run the chosen stages in order, each in its own transaction."""
    migrate(database_url)
    ctx = Context(seed=seed, scale=scale)
    chosen = STAGES
    names = [s.name for s in chosen]
    unknown = set(stages or ()) - set(names)
    if unknown:
        raise SystemExit(f"unknown stages {sorted(unknown)}; known: {', '.join(names)}")
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        if stages and names.index(stages[0]) > 0:
            ctx.load(conn)
        for stage in chosen:
            if stages and stage.name not in stages:
                continue
            ctx.rng = random.Random(f"{seed}:{stage.name}")
            started = time.perf_counter()
            stage.run(conn, ctx)
            conn.commit()
            print(f"stage {stage.name}: {time.perf_counter() - started:.1f} s", flush=True)
        conn.execute("ANALYZE")
        conn.commit()
    return ctx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.province", description=__doc__)
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 100 towns, 1,000,000 micro-grids")
    parser.add_argument("--stages", help="comma-separated subset of: " + ", ".join(s.name for s in STAGES))
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
    run(args.database_url, args.scale, stages, args.seed)
    print(f"province seeded in {time.perf_counter() - started:.0f} s")
    return 0
