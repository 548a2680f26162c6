"""Console pages: the map of areas and issues, an issue's page and its actions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app, redirect, render_template, request, url_for

from gridgov.auth.security import current_user
from gridgov.console.blueprint import DONE, STATUS_COLOURS, bp, page, state_name
from gridgov.console.forms import submit
from gridgov.i18n import request_language
from gridgov.issues import catalogue, queries, workflow
from gridgov.issues.schemas import ActionSchema, EventSchema, IssueSchema
from gridgov.timeutil import LOCAL_TZ


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
