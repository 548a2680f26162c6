from datetime import date

from flask import Response, current_app, request, send_file
from flask.views import MethodView

from gridgov.auth.security import auth_required, current_user
from gridgov.errors import Invalid, PayloadTooLarge
from gridgov.extensions import limiter
from gridgov.i18n import Msg
from gridgov.pagination import Blueprint, paginate
from gridgov.spreadsheets import array_of, json_or_xlsx, xlsx_response
from gridgov.wages import evidence, intake, ledger, queries, workflow
from gridgov.wages.crypto import blind_index
from gridgov.wages.identity import normalise
from gridgov.wages.permissions import LEDGER_READERS, OFFICERS
from gridgov.wages.schemas import (
    CaseActionSchema,
    CaseQuerySchema,
    CaseSchema,
    ClaimantViewSchema,
    ClaimReceiptSchema,
    ClaimSchema,
    EvidenceQuerySchema,
    EvidenceReceiptSchema,
    EvidenceSchema,
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


def _phone_key() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        phone = body.get("claimant", {}).get("phone") if isinstance(body.get("claimant"), dict) else ""
    else:  # the public claim page posts a form
        phone = request.form.get("phone", "")
    return "wage-phone:" + blind_index(normalise(str(phone or "")))


def _claim_key() -> str:
    number = (request.view_args or {}).get("number") or request.form.get("number", "")
    return "wage-claim:" + normalise(str(number))[:30]


def _not_found(response) -> bool:
    return response.status_code == 404


def _claim_number_key() -> str:
    number = (request.view_args or {}).get("number") or request.form.get("number", "")
    return "wage-track-number:" + normalise(str(number))[:64].upper()


# Shared limits: the API and the public claim pages (/claim/) draw on the same budgets.
INTAKE_LIMITS = (
    limiter.shared_limit(
        lambda: current_app.config["WAGE_INTAKE_LIMIT_PER_IP"], scope="wage-intake-ip", methods=["POST"]
    ),
    # Per phone only claims actually filed count: a worker who mistypes his ID number may retry.
    limiter.shared_limit(
        lambda: current_app.config["WAGE_INTAKE_LIMIT_PER_PHONE"],
        key_func=_phone_key,
        scope="wage-intake-phone",
        methods=["POST"],
        deduct_when=lambda response: response.status_code == 201,
    ),
)
TRACK_LIMITS = (
    limiter.shared_limit(
        lambda: current_app.config["WAGE_TRACK_FAILURES_PER_IP"],
        scope="wage-track-ip",
        deduct_when=_not_found,
        methods=["GET", "POST"],
    ),
    # Wrong codes for one claim from many addresses are guessing too.
    limiter.shared_limit(
        lambda: current_app.config["WAGE_TRACK_FAILURES_PER_NUMBER"],
        key_func=_claim_number_key,
        scope="wage-track-number",
        deduct_when=_not_found,
        methods=["GET", "POST"],
    ),
)
EVIDENCE_LIMITS = (
    limiter.shared_limit(
        lambda: current_app.config["WAGE_EVIDENCE_LIMIT_PER_IP"], scope="wage-evidence-ip", methods=["POST"]
    ),
    # Only uploads that were taken count: a stranger who knows a number cannot use up its budget.
    limiter.shared_limit(
        lambda: current_app.config["WAGE_EVIDENCE_LIMIT_PER_CLAIM"],
        key_func=_claim_key,
        scope="wage-evidence-claim",
        methods=["POST"],
        deduct_when=lambda response: response.status_code == 201,
    ),
)


def with_limits(limits, view):
    """`view` under each of `limits` (for the page routes that share the API's budgets)."""
    for limit in reversed(limits):
        view = limit(view)
    return view


@blp.route("/public/wage-claims")
class PublicClaims(MethodView):
    decorators = list(INTAKE_LIMITS)

    @blp.doc(security=[])
    @blp.arguments(ClaimSchema)
    @blp.response(201, ClaimReceiptSchema)
    def post(self, body):
        """File an unpaid-wage claim without an account; the tracking code is shown only here."""
        case, code = intake.file_claim(body)
        return {
            "number": case.number,
            "tracking_code": code,
            "status": case.status,
            "accept_deadline": case.accept_deadline,
        }


@blp.route("/public/wage-claims/<string:number>")
class PublicClaim(MethodView):
    decorators = list(TRACK_LIMITS)

    @blp.doc(security=[])
    @blp.arguments(TrackQuerySchema, location="query")
    @blp.response(200, ClaimantViewSchema)
    def get(self, query, number):
        """The claimant's view of his case: status, amounts, next step and public timeline."""
        return intake.claimant_view(number, query["code"])


def uploaded_photos(field: str = "file") -> list[bytes]:
    """The request's photos in `field`, each read no further than the evidence size limit + 1."""
    limit = current_app.config["WAGE_EVIDENCE_MAX_BYTES"]
    count = current_app.config["WAGE_EVIDENCE_MAX_PER_CLAIM"]
    request.max_content_length = (limit + 64 * 1024) * count
    blobs = []
    for upload in request.files.getlist(field):
        if not upload.filename and not upload.content_length:
            continue  # an empty file input still posts a part
        data = upload.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(Msg("照片太大，请拍小一点再传。", "The photo is too large."))
        if data:
            blobs.append(data)
    return blobs


@blp.route("/public/wage-claims/<string:number>/evidence")
class PublicEvidence(MethodView):
    decorators = [*TRACK_LIMITS, *EVIDENCE_LIMITS]

    @blp.doc(
        security=[],
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                        },
                    }
                }
            }
        },
    )
    @blp.arguments(EvidenceQuerySchema, location="query")
    @blp.response(201, EvidenceReceiptSchema(many=True))
    def post(self, query, number):
        """Send photos of evidence (欠条, contract, attendance, chat, site) with the number and tracking code."""
        case = intake.find_claim(number, query["code"])
        blobs = uploaded_photos()
        if not blobs:
            raise Invalid(
                Msg("请选择要上传的照片。", "Choose a photo to send."),
                errors={"files": {"file": ["required"]}},
            )
        return evidence.add(case, blobs, query["kind"])


