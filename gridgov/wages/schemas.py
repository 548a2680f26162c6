from flask import g
from marshmallow import EXCLUDE, Schema, fields, validate

from gridgov import bounded
from gridgov.issues.schemas import EventSchema, PointSchema
from gridgov.masking import mask_account, mask_id_number, mask_name, mask_phone
from gridgov.refs import Ref, Refs
from gridgov.wages import workflow
from gridgov.wages.clocks import case_clocks
from gridgov.wages.crypto import decrypt
from gridgov.wages.identity import fen_to_yuan
from gridgov.wages.models import EVIDENCE_KINDS, PARTY_ROLES
from gridgov.wages.states import ALL as CASE_STATES


class ClaimantSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = fields.String(required=True, validate=validate.Length(min=5, max=30))
    id_number = fields.String(required=True, validate=validate.Length(min=15, max=40))
    bank_account = fields.String(allow_none=True, validate=validate.Length(max=40))


class ProjectSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(allow_none=True, validate=validate.Length(max=200))
    area_code = fields.String(allow_none=True, metadata={"description": "Area code of the site, if known"})
    location = fields.Nested(PointSchema, allow_none=True)
    crs = fields.String(load_default="wgs84", validate=validate.OneOf(["wgs84", "gcj02", "bd09"]))


class PartySchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(PARTY_ROLES))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))


class PeriodSchema(Schema):
    from_ = bounded.Date(required=True, data_key="from")
    to = bounded.Date(required=True)


class ClaimSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    claimant = fields.Nested(ClaimantSchema, required=True)
    project = fields.Nested(ProjectSchema, required=True)
    parties = fields.List(fields.Nested(PartySchema), load_default=list, validate=validate.Length(max=10))
    work_period = fields.Nested(PeriodSchema, required=True)
    amount_claimed = fields.String(
        required=True, metadata={"description": 'Yuan as a decimal string, e.g. "7000.00"'}
    )
    workers = fields.Integer(load_default=1, validate=validate.Range(1, 500))
    description = fields.String(required=True, validate=validate.Length(min=1, max=3000))
    evidence = Refs("upload", load_default=list, validate=validate.Length(max=20))


class ClaimReceiptSchema(Schema):
    number = fields.String()
    tracking_code = fields.String(metadata={"description": "Shown once; keep it to follow the claim"})
    status = fields.String()
    accept_deadline = fields.DateTime()


class TrackQuerySchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=4, max=20))


class ClaimantViewSchema(Schema):
    number = fields.String()
    status = fields.String()
    status_text = fields.String()
    amount_claimed = fields.String()
    amount_verified = fields.String(allow_none=True)
    amount_paid = fields.String()
    amount_outstanding = fields.String()
    next_step = fields.String(allow_none=True)
    next_deadline = fields.String(allow_none=True)
    received_at = fields.String()
    timeline = fields.List(fields.Dict())
    evidence = fields.List(
        fields.Dict(), metadata={"description": "What the claimant sent: kind, kind_text, received_at"}
    )


class EvidenceQuerySchema(TrackQuerySchema):
    kind = fields.String(load_default="other", validate=validate.OneOf(EVIDENCE_KINDS))


class EvidenceReceiptSchema(Schema):
    kind = fields.String()
    received_at = fields.DateTime()


class EvidenceSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    received_at = fields.DateTime()


class CaseSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    claimant_name = fields.Function(lambda c: mask_name(c.claimant_name))
    phone = fields.Function(lambda c: mask_phone(decrypt(c.phone_enc)))
    id_number = fields.Function(lambda c: mask_id_number(decrypt(c.id_number_enc)))
    bank_account = fields.Function(lambda c: mask_account(decrypt(c.bank_account_enc)))
    project_name = fields.String()
    project_address = fields.String(allow_none=True)
    area_id = fields.Integer(allow_none=True)
    work_from = fields.Date()
    work_to = fields.Date()
    amount_claimed = fields.Function(lambda c: fen_to_yuan(c.amount_claimed_fen))
    amount_verified = fields.Function(lambda c: fen_to_yuan(c.amount_verified_fen))
    workers = fields.Integer()
    description = fields.String()
    officer_id = fields.Integer(allow_none=True)
    received_at = fields.DateTime()
    accept_deadline = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    conclude_deadline = fields.DateTime(allow_none=True)
    extended = fields.Boolean()
    closed_at = fields.DateTime(allow_none=True)
    closed_on_time = fields.Boolean(allow_none=True)
    closure_code = fields.String(allow_none=True)
    next_step = fields.String(allow_none=True)
    next_due = fields.Date(allow_none=True)
    reopen_count = fields.Integer()
    allowed_actions = fields.Method(
        "moves", metadata={"description": "The moves the case's state allows and this user may take now"}
    )
    clocks = fields.Method(
        "legal_clocks",
        metadata={
            "description": "The legal clocks (accept: 5 working days from receipt; conclude: 60 from acceptance, "
            "+30 once extended), each with its deadline, working days used and left, paused, uncertain"
        },
    )

    def moves(self, case):
        return workflow.MOVES.offered(g.get("current_user"), case)

    def legal_clocks(self, case):
        return ClockSchema(many=True).dump(case_clocks(case))


