"""Departments and the category catalogue (codes, names, handling department, time limits)."""

from __future__ import annotations

import json
import os

from flask import current_app
from sqlalchemy import select

from gridgov.auth.models import User
from gridgov.errors import Conflict, Invalid, NotFound
from gridgov.extensions import db
from gridgov.http import request_cached
from gridgov.i18n import Msg
from gridgov.issues.models import Category, Department, DepartmentMember
from gridgov.refs import in_scope


def categories_query(include_inactive: bool = False):
    query = select(Category).order_by(Category.group, Category.code)
    return query if include_inactive else query.where(Category.active.is_(True))


def category_by_code(code: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.code == code, Category.active.is_(True)))
    if category is None:
        raise Invalid(
            Msg(f"问题类别 {code} 不存在。", f"No category {code}."),
            errors={"json": {"category": ["unknown category; see GET /api/v1/categories"]}},
        )
    return category


def _department_id(code: str | None) -> int | None:
    if not code:
        return None
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise Invalid(Msg(f"部门 {code} 不存在。", f"No department {code}."))
    return department.id


def create_category(data: dict) -> Category:
    if db.session.scalar(select(Category.id).where(Category.code == data["code"])) is not None:
        raise Conflict(Msg(f"类别编码 {data['code']} 已存在。", f"The category code {data['code']} exists."))
    fields = {k: v for k, v in data.items() if k != "department"}
    category = Category(**fields, department_id=_department_id(data.get("department")))
    db.session.add(category)
    db.session.commit()
    return category


def update_category(category_id: int, changes: dict) -> Category:
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound()
    for field, value in changes.items():
        if field == "department":
            category.department_id = _department_id(value)
        else:
            setattr(category, field, value)
    db.session.commit()
    return category


def departments_query():
    return select(Department).order_by(Department.code)


def list_categories() -> list[Category]:
    return list(db.session.scalars(categories_query()))


def list_departments(user: User | None = None) -> list[Department]:
    """Every department, or those serving the user's areas (the ones he may dispatch to)."""
    query = departments_query()
    if user is not None:
        query = query.where(Department.id.in_(in_scope("department", user)))
    return list(db.session.scalars(query))


def user_department_ids(user: User) -> list[int]:
    """The departments the user works for (read with the principal, else asked once per request)."""
    if "department_rows" in user.__dict__:
        return [row.department_id for row in user.department_rows]
    return list(
        request_cached(
            ("department_ids", user.id),
            lambda: tuple(
                db.session.scalars(
                    select(DepartmentMember.department_id).where(DepartmentMember.user_id == user.id)
                )
            ),
        )
    )


def seed_catalogue(path: str | None = None) -> int:
    """Departments and categories from seeds/issue_catalogue.json, by code, idempotently (commits)."""
    path = path or os.path.join(os.path.dirname(current_app.root_path), "seeds", "issue_catalogue.json")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    for spec in data["departments"]:
        if db.session.scalar(select(Department.id).where(Department.code == spec["code"])) is None:
            db.session.add(Department(code=spec["code"], name=spec["name"]))
    db.session.flush()
    for spec in data["categories"]:
        if db.session.scalar(select(Category.id).where(Category.code == spec["code"])) is None:
            db.session.add(
                Category(
                    code=spec["code"],
                    name_zh=spec["name_zh"],
                    name_en=spec["name_en"],
                    group=spec["group"],
                    limit_value=spec["limit"],
                    limit_unit=spec["unit"],
                    urgent=spec.get("urgent", False),
                    department_id=_department_id(spec["department"]),
                )
            )
    db.session.commit()
    return len(data["categories"])
