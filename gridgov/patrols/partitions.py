"""Monthly partitions of `patrol_points` on PostgreSQL (a province writes 20 million points a week).

The table is `PARTITION BY RANGE (t)`, one partition per calendar month in UTC named
`patrol_points_YYYY_MM`, and a DEFAULT partition so that a point whose month has no partition yet
(a phone whose clock is years behind) is still stored and read: no acknowledged point is refused.
Partitions are created ahead of time by the scheduler (`ensure_partitions`) and at migration time;
retention drops whole months instead of deleting tens of millions of rows (see
`patrols.jobs.purge_old_points`). On SQLite the table is a plain table and all of this is a no-op.

The partitions are not in the ORM metadata: `in_metadata` keeps them out of `flask db check`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

PARENT = "patrol_points"
DEFAULT = "patrol_points_default"
LOCK_TIMEOUT = "10s"
_MONTHLY = re.compile(r"^patrol_points_(\d{4})_(\d{2})$")


def in_metadata(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: leave out the partitions, which have no ORM model of their own."""
    if not (reflected and compare_to is None):
        return True
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not is_partition_name(table)


def is_partition_name(name: str) -> bool:
    return name == DEFAULT or bool(_MONTHLY.match(name))


def naive_utc(moment: datetime) -> datetime:
    """As the column stores it: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def month_start(moment: datetime) -> datetime:
    """The first instant of `moment`'s calendar month in UTC, naive."""
    moment = naive_utc(moment)
    return datetime(moment.year, moment.month, 1)


def add_months(month: datetime, n: int) -> datetime:
    index = month.year * 12 + month.month - 1 + n
    return datetime(index // 12, index % 12 + 1, 1)


def partition_name(month: datetime) -> str:
    return f"{PARENT}_{month.year:04d}_{month.month:02d}"


def is_partitioned(conn: Connection) -> bool:
    """Whether `patrol_points` is a partitioned table here (PostgreSQL after revision 0037)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(
        conn.scalar(
            text(
                "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
            ),
            {"name": PARENT},
        )
    )


def monthly_partitions(conn: Connection) -> Iterator[tuple[str, datetime]]:
    """The attached monthly partitions and their first month, oldest first."""
    names = conn.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:parent AS regclass) ORDER BY c.relname"
        ),
        {"parent": PARENT},
    )
    for name in names:
        found = _MONTHLY.match(name)
        if found:
            yield name, datetime(int(found[1]), int(found[2]), 1)


def _exists(conn: Connection, name: str) -> bool:
    return conn.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None


def create_default(conn: Connection) -> None:
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {DEFAULT} PARTITION OF {PARENT} DEFAULT"))


def create_month(conn: Connection, month: datetime) -> bool:
    """Create one month's partition; False when it exists. Rows of that month already in DEFAULT
    move into it: PostgreSQL refuses a partition whose rows the DEFAULT partition holds."""
    name = partition_name(month)
    if _exists(conn, name):
        return False
    # The parent first, in the mode the DDL needs anyway: no writer adds a row of that month to
    # DEFAULT between the move and the attach, and no lock is upgraded (no deadlock with ingest).
    # A long reader must not queue the ingest behind this lock: give up, the next run retries.
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    conn.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
    if _exists(conn, name):
        return False
    bounds = {"lower": month, "upper": add_months(month, 1)}
    stray = conn.scalar(
        text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE t >= :lower AND t < :upper)"),  # noqa: S608  # nosec B608 - names are constants
        bounds,
    )
    lower, upper = (f"'{bounds[k]:%Y-%m-%d %H:%M:%S}'" for k in ("lower", "upper"))
    if not stray:
        conn.execute(
            text(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ({lower}) TO ({upper})")
        )
        return True
    conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE t >= :lower AND t < :upper RETURNING *) "  # noqa: S608  # nosec B608 - names are built here
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"))
    return True


def ensure_partitions(conn: Connection, now: datetime, months_ahead: int = 2) -> list[str]:
    """Create the partitions of `now`'s month and the next `months_ahead` (idempotent); the names
    created. The caller commits. Nothing on SQLite or on a table that is not partitioned."""
    if not is_partitioned(conn):
        return []
    create_default(conn)
    first = month_start(now)
    months = (add_months(first, n) for n in range(months_ahead + 1))
    return [partition_name(month) for month in months if create_month(conn, month)]


def detach_month(conn: Connection, name: str, cutoff: datetime) -> bool:
    """Detach a month's partition when every point in it belongs to a patrol started before
    `cutoff` (the retention rule would delete them all); False when it is kept, and the caller's
    DELETE then removes its expired rows one by one. The caller commits at once: the parent stays
    locked against ingest until then, for one index probe per recent patrol, not a scan."""
    if not _exists(conn, name) or _holds_recent(conn, name, cutoff):
        return False  # kept, and the table never locked for it (a kept month is probed nightly)
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    # Exclusive before the check is repeated: no point of a recent patrol lands in it between the
    # check and the detach. The unlocked probe above has made this one's pages warm.
    conn.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
    if not _exists(conn, name) or _holds_recent(conn, name, cutoff):
        return False
    conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {name}"))
    return True


def _holds_recent(conn: Connection, name: str, cutoff: datetime) -> bool:
    """Whether the month holds a point of a patrol started at or after `cutoff`."""
    return bool(
        conn.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM patrols CROSS JOIN LATERAL "  # noqa: S608  # nosec B608 - names are built here
                f"(SELECT 1 FROM {name} p WHERE p.patrol_id = patrols.id LIMIT 1) AS hit "
                "WHERE patrols.started_at >= :cutoff)"
            ),
            {"cutoff": naive_utc(cutoff)},
        )
    )


def detached_months(conn: Connection) -> list[str]:
    """Monthly tables no longer attached: detached by a purge that stopped before dropping them."""
    names = conn.scalars(
        text(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
            "AND relname LIKE 'patrol\\_points\\_%' AND pg_table_is_visible(oid) ORDER BY relname"
        )
    )
    return [name for name in names if _MONTHLY.match(name)]


def drop_detached(conn: Connection, name: str) -> int:
    """Count, then drop, a detached month (no writer reaches it any more: the count is exact)."""
    rows = conn.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608  # nosec B608 - names are built here
    conn.execute(text(f"DROP TABLE {name}"))
    return rows
