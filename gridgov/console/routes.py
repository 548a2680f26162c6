"""Console pages. Each view reads through the domain's services and writes through the same
service function the API route calls, after loading the form with the API route's schema."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError

from gridgov.areas.models import Area
from gridgov.areas.services import areas_query
from gridgov.auth import services as auth_services
from gridgov.auth.routes import login_limits
from gridgov.auth.security import CONSOLE_SESSION_KEY, auth_required, current_user
from gridgov.console.forms import submit
from gridgov.errors import Unauthorized, render_errors_as_pages
from gridgov.extensions import csrf, db
from gridgov.i18n import LANG_COOKIE, Msg, request_language
from gridgov.issues import catalogue, queries, stats, workflow
from gridgov.issues.schemas import ActionSchema, EventSchema, IssueSchema
from gridgov.issues.stats import StatsQuerySchema
from gridgov.markets import rosters
from gridgov.markets import services as market_services
from gridgov.markets.lunar import lunar_date
from gridgov.markets.routes import READERS
from gridgov.markets.schemas import AssignSchema, ExceptionSchema
from gridgov.patrols import reports
from gridgov.timeutil import LOCAL_TZ, local_today
from gridgov.wages import evidence as wage_evidence
from gridgov.wages import ledger
from gridgov.wages import services as wage_services
from gridgov.wages.routes import OFFICERS
from gridgov.wages.schemas import CaseActionSchema, CaseSchema, RevealSchema, WageEventSchema

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

REPORT_ROLES = ("staff", "leader", "grid_worker")
FIGURE_ROLES = ("staff", "leader", "department")
WAGE_ROLES = (*OFFICERS, "leader")
STATUS_COLOURS = {
    "reported": "#1f77b4",
    "accepted": "#17becf",
    "dispatched": "#ff7f0e",
    "in_progress": "#bcbd22",
    "fixed": "#9467bd",
    "deferred": "#7f7f7f",
    "closed": "#2ca02c",
    "rejected": "#8c564b",
    "merged": "#c7c7c7",
}
DONE = Msg("已完成。", "Done.")
ISSUE_STATES = {
    "reported": Msg("已上报", "reported"),
    "accepted": Msg("已受理", "accepted"),
    "dispatched": Msg("已派遣", "dispatched"),
    "in_progress": Msg("处置中", "in progress"),
    "fixed": Msg("已处置待核查", "fixed, to verify"),
    "deferred": Msg("已延期", "deferred"),
    "closed": Msg("已办结", "closed"),
    "rejected": Msg("不予受理", "rejected"),
    "merged": Msg("已合并", "merged"),
}


def t(zh: str, en: str) -> str:
    """The page text in the reader's language; used by templates as t('中文', 'English')."""
    return en if request_language() == "en" else zh


# A console page has the API's authentication and role check; a 401 becomes the sign-in page.
page = auth_required


def _safe_next(target: str | None) -> str:
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
    """A state code as people read it: Chinese names by default, the code itself in English."""
    if not code:
        return ""
    lang = request_language()
    if kind in ("wage", "party"):
        names = wage_services.STATUS_ZH if kind == "wage" else ledger.PARTY_ZH
        return code.replace("_", " ") if lang == "en" else names.get(code, code)
    name = ISSUE_STATES.get(code)
    return name.pick(lang) if name else code


def _nav_allowed(name: str) -> bool:
    user = g.get("current_user")
    if user is None:
        return False
    roles = {"calendar": READERS, "report": REPORT_ROLES, "figures": FIGURE_ROLES, "wages": WAGE_ROLES}
    wanted = roles.get(name, ())
    return not wanted or user.has_role("admin", *wanted)


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


# ---------------------------------------------------------------- sign-in, language


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
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    auth_services.end_console_session(session.get(CONSOLE_SESSION_KEY))
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/lang/<any(zh, en):code>")
def switch_language(code: str):
    response = redirect(_safe_next(request.args.get("next")))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


@bp.get("/")
@page()
def home():
    return redirect(url_for("console.map_page"))


# ---------------------------------------------------------------- map and issues


def _local_start(day_text: str | None, next_day: bool = False) -> str | None:
    """The start of a local date (or of the day after) as the API's ISO 8601 time; None if not a date."""
    try:
        day = date.fromisoformat(day_text) if day_text else None
    except ValueError:
        return None
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=int(next_day)), time(0), LOCAL_TZ).isoformat()


