"""gridgov: the backend for grid-based community governance (网格化治理).

Transactions: the service layer owns them. Each public service function that writes commits
once when its work is done; routes, models and schemas never commit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gridgov.config import BaseConfig, load_config
from gridgov.errors import register_error_handlers
from gridgov.extensions import api, csrf, db, limiter, migrate
from gridgov.http import register_request_hooks
from gridgov.logs import configure_logging


def create_app(config: Mapping | BaseConfig | None = None) -> Flask:
    """Build the app: environment config (overridden by `config`), extensions, routes, commands."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    from gridgov.http import BoundedJSONProvider, IdConverter

    app.json = BoundedJSONProvider(app)

    app.url_map.converters["int"] = IdConverter
    configure(app, config)
    if app.config["TRUSTED_PROXIES"]:
        from gridgov.proxies import TrustedProxies

        app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["TRUSTED_PROXIES"])
    app.json.ensure_ascii = False  # Chinese stays readable in responses
    configure_logging(app.config["LOG_LEVEL"])
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_commands(app)
    return app


def configure(app: Flask, config: Mapping | BaseConfig | None) -> None:
    if isinstance(config, BaseConfig):
        app.config.from_object(config)
    else:
        env = dict(os.environ)
        overrides = dict(config or {})
        # A test or a caller may name the database or environment without touching os.environ.
        for key in ("GRIDGOV_DATABASE_URL", "GRIDGOV_ENV"):
            if key in overrides:
                env[key] = overrides.pop(key)
        app.config.from_object(load_config(app.instance_path, env))
        app.config.update(overrides)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # SQLite leaves foreign keys off by default; WAL lets readers run beside one writer.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def _remove_session(exc: BaseException | None) -> None:
    try:
        db.session.remove()
    except Exception:  # noqa: BLE001 - the connection died under us; drop it, keep serving
        logging.getLogger(__name__).warning("discarding a session whose connection failed")
        db.session.registry.clear()


def register_extensions(app: Flask) -> None:
    from gridgov.audit.services import install_audit_hook
    from gridgov.issues.counts import install_counts_hook
    from gridgov.issues.summary import install_summary_hook

    db.init_app(app)
    # Flask-SQLAlchemy's own teardown lets a failed rollback escape (PostgreSQL restarting): the
    # response is already made, so a dead connection is logged and dropped instead.
    app.teardown_appcontext_funcs[:] = [
        f for f in app.teardown_appcontext_funcs if getattr(f, "__name__", "") != "_teardown_session"
    ]
    app.teardown_appcontext(_remove_session)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    limiter.init_app(app)
    csrf.init_app(app)
    from gridgov.errors import ErrorSchema

    api.ERROR_SCHEMA = ErrorSchema  # our envelope, with its context fields, in the OpenAPI document
    api.init_app(app)
    from gridgov.http import IdConverter

    # Path ids are 1 .. 2**31 - 1 (a larger one matches no route): the spec says so.
    api.register_converter(IdConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
    # X-Pagination carries JSON text; an OpenAPI 3.0 header value is a string, so say so.
    pagination_header = {
        "description": "JSON object: total, total_pages, first_page, last_page, page, previous_page, next_page; "
        "next_after (the cursor of the next keyset page, when more follow)",
        "schema": {"type": "string"},
    }
    for registry in (api.spec.components.headers, api.spec.components.headers_lazy):
        if "PAGINATION" in registry:
            registry["PAGINATION"] = pagination_header
    install_audit_hook()
    install_summary_hook()
    install_counts_hook()


def register_blueprints(app: Flask) -> None:
    from gridgov.areas.routes import blp as areas_blp
    from gridgov.audit.routes import blp as audit_blp
    from gridgov.auth.routes import blp as auth_blp
    from gridgov.issues.routes import blp as issues_blp
    from gridgov.markets.routes import blp as markets_blp
    from gridgov.notifications.routes import blp as notifications_blp
    from gridgov.patrols.routes import blp as patrols_blp
    from gridgov.wages.routes import blp as wages_blp
    from gridgov.workcal.routes import blp as calendar_blp

    blueprints = (
        auth_blp,
        areas_blp,
        audit_blp,
        issues_blp,
        markets_blp,
        notifications_blp,
        patrols_blp,
        wages_blp,
        calendar_blp,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    from gridgov.open311.routes import OPENAPI_TAG as OPEN311_TAG
    from gridgov.open311.routes import admin_blp as open311_admin_blp
    from gridgov.open311.routes import blp as open311_blp

    api.register_blueprint(open311_admin_blp)
    api.spec.tag(OPEN311_TAG)
    app.register_blueprint(open311_blp)  # its own standard, outside the OpenAPI document
    from gridgov.console.routes import bp as console_bp

    app.register_blueprint(console_bp)  # pages for people at desks, over the same services
    from gridgov.field.routes import bp as field_bp

    app.register_blueprint(field_bp)  # the phones' installable app, over the same API

    from gridgov.claim.routes import bp as claim_bp

    app.register_blueprint(claim_bp)  # public wage-claim pages for workers' phones


def register_commands(app: Flask) -> None:
    from gridgov.commands import calendar_cli, scheduler_cli, seed_cli, stats_cli, users_cli

    for group in (users_cli, seed_cli, scheduler_cli, calendar_cli, stats_cli):
        app.cli.add_command(group)
