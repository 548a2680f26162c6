"""Evidence photos a claimant sends: 欠条, contracts, attendance sheets, chat screenshots, the site.

The same cleaning as issue photos (type by content, location metadata removed, Pillow's bounded
decoding); a per-claim count and a per-file size, decided before anything is written. Officers
see the pictures; the claimant sees only the list of what he sent.
"""

from __future__ import annotations

import hashlib
import os

from flask import current_app
from sqlalchemy import func, select

from gridgov.auth.models import User
from gridgov.errors import Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.issues.photos import PhotoError, clean_photo
from gridgov.wages.models import EVIDENCE_KINDS, WageCase, WageEvidence
from gridgov.wages.queries import get_case

KIND_TITLES = {
    "iou": Msg("欠条", "IOU"),
    "contract": Msg("合同", "Contract"),
    "attendance": Msg("考勤记录", "Attendance record"),
    "chat": Msg("聊天截图", "Chat screenshot"),
    "site_photo": Msg("工地照片", "Site photo"),
    "other": Msg("其他", "Other"),
}


def clean_all(blobs: list[bytes], already: int = 0) -> list[tuple[str, bytes]]:
    """Check and clean every photo before any is kept: count, size, type (nothing written)."""
    limit = current_app.config["WAGE_EVIDENCE_MAX_PER_CLAIM"]
    if already + len(blobs) > limit:
        raise Invalid(
            Msg(
                f"每个案件最多 {limit} 张照片，已有 {already} 张。",
                f"At most {limit} photos per claim; {already} sent.",
            ),
            errors={"files": {"file": [f"at most {limit} per claim"]}},
        )
    cleaned = []
    for data in blobs:
        if len(data) > current_app.config["WAGE_EVIDENCE_MAX_BYTES"]:
            raise PayloadTooLarge(Msg("照片太大，请拍小一点再传。", "The photo is too large."))
        try:
            cleaned.append(clean_photo(data))
        except PhotoError as exc:
            raise UnsupportedMediaType(
                Msg("只能上传照片（JPEG、PNG、WebP 或 HEIC）。", f"Only photos can be sent: {exc}.")
            ) from exc
    return cleaned


def store(case: WageCase, cleaned: list[tuple[str, bytes]], kind: str) -> list[WageEvidence]:
    """Write cleaned photos under the upload directory and add their rows (the caller commits)."""
    if kind not in EVIDENCE_KINDS:
        raise Invalid(
            Msg("证据类型无效。", "Unknown kind of evidence."),
            errors={"form": {"kind": list(EVIDENCE_KINDS)}},
        )
    rows = []
    for content_type, data in cleaned:
        digest = hashlib.sha256(data).hexdigest()
        directory = os.path.join(current_app.config["UPLOAD_DIR"], "evidence", digest[:2])
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{digest}.{content_type.split('/')[1].replace('jpeg', 'jpg')}")
        with open(path, "wb") as handle:
            handle.write(data)
        row = WageEvidence(
            case_id=case.id,
            kind=kind,
            content_type=content_type,
            size=len(data),
            sha256=digest,
            path=os.path.relpath(path, current_app.config["UPLOAD_DIR"]),
        )
        db.session.add(row)
        rows.append(row)
    return rows


def count(case: WageCase) -> int:
    return db.session.scalar(select(func.count(WageEvidence.id)).where(WageEvidence.case_id == case.id))


def add(case: WageCase, blobs: list[bytes], kind: str) -> list[WageEvidence]:
    """More photos for a claim the caller has already matched by number and code (commits)."""
    if not blobs:
        raise Invalid(
            Msg("请选择要上传的照片。", "Choose a photo to send."), errors={"files": {"file": ["required"]}}
        )
    rows = store(case, clean_all(blobs, count(case)), kind)
    db.session.commit()
    return rows


def listed(case: WageCase) -> list[WageEvidence]:
    return list(
        db.session.scalars(
            select(WageEvidence).where(WageEvidence.case_id == case.id).order_by(WageEvidence.id)
        )
    )


def for_officer(user: User, case_id: int) -> list[WageEvidence]:
    """The photos of a case in the officer's scope."""
    return listed(get_case(user, case_id))


def file_for_officer(user: User, case_id: int, evidence_id: int) -> tuple[WageEvidence, str]:
    case = get_case(user, case_id)
    row = db.session.scalar(
        select(WageEvidence).where(WageEvidence.id == evidence_id, WageEvidence.case_id == case.id)
    )
    if row is None:
        raise NotFound()
    return row, os.path.join(current_app.config["UPLOAD_DIR"], row.path)
