"""Public claim pages. Each view loads the form with the API route's schema and calls the same
service function under the same shared rate limits; nothing here decides what a claim is."""

from __future__ import annotations

import io
import secrets
from urllib.parse import urlsplit

import segno
from flask import Blueprint, current_app, make_response, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.claim import forms
from gridgov.errors import DomainError, NotFound, render_errors_as_pages, safe_rollback
from gridgov.extensions import csrf, db
from gridgov.i18n import LANG_COOKIE, Msg, request_language
from gridgov.timeutil import LOCAL_TZ
from gridgov.wages import evidence, intake
from gridgov.wages.models import EVIDENCE_KINDS
from gridgov.wages.routes import EVIDENCE_LIMITS, INTAKE_LIMITS, TRACK_LIMITS, uploaded_photos, with_limits
from gridgov.wages.states import WageState

bp = Blueprint(
    "claim",
    __name__,
    url_prefix="/claim",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
FILED_KEY = "claim_forms_filed"  # form ids already filed from this browser: a reload files nothing twice


def t(zh: str, en: str) -> str:
    return Msg(zh, en).pick(request_language())


def _page(template: str, http_status: int = 200, **context):
    response = make_response(render_template(template, **context))
    response.status_code = http_status
    return response


def _render_error(status: int, message: str, errors) -> object:
    if status == 400 and "CSRF" in str(message):
        message = t(
            "页面已过期，请返回上一页刷新后再提交（您填写的内容请先复制保存）。",
            "The page expired; go back, reload and send it again.",
        )
    if status == 413:
        message = t("照片太大或太多，请少选几张再试。", "The photos are too large or too many; choose fewer.")
    if status == 429:
        message = t(
            "提交太频繁了，请过一会儿再试，或拨打电话求助。",
            "Too many attempts; try again later or phone us.",
        )
    return _page("claim/error.html", status, status=status, message=message)


PHOTO_FORMS = ("claim.file", "claim.evidence")


def _raise_upload_limit():
    # Forms with photos may be larger than a JSON body; decided before anything reads the form,
    # the rate limiter's key (the phone typed) and the CSRF check included.
    if request.method == "POST" and request.endpoint in PHOTO_FORMS:
        config = current_app.config
        request.max_content_length = (config["WAGE_EVIDENCE_MAX_BYTES"] + 64 * 1024) * config[
            "WAGE_EVIDENCE_MAX_PER_CLAIM"
        ] + 64 * 1024


@bp.record_once
def _setup(state) -> None:
    render_errors_as_pages("/claim/", _render_error)
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)

    @state.app.context_processor
    def _claim_globals():
        if not request.path.startswith("/claim"):
            return {}
        return {
            "t": t,
            "lang": request_language(),
            "csrf_token": generate_csrf,
            "office_phone": current_app.config["WAGE_OFFICE_PHONE"],
            "office_name": current_app.config["WAGE_OFFICE_NAME"],
            "kind_title": lambda code: evidence.KIND_TITLES[code].pick(request_language()),
        }


@bp.before_request
def _protect_forms():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.after_request
def _headers(response):
    # A receipt carries a tracking code, a form personal data: never kept by a shared phone or proxy.
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _area(code: str | None) -> Area | None:
    if not code:
        return None
    return db.session.scalar(select(Area).where(Area.code == code.strip()[:50]))


def _local(value) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _public_url(endpoint: str, **values) -> str:
    base = current_app.config["PUBLIC_BASE_URL"] or request.url_root.rstrip("/")
    return base + url_for(endpoint, **values)


# ---------------------------------------------------------------- start, language


@bp.get("/")
def index():
    return _page("claim/index.html")


@bp.get("/lang/<any(zh, en):code>")
def switch_language(code: str):
    target = request.args.get("next") or url_for("claim.index")
    if not target.startswith("/claim") or urlsplit(target).netloc:
        target = url_for("claim.index")
    response = redirect(target)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


# ---------------------------------------------------------------- filing


def _form(values=None, errors=None, status=200, area=None, notice=None):
    return _page(
        "claim/new.html",
        status,
        values=values or dict.fromkeys(forms.TEXT_FIELDS, ""),
        errors=errors or {},
        area=area,
        parties=forms.PARTIES,
        kinds=[(k, evidence.KIND_TITLES[k]) for k in EVIDENCE_KINDS],
        photo_kind=request.form.get("photo_kind", "iou"),
        form_id=secrets.token_urlsafe(12),
        max_photos=current_app.config["WAGE_EVIDENCE_MAX_PER_CLAIM"],
        notice=notice,
    )


@bp.get("/new")
def new():
    """The claim form; `?area=CODE` (from a site's poster) sends the claim to that area's office."""
    return _form(area=_area(request.args.get("area")))