@bp.get("/map")
@page()
def map_page():
    """Areas in scope with the open issues on them; the page's script reads both from the API."""
    args = request.args
    api_args: dict = {"format": "geojson"}
    for key in ("status", "category"):
        values = [v for v in args.getlist(key) if v]
        if values:
            api_args[key] = values
    if args.get("overdue") in ("true", "false"):
        api_args["overdue"] = args["overdue"]
    if args.get("located_by") == "nearest":
        api_args["located_by"] = "nearest"
    since, until = _local_start(args.get("from")), _local_start(args.get("to"), next_day=True)
    if since:
        api_args["since"] = since
    if until:
        api_args["until"] = until
    if "status" not in api_args:
        api_args["status"] = list(workflow.OPEN_STATUSES)
    config = {
        "areasUrl": url_for("areas.Areas", format="geojson"),
        "issuesUrl": url_for("issues.Issues", **api_args),
        "issueUrl": url_for("console.issue_page", issue_id=0).removesuffix("0"),
        "tileUrl": current_app.config["MAP_TILE_URL"],
        "tileAttribution": current_app.config["MAP_TILE_ATTRIBUTION"],
        "tileSubdomains": current_app.config["MAP_TILE_SUBDOMAINS"],
        "colours": STATUS_COLOURS,
        "states": {code: state_name(code) for code in STATUS_COLOURS},
        "lang": request_language(),
    }
    return render_template(
        "console/map.html",
        config=config,
        categories=catalogue.list_categories(),
        statuses=list(STATUS_COLOURS),
        args=args,
    )


@bp.get("/issues/<int:issue_id>")
@page()
def issue_page(issue_id: int):
    user = current_user()
    issue = queries.get_issue(user, issue_id)
    return render_template(
        "console/issue.html",
        issue=IssueSchema().dump(issue),
        timeline=EventSchema(many=True).dump(queries.timeline(user, issue_id)),
        actions=workflow.actions_for(user, issue),
        departments=catalogue.list_departments(user),
        colours=STATUS_COLOURS,
    )


@bp.post("/issues/<int:issue_id>/actions")
@page()
def issue_action(issue_id: int):
    user = current_user()
    submit(ActionSchema(), lambda body: workflow.act(user, issue_id, body), DONE)
    return redirect(url_for("console.issue_page", issue_id=issue_id))


# ---------------------------------------------------------------- market calendar


def _month(text: str | None) -> date:
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return local_today().replace(day=1)


def _areas_for_select(user, levels: tuple[str, ...]) -> list[Area]:
    return [a for a in db.session.scalars(areas_query(user)) if a.level in levels]


@bp.get("/calendar")
@page(*READERS)
def calendar_page():
    """A month of market days with lunar dates, teams, gaps and clashes."""
    user = current_user()
    first = _month(request.args.get("month"))
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    area_id = request.args.get("area", type=int)
    days = market_services.market_days(user, first, last, area_id)
    by_date: dict[str, list[dict]] = defaultdict(list)
    team_days: dict[tuple[str, int], int] = defaultdict(int)
    for occurrence in days:
        by_date[occurrence["date"]].append(occurrence)
        if occurrence["status"] == "scheduled":
            for team in occurrence["teams"]:
                team_days[(occurrence["date"], team["id"])] += 1
    for occurrence in days:
        occurrence["gap"] = occurrence["status"] == "scheduled" and not occurrence["teams"]
        occurrence["clash"] = any(
            team_days[(occurrence["date"], team["id"])] > 1 for team in occurrence["teams"]
        )
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append(
            [
                {
                    "date": day,
                    "in_month": day.month == first.month,
                    "lunar": lunar_date(day).name,
                    "markets": by_date.get(day.isoformat(), []),
                }
                for day in week
            ]
        )
    markets = list(db.session.scalars(market_services.markets_query(user, area_id)))
    teams = list(db.session.scalars(rosters.teams_query(user)))
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    return render_template(
        "console/calendar.html",
        first=first,
        last=last,
        weeks=weeks,
        markets=markets,
        teams=teams,
        area_id=area_id,
        areas=_areas_for_select(user, ("district", "town", "community")),
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        gaps=sum(1 for o in days if o["gap"]),
        clashes=sum(1 for o in days if o["clash"]),
        can_edit=user.has_role("admin", "staff"),
    )


def _back_to_calendar():
    return redirect(
        _safe_next(request.form.get("back")) if request.form.get("back") else url_for("console.calendar_page")
    )


@bp.post("/markets/<int:market_id>/assign")
@page("staff")
def market_assign(market_id: int):
    user = current_user()
    submit(AssignSchema(), lambda body: rosters.assign(user, market_id, body), DONE)
    return _back_to_calendar()


@bp.post("/markets/<int:market_id>/exceptions")
@page("staff")
def market_exception(market_id: int):
    user = current_user()
    submit(ExceptionSchema(), lambda body: market_services.add_exception(user, market_id, body), DONE)
    return _back_to_calendar()


# ---------------------------------------------------------------- daily report and figures


def _default_area(user, levels: tuple[str, ...]) -> int | None:
    choices = _areas_for_select(user, levels)
    return choices[0].id if choices else None


