"""Importing areas from GeoJSON (all or nothing), hierarchy checks, and coverage reports."""

from __future__ import annotations

from collections import defaultdict

import geojson
from flask import current_app
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.strtree import STRtree
from sqlalchemy import select

from gridgov.areas.geometry import (
    GeometryError,
    GeometryLimits,
    area_m2,
    degrees_for_metres,
    parse_area_geometry,
    rfc7946_oriented,
)
from gridgov.areas.models import LEVELS, Area
from gridgov.areas.services import can_write, get_area, refresh_statistics, upsert_features
from gridgov.auth.models import User
from gridgov.errors import Invalid
from gridgov.extensions import db
from gridgov.i18n import Msg

MAX_FEATURES = 20_000


def _limits() -> GeometryLimits:
    return GeometryLimits(max_vertices=current_app.config["AREA_MAX_VERTICES"])


def _check_properties(props) -> list[Msg]:
    if not isinstance(props, dict):
        return [Msg("缺少 properties。", "The feature has no properties.")]
    problems = []
    code = props.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 32:
        problems.append(
            Msg("code 必须是 1 至 32 个字符的字符串。", "code must be a string of 1 to 32 characters.")
        )
    name = props.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems.append(
            Msg("name 必须是 1 至 100 个字符的字符串。", "name must be a string of 1 to 100 characters.")
        )
    if props.get("level") not in LEVELS:
        problems.append(
            Msg(f"level 必须是 {', '.join(LEVELS)} 之一。", f"level must be one of {', '.join(LEVELS)}.")
        )
    parent_code = props.get("parent_code")
    if props.get("level") == "district":
        if parent_code:
            problems.append(Msg("区级区域不能有上级。", "A district has no parent."))
    elif not isinstance(parent_code, str) or not parent_code:
        problems.append(Msg("缺少 parent_code。", "parent_code is required below district level."))
    return problems


def validate_features(user: User, features: list) -> None:
    """Check every feature and the hierarchy they make with the database; Invalid lists each bad one."""
    problems: dict[int, list[Msg]] = defaultdict(list)
    parsed: dict[str, tuple[int, dict, BaseGeometry]] = {}
    limits = _limits()
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems[index].append(Msg("不是 GeoJSON Feature。", "Not a GeoJSON Feature."))
            continue
        props = feature.get("properties")
        found = _check_properties(props)
        if not found:
            try:
                geom = parse_area_geometry(feature.get("geometry"), props["level"], limits)
            except GeometryError as exc:
                found = exc.problems
        if not found and props["code"] in parsed:
            found = [Msg(f"编码 {props['code']} 在文件中重复。", f"The code {props['code']} appears twice.")]
        if found:
            problems[index].extend(found)
        else:
            parsed[props["code"]] = (index, props, geom)
    failed = {_code_of(features[i]) for i in problems}
    _check_hierarchy(user, parsed, failed, problems)
    if problems:
        raise Invalid(
            Msg(
                f"{len(problems)} 个要素有误，未导入任何内容。",
                f"{len(problems)} features are invalid; nothing was imported.",
            ),
            errors={
                "json": {
                    "features": {
                        str(index): {"code": _code_of(features[index]), "messages": messages}
                        for index, messages in sorted(problems.items())
                    }
                }
            },
        )


def _code_of(feature) -> str | None:
    props = feature.get("properties") if isinstance(feature, dict) else None
    return props.get("code") if isinstance(props, dict) else None