def _file():
    lang = request_language()
    area = _area(request.form.get("area"))
    values = forms.typed(request.form)
    form_id = request.form.get("form_id", "")[:40]
    filed = session.get(FILED_KEY, [])
    if form_id and form_id in filed:
        return _page(
            "claim/error.html",
            409,
            status=409,
            message=t(
                "这份投诉已经提交过了，不会重复登记。请用回执上的案件编号和查询码查询。",
                "This claim was already sent and is not filed twice. Use the number and code on the receipt.",
            ),
        )
    body = forms.payload(values, area.code if area else None)
    try:
        data = forms.load(body)
        photos = uploaded_photos("photos")
        kind = request.form.get("photo_kind", "other")
        if kind not in EVIDENCE_KINDS:
            kind = "other"
        case, code = intake.file_claim(data, photos, kind)
    except ValidationError as exc:
        safe_rollback()
        found = {**exc.messages, "json": intake.claim_errors(body)}
        errors = forms.field_errors(found, body, values, lang)
        return _form(values, errors, 422, area)
    except DomainError as exc:
        safe_rollback()
        if exc.errors and "json" in exc.errors:
            errors = forms.field_errors(exc.errors, body, values, lang)
        else:
            text = exc.message.pick(lang) if isinstance(exc.message, Msg) else str(exc.message)
            errors = {"photos": text}
        return _form(values, errors, exc.status, area)
    session[FILED_KEY] = [*filed, form_id][-20:]
    return _page(
        "claim/receipt.html",
        201,
        case=case,
        code=code,
        deadline=_local(case.accept_deadline),
        track_url=_public_url("claim.track"),
        photos=len(photos),
    )


file_claim_view = with_limits(INTAKE_LIMITS, _file)
bp.add_url_rule("/new", "file", file_claim_view, methods=["POST"])


# ---------------------------------------------------------------- tracking


def _track():
    if request.method == "GET":
        return _page("claim/track.html", number=request.args.get("number", "")[:30], view=None, error=None)
    number = request.form.get("number", "")[:30]
    try:
        view = intake.claimant_view(number, request.form.get("code", "")[:30])
    except NotFound:
        error = t("案件编号或查询码不正确。", "Wrong case number or tracking code.")
        return _page("claim/track.html", 404, number=number, view=None, error=error)
    if request_language() == "en":
        view["status_text"] = WageState(view["status"]).label.en
    return _page("claim/track.html", number=number, view=view, error=None)


bp.add_url_rule("/track", "track", with_limits(TRACK_LIMITS, _track), methods=["GET", "POST"])


# ---------------------------------------------------------------- evidence later


def _evidence_page(status=200, **context):
    context.setdefault("number", request.values.get("number", "")[:30])
    context.setdefault("error", None)
    context.setdefault("sent", None)
    return _page(
        "claim/evidence.html",
        status,
        kinds=[(k, evidence.KIND_TITLES[k]) for k in EVIDENCE_KINDS],
        max_photos=current_app.config["WAGE_EVIDENCE_MAX_PER_CLAIM"],
        **context,
    )


def _evidence():
    if request.method == "GET":
        return _evidence_page()
    lang = request_language()
    try:
        case = intake.find_claim(request.form.get("number", "")[:30], request.form.get("code", "")[:30])
    except NotFound:
        return _evidence_page(404, error=t("案件编号或查询码不正确。", "Wrong case number or tracking code."))
    kind = request.form.get("kind", "other")
    try:
        evidence.add(case, uploaded_photos("photos"), kind if kind in EVIDENCE_KINDS else "other")
    except DomainError as exc:
        safe_rollback()
        text = exc.message.pick(lang) if isinstance(exc.message, Msg) else str(exc.message)
        return _evidence_page(exc.status, error=text, listed=evidence.listed(case))
    return _evidence_page(201, sent=True, listed=evidence.listed(case))


bp.add_url_rule(
    "/evidence",
    "evidence",
    with_limits((*TRACK_LIMITS, *EVIDENCE_LIMITS), _evidence),
    methods=["GET", "POST"],
)


# ---------------------------------------------------------------- poster


def _poster_area() -> Area | None:
    code = request.args.get("area")
    area = _area(code)
    if code and area is None:
        raise NotFound(Msg("没有这个区域编码。", "No area has this code."))
    return area


@bp.get("/poster")
def poster():
    """A printable A4 notice for site boards: the office, a QR code of the filing page, the hotline."""
    area = _poster_area()
    return _page(
        "claim/poster.html",
        area=area,
        filing_url=_public_url("claim.new", area=area.code) if area else _public_url("claim.new"),
    )


@bp.get("/poster/qr.png")
def poster_qr():
    """The poster's QR code of the filing URL, drawn here (segno), so the page needs no other site."""
    area = _poster_area()
    url = _public_url("claim.new", area=area.code) if area else _public_url("claim.new")
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    response = make_response(buffer.getvalue())
    response.mimetype = "image/png"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
