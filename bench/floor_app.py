"""The floor of bench/cpu.py: the least an authenticated read can cost on this stack.

A minimal Flask app that checks a bearer token with PyJWT (the same key and algorithm as gridgov)
and reads the caller's row from the same database with SQLAlchemy Core. gunicorn serves it beside
gridgov in the same run, so gridgov's CPU per request is read as a multiple of this one.
`/floor-token` checks the token and reads nothing: the difference between the two is what one
SQLAlchemy Core statement costs on this stack, the unit bench/cpu.py counts an endpoint's statements in.
`/floor-page` is the floor plus the newest 20 issues loaded as ORM entities and dumped by a plain
marshmallow schema of their columns: what the fixed stack (Flask-SQLAlchemy's ORM, marshmallow)
costs for a page of issues with none of gridgov's own work (scope, briefs, moves, its schema).
"""

from __future__ import annotations

import functools
import os
import warnings
from datetime import date, datetime

import jwt
from flask import Flask, jsonify, request
from marshmallow import Schema, fields
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session, registry
from sqlalchemy.types import NullType

app = Flask(__name__)
# The same driver as gridgov (psycopg 3).
engine = create_engine(os.environ["GRIDGOV_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
KEY = os.environ.get("GRIDGOV_SECRET_KEY", "dev-only-insecure-secret-key-change-me")
ONE_ROW = text("SELECT id, username, display_name FROM users WHERE id = :id AND is_active")


def _claims() -> dict | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        return jwt.decode(token, KEY, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None


@app.get("/floor-token")
def floor_token():
    claims = _claims()
    if claims is None:
        return jsonify(error="unauthorized"), 401
    return jsonify(id=int(claims["sub"]))


@app.get("/floor")
def floor():
    claims = _claims()
    if claims is None:
        return jsonify(error="unauthorized"), 401
    with engine.connect() as conn:
        row = conn.execute(ONE_ROW, {"id": int(claims["sub"])}).mappings().first()
    if row is None:
        return jsonify(error="unauthorized"), 401
    return jsonify(dict(row))


_FIELDS = {int: fields.Integer, str: fields.String, float: fields.Float, bool: fields.Boolean}
_FIELDS.update({datetime: fields.DateTime, date: fields.Date})


@functools.cache
def _page_parts():
    """The issues table reflected and mapped to a bare class, and a schema of its columns (those
    gridgov's Issue maps: not PostGIS's `geom`, a type SQLAlchemy does not know)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        known = [c["name"] for c in inspect(engine).get_columns("issues") if not isinstance(c["type"], NullType)]
        table = Table("issues", MetaData(), autoload_with=engine, include_columns=known)
    mapped = type("Issue", (), {})
    registry().map_imperatively(mapped, table)

    def field(column):
        try:
            return _FIELDS.get(column.type.python_type, fields.Raw)(allow_none=column.nullable)
        except NotImplementedError:
            return fields.Raw()

    schema = Schema.from_dict({c.name: field(c) for c in table.columns})(many=True)
    return mapped, schema


@app.get("/floor-page")
def floor_page():
    claims = _claims()
    if claims is None:
        return jsonify(error="unauthorized"), 401
    mapped, schema = _page_parts()
    with Session(engine) as session:
        if session.execute(ONE_ROW, {"id": int(claims["sub"])}).first() is None:
            return jsonify(error="unauthorized"), 401
        issues = session.scalars(select(mapped).order_by(mapped.id.desc()).limit(20)).all()
        return jsonify(schema.dump(issues))


@app.get("/ready")
def ready():
    return jsonify(ok=True)
