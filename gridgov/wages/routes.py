from datetime import date

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from gridgov.auth.security import auth_required, current_user
from gridgov.extensions import limiter
from gridgov.pagination import paginate
from gridgov.wages import ledger, services
from gridgov.wages.crypto import blind_index
from gridgov.wages.identity import normalise
from gridgov.wages.schemas import (
    CaseActionSchema,
    CaseQuerySchema,
    CaseSchema,
    ClaimantViewSchema,
    ClaimReceiptSchema,
    ClaimSchema,
    FiguresSchema,
    LedgerListQuerySchema,
    LedgerQuerySchema,
    LedgerRowSchema,
    MonthQuerySchema,
    NoticeSchema,
    PartyOutSchema,
    RevealResultSchema,
    RevealSchema,
    SpotCheckSchema,
    TrackQuerySchema,
    WageEventSchema,
)

blp = Blueprint("wages", __name__, url_prefix="/api/v1", description="Wage-arrears claims and cases")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFFICERS = ("wage_officer",)


def _phone_key() -> str:
    body = request.get_json(silent=True)
    phone = (
        body.get("claimant", {}).get("phone")
        if isinstance(body, dict) and isinstance(body.get("claimant"), dict)
        else ""
    )
    return "wage-phone:" + blind_index(normalise(str(phone or "")))


@blp.route("/public/wage-claims")
class PublicClaims(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["WAGE_INTAKE_LIMIT_PER_IP"], scope="wage-intake-ip"),
        # Per phone only claims actually filed count: a worker who mistypes his ID number may retry.
        limiter.limit(
            lambda: current_app.config["WAGE_INTAKE_LIMIT_PER_PHONE"],
            key_func=_phone_key,
            scope="wage-intake-phone",
            deduct_when=lambda response: response.status_code == 201,
        ),
    ]

    @blp.doc(security=[])
    @blp.arguments(ClaimSchema)
    @blp.response(201, ClaimReceiptSchema)
    def post(self, body):
        """File an unpaid-wage claim without an account; the tracking code is shown only here."""
        case, code = services.file_claim(body)
        return {
            "number": case.number,
            "tracking_code": code,
            "status": case.status,
            "accept_deadline": case.accept_deadline,
        }


def _not_found(response) -> bool:
    return response.status_code == 404


def _claim_number_key() -> str:
    return "wage-track-number:" + str((request.view_args or {}).get("number", ""))[:64].upper()


@blp.route("/public/wage-claims/<string:number>")
class PublicClaim(MethodView):
    decorators = [
        limiter.limit(
            lambda: current_app.config["WAGE_TRACK_FAILURES_PER_IP"],
            scope="wage-track-ip",
            deduct_when=_not_found,
        ),
        # Wrong codes for one claim from many addresses are guessing too.
        limiter.limit(
            lambda: current_app.config["WAGE_TRACK_FAILURES_PER_NUMBER"],
            key_func=_claim_number_key,
            scope="wage-track-number",
            deduct_when=_not_found,
        ),
    ]

    @blp.doc(security=[])
    @blp.arguments(TrackQuerySchema, location="query")
    @blp.response(200, ClaimantViewSchema)
    def get(self, query, number):
        """The claimant's view of his case: status, amounts, next step and public timeline."""
        return services.claimant_view(number, query["code"])


@blp.route("/wage-cases")
class Cases(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Cases in the officer's scope, personal fields masked."""
        return paginate(services.cases_query(current_user(), query.get("status")), pagination_parameters)


@blp.route("/wage-cases/<int:case_id>")
class CaseItem(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, CaseSchema)
    def get(self, case_id):
        """One case, personal fields masked."""
        return services.get_case(current_user(), case_id)


@blp.route("/wage-cases/<int:case_id>/actions")
class CaseActions(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(CaseActionSchema)
    @blp.response(200, CaseSchema)
    def post(self, body, case_id):
        """Move a case on: accept, refuse, transfer, merge, visit, interview, notice, order, commit, pay, callback, close, extend."""
        return services.act(current_user(), case_id, body)


@blp.route("/wage-cases/<int:case_id>/reveal")
class CaseReveal(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(RevealSchema)
    @blp.response(200, RevealResultSchema)
    def post(self, body, case_id):
        """Show one personal field in clear; who, when and why go to the audit log."""
        return {
            "field": body["field"],
            "value": services.reveal(current_user(), case_id, body["field"], body["reason"]),
        }


@blp.route("/wage-cases/<int:case_id>/timeline")
class CaseTimeline(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, WageEventSchema(many=True))
    def get(self, case_id):
        """Every move of the case, with staff notes."""
        return services.case_timeline(current_user(), case_id)


@blp.route("/wage-cases/<int:case_id>/parties")
class CaseParties(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, PartyOutSchema(many=True))
    def get(self, case_id):
        """The chain of parties: construction unit, general contractor, subcontractor, crew leader."""
        return services.case_parties(current_user(), case_id)


@blp.route("/wage-cases/<int:case_id>/notices")
class CaseNotices(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, NoticeSchema(many=True))
    def get(self, case_id):
        """Reminder notices (提醒单) and supervision orders (督办单) of the case."""
        return services.case_notices(current_user(), case_id)


@blp.route("/wage-notices/<int:notice_id>.html")
class NoticePrint(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, content_type="text/html")
    def get(self, notice_id):
        """A notice as a one-page printable HTML document."""
        from gridgov.console.routes import content_security_policy

        page = Response(ledger.notice_html(current_user(), notice_id), mimetype="text/html")
        page.headers["Content-Security-Policy"] = content_security_policy()
        return page


@blp.route("/wage-cases/ledger")
class Ledger(MethodView):
    @auth_required(*OFFICERS, "leader")
    @blp.arguments(LedgerListQuerySchema, location="query")
    @blp.response(200, LedgerRowSchema(many=True))
    @blp.doc(
        responses={
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/LedgerRow"}}
                    },
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    )
    def get(self, query):
        """The case ledger (台账) for a period; format=xlsx for the spreadsheet with Chinese headers."""
        rows = ledger.ledger(current_user(), query["from_"], query["to"], query.get("status"))
        if query["format"] == "xlsx":
            return Response(
                ledger.ledger_xlsx(rows),
                mimetype=XLSX,
                headers={"Content-Disposition": 'attachment; filename="wage-ledger.xlsx"'},
            )
        return rows


@blp.route("/wage-cases/figures")
class Figures(MethodView):
    @auth_required(*OFFICERS, "leader")
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, FiguresSchema)
    @blp.doc(
        responses={
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Figures"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    )
    def get(self, query):
        """Sites visited, notices, orders, cases, problems corrected, amount recovered, closures; format=xlsx."""
        values = ledger.figures(current_user(), query["from_"], query["to"])
        if query["format"] == "xlsx":
            return Response(
                ledger.figures_xlsx(values, query["from_"], query["to"]),
                mimetype=XLSX,
                headers={"Content-Disposition": 'attachment; filename="wage-figures.xlsx"'},
            )
        return values


@blp.route("/wage-cases/spot-checks")
class SpotChecks(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(MonthQuerySchema, location="query")
    @blp.response(200, SpotCheckSchema(many=True))
    def get(self, query):
        """This month's random spot-check list of projects with closed cases."""
        return ledger.spot_checks(current_user(), date.fromisoformat(query["month"] + "-01"))
