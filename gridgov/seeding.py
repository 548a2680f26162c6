"""`flask seed demo`: the demo zone and accounts from seeds/, loaded idempotently."""

from __future__ import annotations

import json
import os

from flask import current_app
from sqlalchemy import select

from gridgov.areas.services import upsert_features
from gridgov.auth.models import User
from gridgov.auth.services import areas_by_codes, create_user
from gridgov.extensions import db


def seeds_dir() -> str:
    return os.path.join(os.path.dirname(current_app.root_path), "seeds")


def _load(name: str):
    with open(os.path.join(seeds_dir(), name), encoding="utf-8") as handle:
        return json.load(handle)


def seed_zone() -> int:
    features = _load("demo_zone.geojson")["features"]
    upsert_features(features)
    db.session.commit()
    return len(features)


def seed_users() -> list[dict]:
    data = _load("demo_users.json")
    accounts = []
    for spec in data["users"]:
        if db.session.scalar(select(User.id).where(User.username == spec["username"])) is None:
            area_ids = [a.id for a in areas_by_codes(spec["areas"])]
            create_user(
                spec["username"],
                data["password"],
                spec["roles"],
                area_ids,
                display_name=spec["display_name"],
                phone=spec.get("phone"),
            )
        accounts.append({"username": spec["username"], "roles": spec["roles"], "areas": spec["areas"]})
    return accounts


def seed_demo() -> dict:
    """Load every domain's demo data; running it again changes nothing."""
    areas = seed_zone()
    users = seed_users()
    return {"areas": areas, "users": users, "password": _load("demo_users.json")["password"]}
