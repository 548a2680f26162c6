"""The floor of bench/cpu.py: the least an authenticated read can cost on this stack.

A minimal Flask app that checks a bearer token with PyJWT (the same key and algorithm as gridgov)
and reads the caller's row from the same database with SQLAlchemy Core. gunicorn serves it beside
gridgov in the same run, so gridgov's CPU per request is read as a multiple of this one.
`/floor-token` checks the token and reads nothing: the difference between the two is what one
SQLAlchemy Core statement costs on this stack, the unit bench/cpu.py counts an endpoint's statements in.
"""

from __future__ import annotations

import os

import jwt
from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

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


@app.get("/ready")
def ready():
    return jsonify(ok=True)
