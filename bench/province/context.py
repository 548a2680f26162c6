"""What province stages share: the context, the stage record, COPY helpers."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psycopg

LEVELS = ("district", "town", "community", "grid", "micro_grid")


@dataclass
class Context:
    """What the stages made so far (see the package docstring)."""

    seed: int
    scale: float
    rng: random.Random = field(default_factory=random.Random)
    areas: dict[str, list[int]] = field(default_factory=lambda: {level: [] for level in LEVELS})
    area_path: dict[int, str] = field(default_factory=dict)
    users: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    worker_of_grid: dict[int, int] = field(default_factory=dict)
    departments: list[int] = field(default_factory=list)
    department_members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    categories: list[int] = field(default_factory=list)
    markets: list[int] = field(default_factory=list)

    @property
    def towns(self) -> int:
        return max(1, round(100 * self.scale))

    def load(self, conn: psycopg.Connection) -> None:
        """Fill the context from the database, for stages run after skipped ones."""
        for area_id, level, path in conn.execute("SELECT id, level, path FROM areas ORDER BY id"):
            self.areas[level].append(area_id)
            self.area_path[area_id] = path
        for user_id, role in conn.execute("SELECT user_id, role FROM user_roles ORDER BY user_id"):
            self.users[role].append(user_id)
        for user_id, area_id in conn.execute(
            "SELECT ua.user_id, ua.area_id FROM user_areas ua JOIN user_roles r ON r.user_id = ua.user_id"
            " JOIN areas a ON a.id = ua.area_id WHERE r.role = 'grid_worker' AND a.level = 'grid'"
        ):
            self.worker_of_grid[area_id] = user_id
        self.departments = [r[0] for r in conn.execute("SELECT id FROM departments ORDER BY id")]
        for dept_id, user_id in conn.execute("SELECT department_id, user_id FROM department_members"):
            self.department_members[dept_id].append(user_id)
        self.categories = [r[0] for r in conn.execute("SELECT id FROM issue_categories ORDER BY id")]
        self.markets = [r[0] for r in conn.execute("SELECT id FROM markets ORDER BY id")]


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[psycopg.Connection, Context], None]


def copy_rows(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable) -> int:
    """COPY rows (tuples in `columns` order) into a table; the number written."""
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def reset_sequence(conn: psycopg.Connection, table: str) -> None:
    """After COPY with explicit ids, the next id the app's inserts take."""
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
    )
