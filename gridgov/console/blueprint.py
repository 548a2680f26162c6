"""The console blueprint and what every page shares: the role check, the reader's language, local times,
state names, the navigation, CSRF on every form and the pages' security headers."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import load_only

from gridgov.areas.models import Area
from gridgov.areas.services import areas_query
from gridgov.auth.security import auth_required
from gridgov.errors import render_errors_as_pages
from gridgov.extensions import csrf, db
from gridgov.i18n import Msg, request_language
from gridgov.issues.states import IssueState
from gridgov.timeutil import LOCAL_TZ
from gridgov.wages import ledger
from gridgov.wages.states import WageState

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

DONE = Msg("已完成。", "Done.")


def t(zh: str, en: str) -> str:
    """The page text in the reader's language; used by templates as t('中文', 'English')."""
    return en if request_language() == "en" else zh


def page(*roles: str):
    """A console page has the API's authentication and role check (a 401 becomes the sign-in page);
    `roles` come from the domain's `permissions.py`, and the nav offers the page to them alone."""

    def decorator(view):
        checked = auth_required(*roles)(view)
        checked.roles = roles
        return checked

    return decorator


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would hand the session to another host."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("console.map_page")


def _render_error(status: int, message: str, errors) -> object:
    if status == 401:
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    response = make_response(
        render_template("console/error.html", status=status, message=message, errors=errors)
    )
    response.status_code = status
    return response


def _local_time(value) -> str:
    """An ISO 8601 string or datetime as local (UTC+8) minutes; what people at a desk read."""
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%d %H:%M")
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


@bp.record_once
def _setup(state) -> None:
    render_errors_as_pages("/console/", _render_error)
    state.app.add_template_filter(_local_time, "local")

    @state.app.context_processor
    def _console_globals():
        if not request.path.startswith("/console"):
            return {}
        return {
            "t": t,
            "lang": request_language(),
            "csrf_token": generate_csrf,
            "me": g.get("current_user"),
            "nav_allowed": _nav_allowed,
            "state_name": state_name,
        }


def state_name(code: str | None, kind: str = "issue") -> str:
    """A state (or a party's role) as people read it, in the reader's language: the domain's title."""
    if not code:
        return ""
    lang = request_language()
    if kind == "party":
        return code.replace("_", " ") if lang == "en" else ledger.PARTY_ZH.get(code, code)
    try:
        return (WageState if kind == "wage" else IssueState)(code).label.pick(lang)
    except ValueError:  # not a state of this domain
        return code


def _nav_allowed(endpoint: str) -> bool:
    """Whether the signed-in user may open the page at this endpoint: the roles its `page` names."""
    user = g.get("current_user")
    view = current_app.view_functions.get(endpoint)
    return user is not None and view is not None and user.may(view.roles)


@bp.before_request
def _protect_forms():
    # Every form post, sign-in included, carries the session's CSRF token.
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.after_request
def _no_store(response):
    # Pages show personal data: not to be kept by shared browsers or proxies.
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = content_security_policy()
        response.headers["X-Frame-Options"] = "DENY"
    return response


def content_security_policy() -> str:
    """The console's CSP: the app itself (and the tile server); also sent with printable notices."""
    return (
        "default-src 'self'; img-src 'self' data: blob: "
        + _tile_origin()
        + "; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )


def _tile_origin() -> str:
    """The tile server's origin for the CSP; a `{s}` subdomain becomes a wildcard label."""
    url = current_app.config["MAP_TILE_URL"]
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.netloc
    if "{" in host.split(".", 1)[0]:
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def areas_for_select(user, levels: tuple[str, ...]) -> list[Area]:
    """The areas in scope at these levels for a picker: chosen in SQL, and without their boundaries."""
    query = areas_query(user).where(Area.level.in_(levels))
    return list(db.session.scalars(query.options(load_only(Area.id, Area.name, Area.level, Area.path))))
