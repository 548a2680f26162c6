"""OpenAPI and docs, CLI commands, migrations, leader lock and log scrubbing."""

import io
import logging
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from gridgov import create_app
from gridgov.areas.models import Area
from gridgov.auth.models import User
from gridgov.config import ConfigError, load_config
from gridgov.extensions import db
from gridgov.logs import configure_logging, scrub
from gridgov.scheduler.leader import LeaderLock
from gridgov.schema import in_metadata


def test_openapi_document_and_offline_docs(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in spec["paths"]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page
    assert "http://" not in page and "https://" not in page
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_production_refuses_default_secret_and_missing_database(tmp_path):
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"GRIDGOV_ENV": "production", "GRIDGOV_DATABASE_URL": "sqlite:///x.db"})
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"GRIDGOV_ENV": "production", "GRIDGOV_SECRET_KEY": "k" * 40})
    good = {
        "GRIDGOV_ENV": "production",
        "GRIDGOV_SECRET_KEY": "k" * 40,
        "GRIDGOV_DATABASE_URL": "postgresql://u@h/db",
    }
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), good)  # no GRIDGOV_PII_KEY
    config = load_config(
        str(tmp_path),
        {**good, "GRIDGOV_PII_KEY": "x" * 44, "GRIDGOV_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"},
    )
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"


def test_users_create_command(app, two_towns, monkeypatch):
    monkeypatch.setenv("GRIDGOV_PASSWORD", "cli-password-123")
    result = app.test_cli_runner().invoke(
        args=["users", "create", "cli_user", "--role", "staff", "--area", "TA"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "cli_user"))
    assert user.roles == ["staff"] and user.area_ids == [two_towns["TA"].id]
    bad = app.test_cli_runner().invoke(
        args=["users", "create", "cli_user2", "--role", "staff", "--area", "NOPE"]
    )
    assert bad.exit_code != 0 and "NOPE" in bad.output


def test_seed_demo_is_idempotent_and_demo_account_logs_in(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    assert "staff_huangtai" in first.output and "demo-pass-2026" in first.output
    counts = (
        db.session.scalar(select(db.func.count(Area.id))),
        db.session.scalar(select(db.func.count(User.id))),
    )
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    assert counts == (
        db.session.scalar(select(db.func.count(Area.id))),
        db.session.scalar(select(db.func.count(User.id))),
    )
    response = client.post(
        "/api/v1/auth/login", json={"username": "staff_zunhua", "password": "demo-pass-2026"}
    )
    assert response.status_code == 200


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A database with nothing in it, on the same backend as the test."""
    if database_url.startswith("sqlite"):
        yield "sqlite:///" + str(tmp_path / "migrate.db")
        return
    admin = create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"gridgov_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield database_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_build_the_models_schema(empty_database_url, app_config):
    migrated = create_app({**app_config, "GRIDGOV_DATABASE_URL": empty_database_url})
    runner = migrated.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["db", "check"]).exit_code == 0
    with migrated.app_context():
        with db.engine.connect() as connection:
            opts = {"compare_type": True, "include_object": in_metadata}  # as migrations/env.py
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()


def test_only_one_scheduler_leads(app, tmp_path):
    first = LeaderLock(db.engine, str(tmp_path / "lead.lock"))
    second = LeaderLock(db.engine, str(tmp_path / "lead.lock"))
    try:
        assert first.try_acquire() is True
        assert second.try_acquire() is False
        first.release()
        assert second.try_acquire() is True
    finally:
        first.release()
        second.release()


def test_logs_never_carry_phone_id_or_account_numbers():
    assert (
        scrub("call 13812345678 id 11010119900307123X acct 6222020200112233445")
        == "call [redacted] id [redacted] acct [redacted]"
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        configure_logging()
        logging.getLogger("gridgov.test").warning(
            "worker phone %s, id %s", "13812345678", "11010119900307123X"
        )
    finally:
        root.removeHandler(handler)
    assert "worker phone [redacted], id [redacted]" in stream.getvalue()
    assert "13812345678" not in stream.getvalue()


def test_scrubbing_leaves_request_ids_and_tokens_alone():
    request_id = "3f5e1234567890123456789abcdef012"
    assert scrub(f"request {request_id} phone 13812345678") == f"request {request_id} phone [redacted]"
    assert scrub("电话13812345678，身份证11010519491231002X") == "电话[redacted]，身份证[redacted]"
