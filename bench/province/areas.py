"""Stage `areas`: districts → towns → communities → grids → micro-grids, squares tiling 1° × 1°.

Every boundary is an axis-aligned box whose corners are computed from integer micro-grid
indices, so neighbours share their edges exactly and a parent's box is the union of its children's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg

from bench.province.context import Context, copy_rows, reset_sequence

LON0, LAT0 = 113.0, 33.0
SIDE = 0.001  # degrees: one micro-grid, about 93 m × 111 m at 33.5° N
TOWN = 100  # micro-grids along a town's side; towns lie in rows of ten, a district is one row
# Children per parent along (lon, lat): community in town, grid in community, micro-grid in grid.
SPLITS = {"community": (5, 2), "grid": (4, 5), "micro_grid": (5, 10)}
COLUMNS = (
    "id", "code", "name", "level", "parent_id", "path", "geometry",
    "min_lon", "min_lat", "max_lon", "max_lat", "created_at", "updated_at",
)  # fmt: skip


def _lon(i: int) -> float:
    return round(LON0 + i * SIDE, 6)


def _lat(j: int) -> float:
    return round(LAT0 + j * SIDE, 6)


def _box(i0: int, j0: int, i1: int, j1: int) -> tuple[str, float, float, float, float]:
    x0, y0, x1, y1 = _lon(i0), _lat(j0), _lon(i1), _lat(j1)
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":")), x0, y0, x1, y1


def _children(level: str, i0: int, j0: int, width: int, height: int) -> Iterator[tuple[int, int, int, int]]:
    cols, rows = SPLITS[level]
    w, h = width // cols, height // rows
    for r in range(rows):
        for c in range(cols):
            yield i0 + c * w, j0 + r * h, w, h


def _rows(ctx: Context) -> Iterator[tuple]:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    next_id = 0

    def area(code, name, level, parent_id, parent_path, i0, j0, width, height):
        nonlocal next_id
        next_id += 1
        path = f"{parent_path}{next_id}/"
        ctx.areas[level].append(next_id)
        ctx.area_path[next_id] = path
        geometry, *bounds = _box(i0, j0, i0 + width, j0 + height)
        return (next_id, code, name, level, parent_id, path, geometry, *bounds, now, now)

    districts = (ctx.towns + 9) // 10
    for d in range(districts):
        d_code = f"4117{d + 1:02d}"
        towns = min(10, ctx.towns - d * 10)
        row = area(
            d_code + "000000", f"省辖区{d + 1}", "district", None, "/", 0, d * TOWN, towns * TOWN, TOWN
        )
        yield row
        d_id, d_path = row[0], row[5]
        for t in range(towns):
            t_code = f"{d_code}{t + 1:03d}"
            row = area(
                t_code + "000", f"区{d + 1}镇{t + 1}", "town", d_id, d_path, t * TOWN, d * TOWN, TOWN, TOWN
            )
            yield row
            t_id, t_path = row[0], row[5]
            for c, (ci, cj, cw, ch) in enumerate(_children("community", t * TOWN, d * TOWN, TOWN, TOWN), 1):
                c_code = f"{t_code}{c:03d}"
                row = area(c_code, f"镇{t + 1}社区{c}", "community", t_id, t_path, ci, cj, cw, ch)
                yield row
                c_id, c_path = row[0], row[5]
                for g, (gi, gj, gw, gh) in enumerate(_children("grid", ci, cj, cw, ch), 1):
                    g_code = f"{c_code}{g:02d}"
                    row = area(g_code, f"社区{c}网格{g}", "grid", c_id, c_path, gi, gj, gw, gh)
                    yield row
                    g_id, g_path = row[0], row[5]
                    for m, (mi, mj, mw, mh) in enumerate(_children("micro_grid", gi, gj, gw, gh), 1):
                        yield area(
                            f"{g_code}{m:02d}",
                            f"网格{g}微网格{m}",
                            "micro_grid",
                            g_id,
                            g_path,
                            mi,
                            mj,
                            mw,
                            mh,
                        )


def seed_areas(conn: psycopg.Connection, ctx: Context) -> None:
    """All areas in one COPY, then the index stamp so every worker builds (or skips) its index."""
    count = copy_rows(conn, "areas", COLUMNS, _rows(ctx))
    reset_sequence(conn, "areas")
    conn.execute("DELETE FROM area_index_version")
    conn.execute("INSERT INTO area_index_version (id, stamp) VALUES (1, %s)", (uuid.uuid4().hex,))
    print(f"  {count:,} areas ({len(ctx.areas['micro_grid']):,} micro-grids)")
