"""Every state change of notices: issuing one (number, render, store, record, audit)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.notices import content
from app.notices.models import KIND_LABELS, Notice
from app.notices.numbering import new_code, numbered_kind, take_number
from app.notices.render import (
    CircularContent,
    CorrectionContent,
    DecisionContent,
    Document,
    LetterContent,
    render,
)
from app.rounds.models import DistrictAssessment, Round
from workflows import clock

TEMPLATES = {
    "circular": "circular.html",
    "letter": "letter.html",
    "decision": "decision.html",
    "correction": "correction.html",
    "corrected_letter": "corrected_letter.html",
}


def _store(data: bytes, year: int) -> tuple[str, str]:
    """Write the PDF once, read-only; returns (relative path, SHA-256)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{year}/{uuid.uuid4().hex}.pdf"
    target = Path(current_app.config["NOTICE_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:  # never overwrite an issued document
        out.write(data)
    os.chmod(target, 0o444)
    return relative, digest


def issue_notice(
    session: Session,
    actor_id: int | None,
    kind: str,
    round_: Round,
    assessment: DistrictAssessment | None = None,
    stage: str = "",
    appeal_deadline: str = "",
    correction: Any = None,
    supersedes: Notice | None = None,
) -> Notice:
    """Number, render and record one notice in the caller's transaction: a failed render rolls
    the number back with everything else, so no number is ever skipped or used twice."""
    district = assessment.district if assessment is not None else None
    if kind == "corrected_letter":
        stage = "final"  # it takes the final letter's place
    today = clock.local(clock.now()).date()  # type: ignore[union-attr]
    year = today.year
    taken = take_number(session, numbered_kind(kind, stage), year)
    number = taken.text
    body: CircularContent | LetterContent | CorrectionContent | DecisionContent
    if kind == "circular":
        body = content.circular_content(session, round_)
        title, recipient = f"关于{round_.title}结果的通报", "各区城管执法部门"
    elif kind == "letter":
        assert assessment is not None and district is not None
        letter = content.letter_content(session, round_, assessment, stage)
        letter.appeal_deadline = appeal_deadline
        body = letter
        which = "核查" if stage == "verified" else "最终"
        title, recipient = f"{round_.title}{which}结果告知书", f"{district.name}城管执法部门"
    elif kind == "correction":
        assert correction is not None and supersedes is not None
        body = correction
        title, recipient = f"关于更正{supersedes.doc_number}的通知", "各区城管执法部门"
    elif kind == "corrected_letter":
        # The district's own account of a correction: its final letter restated, plus the
        # corrected indicator, before/after and the reason (``correction``: a CorrectedItem).
        assert assessment is not None and district is not None and correction is not None
        restated = content.letter_content(session, round_, assessment, stage)
        restated.correction = correction
        body = restated
        title, recipient = f"{round_.title}结果更正告知书", f"{district.name}城管执法部门"
    else:
        assert assessment is not None and district is not None
        body = content.decision_content(session, round_, assessment)
        title, recipient = (
            f"关于{district.name}{round_.title}申诉的复核决定书",
            f"{district.name}城管执法部门",
        )
    code = new_code(session)
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    document = Document(kind, title, number, today, code, f"{base}/verify")
    document.recipient = recipient
    if supersedes is not None:
        document.supersedes = f"{supersedes.doc_number}《{supersedes.title}》"
    pdf = render(TEMPLATES[kind], document, body)
    path, digest = _store(pdf.data, year)
    notice = Notice(
        kind=kind,
        round_id=round_.id,
        # A correction restates the whole round's results: every district may read it. (Its
        # details go to the district alone, in the corrected letter, which keeps district_id.)
        district_id=district.id if district and kind != "correction" else None,
        assessment_id=assessment.id if assessment else None,
        stage=stage,
        prefix=taken.prefix,
        year=year,
        serial=taken.serial,
        doc_number=number,
        title=title,
        issued_by=actor_id,
        sha256=digest,
        path=path,
        size=len(pdf.data),
        pages=pdf.pages,
        verification_code=code,
        supersedes_id=supersedes.id if supersedes else None,
    )
    session.add(notice)
    session.flush()
    audit(
        session,
        actor_id,
        "notice.issue",
        ("notice", notice.id),
        f"印发{KIND_LABELS[kind]} {number}",
        after={"sha256": digest, "pages": pdf.pages, "title": title},
        round_id=round_.id,
        district_id=district.id if district else None,
    )
    return notice


def notices_of(session: Session, round_id: int, district_id: int | None = None) -> list[Notice]:
    query = select(Notice).where(Notice.round_id == round_id).order_by(Notice.id)
    if district_id is not None:
        query = query.where((Notice.district_id == district_id) | (Notice.district_id.is_(None)))
    return list(session.scalars(query))


def notice_file(notice: Notice) -> Path:
    return Path(current_app.config["NOTICE_DIR"]) / notice.path
