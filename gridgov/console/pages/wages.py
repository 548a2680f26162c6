"""Console pages: the wage-case ledger, a case's page, its actions and reveals."""

from __future__ import annotations

from datetime import date, timedelta

from flask import redirect, render_template, request, url_for

from gridgov.auth.security import current_user
from gridgov.console.blueprint import DONE, WAGE_ROLES, bp, page, t
from gridgov.console.forms import submit
from gridgov.i18n import Msg, request_language
from gridgov.timeutil import local_today
from gridgov.wages import evidence as wage_evidence
from gridgov.wages import ledger
from gridgov.wages import services as wage_services
from gridgov.wages.routes import OFFICERS
from gridgov.wages.schemas import CaseActionSchema, CaseSchema, RevealSchema, WageEventSchema


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
