"""In-process spatial index of area boundaries (shapely STRtree, one tree per level). No Flask import.

Border rule: a point on the shared border of two areas of the same level belongs to the one
whose interior contains it; when it lies on the boundary of several and the interior of none,
it belongs to the one with the smallest code. The same point always gives the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from gridgov.areas.geometry import degrees_for_metres, distance_m

LEVELS_DEEPEST_FIRST = ("micro_grid", "grid", "community", "town", "district")


@dataclass(frozen=True)
class IndexedArea:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


class _LevelTree:
    def __init__(self, areas: list[IndexedArea], geoms: list[BaseGeometry]):
        self.areas = areas
        self.geoms = np.array(geoms, dtype=object)
        shapely.prepare(self.geoms)
        self.tree = STRtree(self.geoms)

    def hits(self, point: shapely.Point) -> list[int]:
        return list(self.tree.query(point, predicate="intersects"))


class SpatialIndex:
    """Answers "which area is this point in" and "which micro-grid is nearest"."""

    def __init__(self, rows: list[tuple[IndexedArea, BaseGeometry]]):
        self.by_id = {area.id: area for area, _ in rows}
        self.levels: dict[str, _LevelTree] = {}
        for level in LEVELS_DEEPEST_FIRST:
            chosen = [(a, g) for a, g in rows if a.level == level and g is not None and not g.is_empty]
            if chosen:
                self.levels[level] = _LevelTree([a for a, _ in chosen], [g for _, g in chosen])

    def __len__(self) -> int:
        return len(self.by_id)

    def locate(self, lon: float, lat: float) -> IndexedArea | None:
        """The deepest area covering the point, by the border rule above; None when outside all."""
        point = shapely.Point(lon, lat)
        for level in LEVELS_DEEPEST_FIRST:
            tree = self.levels.get(level)
            if tree is None:
                continue
            hits = tree.hits(point)
            if not hits:
                continue
            if len(hits) == 1:
                return tree.areas[hits[0]]
            inside = [i for i in hits if shapely.contains_properly(tree.geoms[i], point)]
            return min((tree.areas[i] for i in (inside or hits)), key=lambda a: a.code)
        return None

    def path(self, area: IndexedArea) -> list[IndexedArea]:
        """The area's ancestors and itself, from the top level down."""
        chain = [area]
        while chain[-1].parent_id is not None and chain[-1].parent_id in self.by_id:
            chain.append(self.by_id[chain[-1].parent_id])
        return list(reversed(chain))

    def nearest(self, lon: float, lat: float, level: str = "micro_grid") -> tuple[IndexedArea, float] | None:
        """The nearest area of a level and its geodesic distance in metres."""
        tree = self.levels.get(level)
        if tree is None:
            return None
        point = shapely.Point(lon, lat)
        # Planar nearest in degrees is a good first guess; every area within the guess's distance
        # (widened for longitude shrinkage) is then measured on the ellipsoid.
        first = int(tree.tree.query_nearest(point)[0])
        guess_m = distance_m(lon, lat, tree.geoms[first])
        reach = degrees_for_metres(guess_m * 1.01 + 1.0, lat)
        if not math.isfinite(reach):  # no distance to measure from (a pole): say there is no nearest
            return None
        candidates = tree.tree.query(point.buffer(reach))
        best = min(((distance_m(lon, lat, tree.geoms[i]), i) for i in candidates), default=(guess_m, first))
        return tree.areas[best[1]], best[0]