@blp.route("/wage-cases")
class Cases(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Cases in the officer's scope, personal fields masked."""
        return paginate(queries.cases_query(current_user(), query.get("status")), pagination_parameters)


@blp.route("/wage-cases/<int:case_id>")
class CaseItem(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, CaseSchema)
    def get(self, case_id):
        """One case, personal fields masked."""
        return queries.get_case(current_user(), case_id)


@blp.route("/wage-cases/<int:case_id>/actions")
class CaseActions(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(CaseActionSchema)
    @blp.response(200, CaseSchema)
    def post(self, body, case_id):
        """Move a case on: accept, refuse, transfer, merge, visit, interview, notice, order, commit, pay, callback, close, extend."""
        return workflow.act(current_user(), case_id, body)


@blp.route("/wage-cases/<int:case_id>/reveal")
class CaseReveal(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(RevealSchema)
    @blp.response(200, RevealResultSchema)
    def post(self, body, case_id):
        """Show one personal field in clear; who, when and why go to the audit log."""
        return {
            "field": body["field"],
            "value": queries.reveal(current_user(), case_id, body["field"], body["reason"]),
        }


@blp.route("/wage-cases/<int:case_id>/timeline")
class CaseTimeline(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, WageEventSchema(many=True))
    def get(self, case_id):
        """Every move of the case, with staff notes."""
        return queries.case_timeline(current_user(), case_id)


@blp.route("/wage-cases/<int:case_id>/evidence")
class CaseEvidence(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, EvidenceSchema(many=True))
    def get(self, case_id):
        """The evidence photos the claimant sent, oldest first."""
        return evidence.for_officer(current_user(), case_id)


@blp.route("/wage-cases/<int:case_id>/evidence/<int:evidence_id>")
class CaseEvidenceFile(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, content_type="image/*")
    def get(self, case_id, evidence_id):
        """One evidence photo, without its location metadata."""
        row, path = evidence.file_for_officer(current_user(), case_id, evidence_id)
        response = send_file(path, mimetype=row.content_type, max_age=0)
        response.headers["Cache-Control"] = "private, no-store"
        return response


@blp.route("/wage-cases/<int:case_id>/parties")
class CaseParties(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, PartyOutSchema(many=True))
    def get(self, case_id):
        """The chain of parties: construction unit, general contractor, subcontractor, crew leader."""
        return queries.case_parties(current_user(), case_id)


@blp.route("/wage-cases/<int:case_id>/notices")
class CaseNotices(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, NoticeSchema(many=True))
    def get(self, case_id):
        """Reminder notices (提醒单) and supervision orders (督办单) of the case."""
        return queries.case_notices(current_user(), case_id)


@blp.route("/wage-notices/<int:notice_id>.html")
class NoticePrint(MethodView):
    @auth_required(*OFFICERS)
    @blp.response(200, content_type="text/html")
    def get(self, notice_id):
        """A notice as a one-page printable HTML document."""
        from gridgov.console.blueprint import content_security_policy

        page = Response(ledger.notice_html(current_user(), notice_id), mimetype="text/html")
        page.headers["Content-Security-Policy"] = content_security_policy()
        return page


@blp.route("/wage-cases/ledger")
class Ledger(MethodView):
    @auth_required(*LEDGER_READERS)
    @blp.arguments(LedgerListQuerySchema, location="query")
    @blp.response(200, LedgerRowSchema(many=True))
    @blp.doc(responses=json_or_xlsx(array_of("LedgerRow")))
    def get(self, query):
        """The case ledger (台账) for a period; format=xlsx for the spreadsheet with Chinese headers."""
        rows = ledger.ledger(current_user(), query["from_"], query["to"], query.get("status"))
        if query["format"] == "xlsx":
            return xlsx_response(ledger.ledger_xlsx(rows), "wage-ledger.xlsx")
        return rows


@blp.route("/wage-cases/figures")
class Figures(MethodView):
    @auth_required(*LEDGER_READERS)
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, FiguresSchema)
    @blp.doc(responses=json_or_xlsx({"$ref": "#/components/schemas/Figures"}))
    def get(self, query):
        """Sites visited, notices, orders, cases, problems corrected, amount recovered, closures; format=xlsx."""
        values = ledger.figures(current_user(), query["from_"], query["to"])
        if query["format"] == "xlsx":
            body = ledger.figures_xlsx(values, query["from_"], query["to"])
            return xlsx_response(body, "wage-figures.xlsx")
        return values


@blp.route("/wage-cases/spot-checks")
class SpotChecks(MethodView):
    @auth_required(*OFFICERS)
    @blp.arguments(MonthQuerySchema, location="query")
    @blp.response(200, SpotCheckSchema(many=True))
    def get(self, query):
        """This month's random spot-check list of projects with closed cases."""
        return ledger.spot_checks(current_user(), date.fromisoformat(query["month"] + "-01"))
