"""Console pages: sign-in, sign-out and the reader's language."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from gridgov.auth import services as auth_services
from gridgov.auth.routes import login_limits
from gridgov.auth.security import CONSOLE_SESSION_KEY
from gridgov.console.blueprint import bp, page, safe_next
from gridgov.errors import Unauthorized
from gridgov.i18n import LANG_COOKIE, request_language


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    """Sign in with the API's accounts; a wrong password answers 401 and counts against the limit."""
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    try:
        user, token = auth_services.start_console_session(
            request.form.get("username", "")[:64], request.form.get("password", "")[:200]
        )
    except Unauthorized as exc:
        flash(exc.message.pick(request_language()), "error")
        return render_template("console/login.html", next=request.form.get("next", "")), 401
    old = session.get(CONSOLE_SESSION_KEY)
    if old:
        auth_services.end_console_session(old)
    session.clear()  # a fresh session (and CSRF token) after sign-in: no fixation
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # the old one is cached
    session.permanent = True
    session[CONSOLE_SESSION_KEY] = token
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    auth_services.end_console_session(session.get(CONSOLE_SESSION_KEY))
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/lang/<any(zh, en):code>")
def switch_language(code: str):
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


@bp.get("/")
@page()
def home():
    return redirect(url_for("console.map_page"))
