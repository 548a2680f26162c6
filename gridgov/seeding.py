"""`flask seed demo`: the demo zone and accounts from seeds/, loaded idempotently."""

from __future__ import annotations

import json
import os

from flask import current_app
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.areas.services import refresh_statistics, upsert_features
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
    refresh_statistics()
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


def _actor() -> User:
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    db.session.info["actor_id"] = admin.id
    return admin


def seed_markets() -> int:
    """Markets in both towns (逢二, 逢九, 逢三六九, a Gregorian and a weekly one), their teams and a month of rotation."""
    from datetime import time, timedelta

    from gridgov.markets.models import Market, MarketBlackout, PatrolTeam
    from gridgov.markets.rosters import assign, create_team
    from gridgov.markets.services import create_blackout, create_market
    from gridgov.timeutil import local_today

    admin = _actor()
    data = _load("demo_markets.json")
    code_ids = dict(db.session.execute(select(Area.code, Area.id)).all())
    user_ids = dict(db.session.execute(select(User.username, User.id)).all())
    teams = {}
    for spec in data["teams"]:
        team = db.session.scalar(select(PatrolTeam).where(PatrolTeam.name == spec["name"]))
        if team is None:
            team = create_team(
                admin,
                {
                    "name": spec["name"],
                    "area_id": code_ids[spec["area"]],
                    "member_ids": [user_ids[u] for u in spec["members"]],
                },
            )
        teams[spec["name"]] = team
    for spec in data["blackouts"]:
        if db.session.scalar(select(MarketBlackout.id).where(MarketBlackout.name == spec["name"])) is None:
            create_blackout(
                admin,
                {
                    "area_id": code_ids[spec["area"]],
                    "name": spec["name"],
                    "start": spec["start"],
                    "end": spec["end"],
                },
            )
    today = local_today()
    for spec in data["markets"]:
        market = db.session.scalar(select(Market).where(Market.name == spec["name"]))
        if market is None:
            market = create_market(
                admin,
                {
                    "name": spec["name"],
                    "area_id": code_ids[spec["area"]],
                    "rule": spec["rule"],
                    "missing_day": "skip",
                    "start_time": time.fromisoformat(spec["start_time"]),
                    "end_time": time.fromisoformat(spec["end_time"]),
                    "zones": spec["zones"],
                },
            )
        assign(
            admin,
            market.id,
            {
                "team_ids": [teams[name].id for name in spec["teams"]],
                "from_": today,
                "to": today + timedelta(days=data["rotation_days"]),
                "mode": "rotation",
            },
        )
    return len(data["markets"])


def seed_issues() -> int:
    """The holiday calendar, the category catalogue, a department member and a few reports."""
    import uuid

    from gridgov.issues.catalogue import seed_catalogue
    from gridgov.issues.models import Department, DepartmentMember
    from gridgov.issues.submission import submit
    from gridgov.issues.workflow import act
    from gridgov.workcal.services import seed_from_library

    seed_from_library()
    seed_catalogue()
    data = _load("demo_issues.json")
    users = {u.username: u for u in db.session.scalars(select(User))}
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    for spec in data["department_members"]:
        department = departments[spec["department"]]
        user = users[spec["username"]]
        if (
            db.session.scalar(
                select(DepartmentMember.id).where(
                    DepartmentMember.user_id == user.id, DepartmentMember.department_id == department.id
                )
            )
            is None
        ):
            db.session.add(DepartmentMember(department_id=department.id, user_id=user.id))
    db.session.commit()
    staff = {"worker_jinhua1": users["staff_huangtai"], "worker_yangzhuang1": users["staff_zunhua"]}
    for n, spec in enumerate(data["issues"]):
        reporter = users[spec["reporter"]]
        db.session.info["actor_id"] = reporter.id
        body = {
            "client_uuid": uuid.uuid5(uuid.NAMESPACE_URL, f"gridgov-demo-issue-{n}"),
            "category": spec["category"],
            "description": spec["description"],
            "location": {"type": "Point", "coordinates": spec["point"]},
            "crs": "wgs84",
        }
        done = submit(reporter, body)
        issue = done.issue
        if done.created and spec["dispatch"]:
            town_staff = staff[spec["reporter"]]
            db.session.info["actor_id"] = town_staff.id
            act(
                town_staff,
                issue.id,
                {"action": "dispatch", "department_id": departments[spec["dispatch"]].id},
            )
    return len(data["issues"])


def seed_wages() -> int:
    """Wage cases at every stage, each filed and worked on its own past days (the app clock moved)."""
    from datetime import date, timedelta

    from gridgov.demo_history import at_local
    from gridgov.timeutil import local_today, replay_clock
    from gridgov.wages.intake import file_claim
    from gridgov.wages.models import WageCase, WageParty
    from gridgov.wages.workflow import act

    data = _load("demo_wages.json")
    users = {u.username: u for u in db.session.scalars(select(User))}
    officer = users["wage_officer"]
    second = users["admin"]
    today = local_today()
    for spec in data["cases"]:
        claim = spec["claim"]
        if (
            db.session.scalar(select(WageCase.id).where(WageCase.project_name == claim["project"]["name"]))
            is not None
        ):
            continue
        claim = {
            **claim,
            "work_period": {
                "from_": date.fromisoformat(claim["work_period"]["from"]),
                "to": date.fromisoformat(claim["work_period"]["to"]),
            },
        }
        filed = today - timedelta(days=spec.get("filed_days_ago", 0))
        with replay_clock(at_local(filed, 9.0)) as move:
            case, _ = file_claim(claim)
            db.session.info["actor_id"] = officer.id
            parties = {
                p.role: p.id
                for p in db.session.scalars(select(WageParty).where(WageParty.case_id == case.id))
            }
            for number, step in enumerate(spec["steps"]):
                day = filed + timedelta(days=step.get("day", 0))
                move(at_local(day, 10.0 + number * 0.25))
                body = {k: v for k, v in step.items() if k not in ("officers", "party", "due_in_days", "day")}
                if "officers" in step:
                    body["officer_ids"] = [officer.id, second.id]
                if "party" in step:
                    body["party_id"] = parties[step["party"]]
                if "due_in_days" in step:
                    body["due_on"] = day + timedelta(days=step["due_in_days"])
                if "instalments" in step:
                    body["instalments"] = [
                        {"due": day + timedelta(days=i["in_days"]), "amount": i["amount"]}
                        for i in step["instalments"]
                    ]
                act(officer, case.id, body)
    return len(data["cases"])


def seed_demo(history: bool = True) -> dict:
    """Load every domain's demo data, and its past three months unless `history` is False;
    running it again changes nothing."""
    from gridgov.demo_history import seed_history

    areas = seed_zone()
    users = seed_users()
    markets = seed_markets()
    issues = seed_issues()
    wages = seed_wages()
    past = seed_history() if history else {}
    password = _load("demo_users.json")["password"]
    return {
        "history": past,
        "areas": areas,
        "users": users,
        "markets": markets,
        "issues": issues,
        "wages": wages,
        "password": password,
    }