def _check_hierarchy(user: User, parsed: dict, failed: set, problems: dict) -> None:
    codes = list(parsed)
    parent_codes = {p["parent_code"] for _, p, _ in parsed.values() if p.get("parent_code")}
    known = {
        a.code: a for a in db.session.scalars(select(Area).where(Area.code.in_(codes + list(parent_codes))))
    }
    tolerance_m = current_app.config["AREA_PARENT_TOLERANCE_M"]
    overlap_m2 = current_app.config["AREA_OVERLAP_TOLERANCE_M2"]

    def geometry(code: str):
        if code in parsed:
            return parsed[code][2]
        area = known.get(code)
        return shape(area.geometry) if area is not None and area.geometry else None

    def level(code: str):
        return parsed[code][1]["level"] if code in parsed else known[code].level

    for code, (index, props, geom) in parsed.items():
        existing = known.get(code)
        if existing is not None and existing.level != props["level"]:
            problems[index].append(
                Msg(
                    f"区域 {code} 已是 {existing.level} 级，不能改为 {props['level']}。",
                    f"Area {code} is a {existing.level}; its level cannot change.",
                )
            )
        if existing is not None and not can_write(user, existing):
            problems[index].append(Msg(f"无权修改区域 {code}。", f"You may not change area {code}."))
        parent_code = props.get("parent_code")
        if not parent_code:
            if not can_write(user, None):
                problems[index].append(
                    Msg("只有管理员可以导入区级区域。", "Only admins may import districts.")
                )
            continue
        if parent_code in failed:
            problems[index].append(
                Msg(f"上级区域 {parent_code} 本身有误。", f"The parent {parent_code} is itself invalid.")
            )
            continue
        if parent_code not in parsed and parent_code not in known:
            problems[index].append(
                Msg(f"上级区域 {parent_code} 不存在。", f"The parent {parent_code} does not exist.")
            )
            continue
        expected = LEVELS[LEVELS.index(props["level"]) - 1]
        if level(parent_code) != expected:
            problems[index].append(
                Msg(
                    f"{props['level']} 的上级应为 {expected} 级，{parent_code} 是 {level(parent_code)} 级。",
                    f"The parent of a {props['level']} must be a {expected}; "
                    f"{parent_code} is a {level(parent_code)}.",
                )
            )
            continue
        if parent_code not in parsed and not can_write(user, known[parent_code]):
            problems[index].append(
                Msg(f"无权在区域 {parent_code} 下添加区域。", f"You may not add areas under {parent_code}.")
            )
            continue
        parent_geom = geometry(parent_code)
        lat = geom.centroid.y
        if parent_geom is not None and not parent_geom.buffer(degrees_for_metres(tolerance_m, lat)).covers(
            geom
        ):
            outside = geom.difference(parent_geom)
            where = outside.representative_point()
            problems[index].append(
                Msg(
                    f"超出上级区域 {parent_code} 约 {area_m2(outside):,.0f} 平方米，位置 [{where.x:.6f}, {where.y:.6f}]。",
                    f"Extends {area_m2(outside):,.0f} m² outside its parent {parent_code}, at [{where.x:.6f}, {where.y:.6f}].",
                )
            )
    _check_existing_children(parsed, known, tolerance_m, problems)
    _check_siblings(parsed, known, overlap_m2, problems)


def _check_existing_children(parsed, known, tolerance_m, problems) -> None:
    """A boundary that shrinks must still hold the children already stored under it."""
    for code, (index, _props, geom) in parsed.items():
        existing = known.get(code)
        if existing is None:
            continue
        reach = geom.buffer(degrees_for_metres(tolerance_m, geom.centroid.y))
        for child in db.session.scalars(select(Area).where(Area.parent_id == existing.id)):
            if child.code in parsed or not child.geometry:
                continue
            if not reach.covers(shape(child.geometry)):
                problems[index].append(
                    Msg(
                        f"新边界不再包含下级区域 {child.code}。",
                        f"The new boundary no longer contains the child {child.code}.",
                    )
                )