@bp.get("/report")
@page(*REPORT_ROLES)
def report_page():
    user = current_user()
    levels = ("district", "town", "community", "grid")
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        day = local_today()
    area_id = request.args.get("area", type=int) or _default_area(user, levels)
    report = reports.daily_report(user, area_id, day) if area_id else None
    return render_template(
        "console/report.html",
        report=report,
        day=day,
        area_id=area_id,
        areas=_areas_for_select(user, levels),
        xlsx_url=url_for("patrols.DailyReport", area=area_id, date=day.isoformat(), format="xlsx")
        if area_id
        else None,
    )


@bp.get("/figures")
@page(*FIGURE_ROLES)
def figures_page():
    """Closure, on-time and rework rates for a period, as bar charts beside their table."""
    user = current_user()
    today = local_today()
    defaults = {"from": today.replace(day=1).isoformat(), "to": today.isoformat(), "group_by": "grid"}
    raw = {
        **defaults,
        **{k: v for k, v in request.args.items() if v and k in ("from", "to", "group_by", "area")},
    }
    try:
        query = StatsQuerySchema().load(raw)
    except ValidationError as exc:
        flash(f"{t('查询条件有误：', 'Invalid filter: ')}{', '.join(exc.messages)}", "error")
        raw = defaults
        query = StatsQuerySchema().load(raw)
    rows = stats.issue_figures(user, query)
    return render_template(
        "console/figures.html",
        rows=rows,
        query=raw,
        groups=stats.GROUPS,
        areas=_areas_for_select(user, ("district", "town", "community", "grid")),
        xlsx_url=url_for("issues.IssueStats", **{**raw, "format": "xlsx"}),
    )


# ---------------------------------------------------------------- wage cases


@bp.get("/wages")
@page(*WAGE_ROLES)
def wages_page():
    """The case ledger (台账) for a period, filtered by status, with the spreadsheet one click away."""
    user = current_user()
    today = local_today()
    try:
        start = date.fromisoformat(request.args.get("from") or "")
    except ValueError:
        start = today - timedelta(days=365)
    try:
        end = date.fromisoformat(request.args.get("to") or "")
    except ValueError:
        end = today
    status = request.args.get("status") or ""
    rows = ledger.ledger(user, start, end, status or None)
    return render_template(
        "console/wages.html",
        rows=rows,
        start=start,
        end=end,
        status=status,
        statuses=sorted({s for sources in wage_services.MOVES.values() for s in sources}),
        xlsx_url=url_for(
            "wages.Ledger",
            **{"from": start.isoformat(), "to": end.isoformat(), "format": "xlsx"},
            **({"status": status} if status else {}),
        ),
        is_officer=user.has_role("admin", *OFFICERS),
    )


def _case_page(case_id: int, revealed: dict | None = None, status: int = 200):
    user = current_user()
    case = wage_services.get_case(user, case_id)
    data = CaseSchema().dump(case)
    names = {"accept": t("受理期限", "Accept by"), "conclude": t("办结期限", "Conclude by")}
    clocks = [{**clock, "name": names[clock["clock"]]} for clock in wage_services.case_clocks(case)]
    return render_template(
        "console/wage_case.html",
        case=data,
        clocks=clocks,
        timeline=WageEventSchema(many=True).dump(wage_services.case_timeline(user, case_id)),
        notices=wage_services.case_notices(user, case_id),
        parties=wage_services.case_parties(user, case_id),
        evidence=wage_evidence.for_officer(user, case_id),
        evidence_kind=lambda code: wage_evidence.KIND_TITLES[code].pick(request_language()),
        paid=wage_services.paid_fen(case.id),
        revealed=revealed or {},
    ), status


@bp.get("/wages/<int:case_id>")
@page(*OFFICERS)
def wage_case_page(case_id: int):
    return _case_page(case_id)


@bp.post("/wages/<int:case_id>/actions")
@page(*OFFICERS)
def wage_case_action(case_id: int):
    user = current_user()
    submit(CaseActionSchema(), lambda body: wage_services.act(user, case_id, body), DONE)
    return redirect(url_for("console.wage_case_page", case_id=case_id))


@bp.post("/wages/<int:case_id>/reveal")
@page(*OFFICERS)
def wage_case_reveal(case_id: int):
    """Show one personal field in clear on this page only; the service writes the audit entry."""
    user = current_user()
    schema = RevealSchema()
    value = submit(
        schema,
        lambda body: (body["field"], wage_services.reveal(user, case_id, body["field"], body["reason"])),
        Msg("已记入审计日志。", "Recorded in the audit log."),
    )
    if value is None:
        return redirect(url_for("console.wage_case_page", case_id=case_id))
    field, clear = value
    return _case_page(case_id, revealed={field: clear})
