"""Stage `people`: departments, issue categories and the accounts the figures need.

Every account shares one password hash (argon2 is slow by design; one hash, a million rows):
`province-pass-2026`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from bench.province.context import Context, copy_rows, reset_sequence
from gridgov.auth.security import hash_password

PASSWORD = "province-pass-2026"
DEPARTMENTS = (
    ("URBAN", "城管"), ("ENV", "生态环境"), ("HOUSING", "住建"), ("WATER", "水利"),
    ("MARKET", "市场监管"), ("FIRE", "消防"), ("TRAFFIC", "交通"), ("HR", "人社"),
)  # fmt: skip
CATEGORIES = (  # code, Chinese, English, department code, limit, unit
    ("ENV-WEEDS", "杂草蚊蝇", "Weeds and mosquitoes", "ENV", 3, "days"),
    ("FIRE-STAIR", "楼道堆物", "Cluttered stairwell", "FIRE", 2, "days"),
    ("CITY-LIGHT", "路灯损坏", "Broken street light", "URBAN", 5, "days"),
    ("MKT-STALL", "占道经营", "Road-occupying stall", "URBAN", 24, "hours"),
    ("ENV-DUST", "工地扬尘", "Building-site dust", "HOUSING", 48, "hours"),
    ("WAGE-ARREARS", "拖欠工资", "Unpaid wages", "HR", 5, "days"),
)


def seed_people(conn: psycopg.Connection, ctx: Context) -> None:
    """Departments per district; a worker per grid, staff per town, a leader per district, an admin."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    password_hash = hash_password(PASSWORD)
    users, roles, places, members, departments = [], [], [], [], []

    def account(username: str, name: str, role: str, area_id: int | None) -> int:
        user_id = len(users) + 1
        users.append((user_id, username, name, password_hash, True, 0, now))
        roles.append((len(roles) + 1, user_id, role))
        if area_id is not None:
            places.append((len(places) + 1, user_id, area_id))
        ctx.users[role].append(user_id)
        return user_id

    account("admin", "管理员", "admin", None)
    for n, district_id in enumerate(ctx.areas["district"], 1):
        account(f"leader_{n}", f"区领导{n}", "leader", district_id)
        for code, name in DEPARTMENTS:
            dept_id = len(departments) + 1
            departments.append((dept_id, f"{code}-{n}", f"区{n}{name}", district_id))
            ctx.departments.append(dept_id)
            member = account(f"dept_{code.lower()}_{n}", f"区{n}{name}专员", "department", district_id)
            members.append((len(members) + 1, dept_id, member))
            ctx.department_members[dept_id].append(member)
    for n, town_id in enumerate(ctx.areas["town"], 1):
        account(f"staff_{n}", f"镇干部{n}", "staff", town_id)
    for n, grid_id in enumerate(ctx.areas["grid"], 1):
        ctx.worker_of_grid[grid_id] = account(f"worker_{n}", f"网格员{n}", "grid_worker", grid_id)

    copy_rows(conn, "users", ("id", "username", "display_name", "password_hash", "is_active",
                              "token_version", "created_at"), users)  # fmt: skip
    copy_rows(conn, "user_roles", ("id", "user_id", "role"), roles)
    copy_rows(conn, "user_areas", ("id", "user_id", "area_id"), places)
    copy_rows(conn, "departments", ("id", "code", "name", "area_id"), departments)
    copy_rows(conn, "department_members", ("id", "department_id", "user_id"), members)
    first_dept = {code: i + 1 for i, (code, _) in enumerate(DEPARTMENTS)}  # district 1's departments
    categories = [
        (i, code, zh, en, "", first_dept[dept], limit, unit, False, True, False)
        for i, (code, zh, en, dept, limit, unit) in enumerate(CATEGORIES, 1)
    ]
    copy_rows(conn, "issue_categories", ("id", "code", "name_zh", "name_en", "\"group\"", "department_id",
                                         "limit_value", "limit_unit", "urgent", "active", "public"), categories)  # fmt: skip
    ctx.categories = [row[0] for row in categories]
    for table in (
        "users",
        "user_roles",
        "user_areas",
        "departments",
        "department_members",
        "issue_categories",
    ):
        reset_sequence(conn, table)
    print(f"  {len(users):,} accounts, {len(departments)} departments, {len(categories)} categories")