def _check_siblings(parsed, known, overlap_m2, problems) -> None:
    by_parent: dict[str, list[str]] = defaultdict(list)
    for code, (_, props, _) in parsed.items():
        if props.get("parent_code"):
            by_parent[props["parent_code"]].append(code)
    for parent_code, codes in by_parent.items():
        parent = known.get(parent_code)
        others = []
        if parent is not None:
            others = [
                a
                for a in db.session.scalars(select(Area).where(Area.parent_id == parent.id))
                if a.code not in parsed and a.geometry
            ]
        names = codes + [a.code for a in others]
        geoms = [parsed[c][2] for c in codes] + [shape(a.geometry) for a in others]
        tree = STRtree(geoms)
        for i, code in enumerate(codes):
            for j in tree.query(geoms[i], predicate="intersects"):
                if j == i or (j < len(codes) and j < i):
                    continue
                overlap = geoms[i].intersection(geoms[j])
                size = area_m2(overlap)
                if size > overlap_m2:
                    where = overlap.representative_point()
                    pairs = [(code, names[j])] + ([(names[j], code)] if j < len(codes) else [])
                    for mine, theirs in pairs:
                        problems[parsed[mine][0]].append(
                            Msg(
                                f"与同级区域 {theirs} 重叠约 {size:,.1f} 平方米，位置 [{where.x:.6f}, {where.y:.6f}]。",
                                f"Overlaps its sibling {theirs} by {size:,.1f} m² at [{where.x:.6f}, {where.y:.6f}].",
                            )
                        )


def import_collection(user: User, collection: dict) -> dict:
    """Upsert a FeatureCollection of areas by code, all or nothing (commits)."""
    features = collection.get("features") if isinstance(collection, dict) else None
    if collection.get("type") != "FeatureCollection" or not isinstance(features, list) or not features:
        raise Invalid(
            Msg("请提交非空的 GeoJSON FeatureCollection。", "Send a non-empty GeoJSON FeatureCollection.")
        )
    if len(features) > MAX_FEATURES:
        raise Invalid(
            Msg(f"一次最多导入 {MAX_FEATURES} 个要素。", f"At most {MAX_FEATURES} features per import.")
        )
    validate_features(user, features)
    existing = set(
        db.session.scalars(
            select(Area.code).where(Area.code.in_([f["properties"]["code"] for f in features]))
        )
    )
    areas = upsert_features(features)
    refresh_statistics()
    db.session.commit()
    return {
        "created": sum(1 for a in areas if a.code not in existing),
        "updated": sum(1 for a in areas if a.code in existing),
        "codes": [a.code for a in areas],
    }


def coverage(user: User, area_id: int) -> geojson.FeatureCollection:
    """Parts of an area that no child covers, and overlaps between children, as GeoJSON."""
    parent = get_area(user, area_id)
    children = [
        c
        for c in db.session.scalars(select(Area).where(Area.parent_id == parent.id).order_by(Area.code))
        if c.geometry
    ]
    tolerance = current_app.config["AREA_OVERLAP_TOLERANCE_M2"]
    features = []
    if parent.geometry:
        parent_geom = shape(parent.geometry)
        union = unary_union([shape(c.geometry) for c in children]) if children else None
        gaps = parent_geom.difference(union) if union is not None else parent_geom
        for part in getattr(gaps, "geoms", [gaps]):
            size = area_m2(part)
            if not part.is_empty and size > tolerance:
                features.append(
                    geojson.Feature(
                        geometry=rfc7946_oriented(mapping(part)),
                        properties={"kind": "gap", "area_m2": round(size, 1)},
                    )
                )
    geoms = [shape(c.geometry) for c in children]
    tree = STRtree(geoms) if geoms else None
    for i, child in enumerate(children):
        for j in tree.query(geoms[i], predicate="intersects") if tree is not None else []:
            if j <= i:
                continue
            overlap = geoms[i].intersection(geoms[j])
            size = area_m2(overlap)
            if size > tolerance:
                features.append(
                    geojson.Feature(
                        geometry=rfc7946_oriented(mapping(overlap)),
                        properties={
                            "kind": "overlap",
                            "codes": [child.code, children[j].code],
                            "area_m2": round(size, 1),
                        },
                    )
                )
    covered = 1.0
    if parent.geometry:
        gap_area = sum(f["properties"]["area_m2"] for f in features if f["properties"]["kind"] == "gap")
        covered = max(0.0, 1 - gap_area / max(area_m2(shape(parent.geometry)), 1e-9))
    collection = geojson.FeatureCollection(features)
    collection["properties"] = {
        "area": parent.code,
        "children": len(children),
        "covered_ratio": round(covered, 6),
    }
    return collection