class ClockSchema(Schema):
    clock = fields.String(metadata={"description": "accept or conclude"})
    deadline = fields.DateTime(allow_none=True)
    met = fields.DateTime(allow_none=True, metadata={"description": "when the clock was met"})
    working_days = fields.Integer(allow_none=True, metadata={"description": "the clock's length"})
    used = fields.Integer(allow_none=True, metadata={"description": "working days used so far"})
    left = fields.Integer(
        allow_none=True,
        metadata={"description": "working days left; negative when late; null once met or paused"},
    )
    paused = fields.Boolean(
        metadata={"description": "stopped before it was met: refused, transferred or merged"}
    )
    uncertain = fields.Boolean(
        metadata={"description": "the count passes a day of a provisional year: the deadline may still move"}
    )


class CaseQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(CASE_STATES))


class InstalmentSchema(Schema):
    due = bounded.Date(required=True)
    amount = fields.String(required=True)


class CaseActionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(workflow.MOVES.verbs()))
    note = fields.String(validate=validate.Length(max=3000))
    into_number = fields.String()
    authority = fields.String(validate=validate.Length(max=100))
    officer_ids = Refs("user")
    findings = fields.String()
    amount_verified = fields.String()
    employment_problems_corrected = fields.Integer(validate=validate.Range(0, 1000))
    on = bounded.Date()
    party_id = Ref("wage_party")
    outcome = fields.String()
    rectification = fields.String()
    kind = fields.String(validate=validate.OneOf(["reminder", "supervision"]))
    content = fields.String()
    served_on = bounded.Date()
    due_on = bounded.Date()
    amount = fields.String()
    instalments = fields.List(fields.Nested(InstalmentSchema))
    worker_name = fields.String(validate=validate.Length(max=50))
    paid_on = bounded.Date()
    closure_code = fields.String()
    approver_id = Ref("user")


class RevealSchema(Schema):
    field = fields.String(required=True, validate=validate.OneOf(["id_number", "phone", "bank_account"]))
    reason = fields.String(required=True, validate=validate.Length(min=4, max=300))


class RevealResultSchema(Schema):
    field = fields.String()
    value = fields.String()


class WageEventSchema(EventSchema):
    """A case timeline line: the issue timeline's fields plus what the claimant sees."""

    public_text = fields.String(allow_none=True)


class NoticeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    number = fields.String()
    party_id = fields.Integer()
    issued_on = fields.Date()
    served_on = fields.Date(allow_none=True)
    due_on = fields.Date()
    result = fields.String(allow_none=True)


class PartyOutSchema(Schema):
    id = fields.Integer()
    role = fields.String()
    name = fields.String()


class LedgerQuerySchema(Schema):
    from_ = bounded.Date(required=True, data_key="from")
    to = bounded.Date(required=True)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class LedgerListQuerySchema(LedgerQuerySchema):
    status = fields.String(
        validate=validate.OneOf(CASE_STATES), metadata={"description": "only cases in this status"}
    )


class LedgerRowSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    received_at = fields.String()
    claimant = fields.String()
    project = fields.String()
    parties = fields.String()
    claimed = fields.String()
    paid = fields.String()
    outstanding = fields.String()
    status = fields.String()
    status_text = fields.String()
    officer = fields.String(allow_none=True)
    closed = fields.String(allow_none=True)


class FiguresSchema(Schema):
    sites_visited = fields.Integer()
    site_visits = fields.Integer()
    reminder_notices = fields.Integer()
    supervision_orders = fields.Integer()
    interviews = fields.Integer()
    arrears_cases = fields.Integer()
    employment_problems_corrected = fields.Integer()
    amount_recovered = fields.String()
    cases_closed = fields.Integer()
    closed_on_time = fields.Integer()


class MonthQuerySchema(Schema):
    month = fields.String(required=True, validate=validate.Regexp(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"))


class SpotCheckSchema(Schema):
    project = fields.String()
    address = fields.String(allow_none=True)
    last_closed = fields.String()
