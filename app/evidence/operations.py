"""Storing uploaded evidence and linking it to an assessment, indicator or appeal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.errors import ValidationFailed
from app.evidence.models import EvidenceFile
from app.evidence.storage import EvidenceRejected, StoredEvidence, evidence_path, store_evidence
from app.rounds.models import DistrictAssessment
from app.tasks.context import Upload, UploadSettings


@dataclass
class PendingEvidence:
    """A file already checked and written to disk, waiting for its database row."""

    field: str
    stored: StoredEvidence
    indicator_id: int | None = None


def store_uploads(
    uploads: UploadSettings, field: str, files: Sequence[Upload], indicator_id: int | None = None
) -> list[PendingEvidence]:
    """Check and store the files of one form field; on a rejected file, remove what was stored."""
    pending: list[PendingEvidence] = []
    try:
        for upload in files:
            if not upload or not upload.filename:
                continue
            data = upload.read(uploads.max_bytes + 1)
            stored = store_evidence(
                data,
                upload.filename,
                uploads.directory,
                uploads.max_bytes,
                uploads.display_max_px,
                uploads.pixels,  # shared by every field of the form post
            )
            pending.append(PendingEvidence(field, stored, indicator_id))
    except EvidenceRejected as exc:
        discard(uploads, pending)
        # The field may hold several files: both messages say which one was refused.
        message = f"{getattr(upload, 'filename', '')}：{exc}"
        raise ValidationFailed(message, {field: message}) from exc
    return pending


def discard(uploads: UploadSettings, pending: Sequence[PendingEvidence]) -> None:
    for item in pending:
        for name in (item.stored.stored_name, item.stored.display_name):
            if name:
                evidence_path(uploads.directory, name).unlink(missing_ok=True)


def attach(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    stage: str,
    pending: Sequence[PendingEvidence],
    appeal_id: int | None = None,
) -> list[EvidenceFile]:
    files = []
    for item in pending:
        s = item.stored
        evidence = EvidenceFile(
            assessment_id=assessment.id,
            indicator_id=item.indicator_id,
            appeal_id=appeal_id,
            stage=stage,
            original_name=s.original_name,
            kind=s.kind,
            content_type=s.content_type,
            size=s.size,
            sha256=s.sha256,
            stored_name=s.stored_name,
            display_name=s.display_name,
            uploaded_by=user_id,
        )
        session.add(evidence)
        files.append(evidence)
    if files:
        session.flush()
        audit(
            session,
            user_id,
            "evidence.upload",
            ("assessment", assessment.id),
            f"上传佐证材料 {len(files)} 个",
            after=[{"id": f.id, "name": f.original_name, "sha256": f.sha256} for f in files],
            scope=assessment,
        )
    return files


def evidence_of(session: Session, assessment_id: int) -> list[EvidenceFile]:
    return list(
        session.scalars(
            select(EvidenceFile).where(EvidenceFile.assessment_id == assessment_id).order_by(EvidenceFile.id)
        )
    )
