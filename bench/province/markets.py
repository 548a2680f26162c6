"""Stage `markets`: 10,000 village markets (at scale 1) on the rules villages use, and a Spring
Festival closure (腊月廿五–正月初五) in every other town."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg

from bench.province.context import Context, copy_rows, reset_sequence
from gridgov.markets.rules import parse_rule

MARKETS_AT_SCALE_1 = 10_000
RULES = (  # weighted towards the lunar rules of the source material
    "逢二", "逢九", "逢一四七", "逢二五八", "逢三六九", "逢五排十", "逢十", "单日", "双日",
    "每周三", "每周六", "逢1、4、7", "阳历逢五",
)  # fmt: skip
OPENINGS = (("06:30", "11:00"), ("07:00", "12:00"), ("07:30", "12:30"))


def seed_markets(conn: psycopg.Connection, ctx: Context) -> None:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    rng = ctx.rng
    communities = ctx.areas["community"]
    count = max(1, round(MARKETS_AT_SCALE_1 * ctx.scale))
    rows = []
    for market_id in range(1, count + 1):
        text = rng.choice(RULES)
        start, end = rng.choice(OPENINGS)
        rows.append(
            (
                market_id,
                f"集市{market_id}",
                communities[(market_id - 1) % len(communities)],
                json.dumps(parse_rule(text), ensure_ascii=False),
                text,
                rng.choice(("skip", "skip", "last_day", "next_day")),
                start,
                end,
                True,
                now,
                0,
            )
        )
    copy_rows(conn, "markets", ("id", "name", "area_id", "rule", "rule_text", "missing_day", "start_time",
                                "end_time", "active", "created_at", "revision"), rows)  # fmt: skip
    blackouts = [
        (n, town_id, "春节休市", 12, 25, 1, 5, now) for n, town_id in enumerate(ctx.areas["town"][::2], 1)
    ]
    copy_rows(conn, "market_blackouts", ("id", "area_id", "name", "start_month", "start_day", "end_month",
                                         "end_day", "created_at"), blackouts)  # fmt: skip
    reset_sequence(conn, "markets")
    reset_sequence(conn, "market_blackouts")
    ctx.markets = [row[0] for row in rows]
    print(f"  {len(rows):,} markets, {len(blackouts)} town blackouts")
