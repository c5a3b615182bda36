"""Files written before their rows commit are removed once old if the rows never came:
upload files (and interrupted .part writes) and notice PDFs."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.db import db
from app.deadlines.scheduling import build_scheduler, sweep_files
from app.evidence.models import EvidenceFile
from app.evidence.storage import store_evidence
from app.evidence.sweeping import sweep_orphan_uploads
from app.notices.models import Notice
from app.notices.sweeping import sweep_orphan_notices
from app.processes.runtime import ProcessRun
from app.rounds.models import Round
from tests.evidence.builders import jpeg, pdf
from tests.helpers import district_ids, full_marks, issue_round, task_of

pytestmark = pytest.mark.db
LIMIT = 20 * 1024 * 1024
TEN_MINUTES = timedelta(minutes=10)


def _age(path: Path, minutes: float) -> None:
    then = time.time() - minutes * 60
    os.utime(path, (then, then), follow_symlinks=False)


def _sweep_uploads(app: Flask) -> int:
    with app.app_context(), db.transaction() as session:
        return sweep_orphan_uploads(session, Path(app.config["UPLOAD_DIR"]), TEN_MINUTES)


def _audits(action: str) -> list[AuditRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def test_old_orphan_uploads_and_part_files_removed_recent_and_foreign_files_kept(app: Flask) -> None:
    upload_dir = Path(app.config["UPLOAD_DIR"])
    old = store_evidence(jpeg(), "旧.jpg", upload_dir, LIMIT)  # an original and its display copy
    recent = store_evidence(pdf(), "新.pdf", upload_dir, LIMIT)
    part = upload_dir / ".upload-k2j4_x9q.part"
    part.write_bytes(b"half a photo")
    fresh_part = upload_dir / ".upload-abcdefgh.part"
    fresh_part.write_bytes(b"being written")
    foreign = upload_dir / "README.txt"
    foreign.write_text("not written by the application")
    (upload_dir / "archive").mkdir()
    assert old.display_name is not None
    for path in (
        upload_dir / old.stored_name,
        upload_dir / old.display_name,
        part,
        foreign,
        upload_dir / "archive",
    ):
        _age(path, 11)
    _age(upload_dir / recent.stored_name, 9)

    assert _sweep_uploads(app) == 3

    assert sorted(os.listdir(upload_dir)) == sorted(
        [recent.stored_name, fresh_part.name, "README.txt", "archive"]
    )
    [entry] = _audits("evidence.sweep")
    assert entry.actor_id is None
    assert entry.summary == "清理无主的上传文件 3 个"
    assert sorted(entry.after["files"]) == sorted([old.stored_name, old.display_name, part.name])
    assert _sweep_uploads(app) == 0  # nothing left to do: no second audit record
    assert len(_audits("evidence.sweep")) == 1


def test_sweeping_a_missing_upload_dir_does_nothing(app: Flask, tmp_path: Path) -> None:
    with app.app_context(), db.transaction() as session:
        assert sweep_orphan_uploads(session, tmp_path / "never-created", TEN_MINUTES) == 0
        assert sweep_orphan_notices(session, tmp_path / "never-created", TEN_MINUTES) == 0


def _self_report(liaison: Any, record_id: int) -> Any:
    data = full_marks({"action": "submit", "evidence_ZF0101": (io.BytesIO(jpeg()), "现场.jpg")})
    return liaison.post(f"/tasks/{record_id}", data=data, content_type="multipart/form-data")


def test_files_left_by_a_failed_submission_are_swept_those_of_a_saved_one_kept(
    app: Flask, demo: None, client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gusu = district_ids()["gusu"]
    issue_round(client_as("admin"), district_ids=[gusu])
    liaison = client_as("liaison_gusu")
    record_id = task_of("self_report", gusu).id
    upload_dir = Path(app.config["UPLOAD_DIR"])

    def lost_connection(*args: object, **kwargs: object) -> None:
        raise RuntimeError("server closed the connection unexpectedly")

    # The form is parsed and the photo stored; then saving the process fails and everything
    # in the database rolls back. The files stay behind.
    with monkeypatch.context() as patched:
        patched.setattr(ProcessRun, "step_done", lost_connection)
        assert _self_report(liaison, record_id).status_code == 500
    left = sorted(os.listdir(upload_dir))
    assert len(left) == 2  # the original and its display copy
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0

    assert _sweep_uploads(app) == 0  # too recent: its row might still be on its way
    for name in left:
        _age(upload_dir / name, 11)
    with app.app_context(), db.transaction() as session:
        assert sweep_files(session) == "清理无主上传文件 2 个"  # the scheduler's job
    assert os.listdir(upload_dir) == []
    assert sorted(_audits("evidence.sweep")[0].after["files"]) == left

    # Submitted again, successfully: the files have rows and stay however old they get.
    assert _self_report(liaison, record_id).status_code == 302
    kept = sorted(os.listdir(upload_dir))
    assert len(kept) == 2
    for name in kept:
        _age(upload_dir / name, 24 * 60)
    assert _sweep_uploads(app) == 0
    assert sorted(os.listdir(upload_dir)) == kept


def test_notice_pdfs_without_a_row_removed_when_old(app: Flask, demo: None, client_as: Any) -> None:
    issue_round(client_as("admin"), district_ids=[district_ids()["gusu"]])
    notice_dir = Path(app.config["NOTICE_DIR"])
    (notice_dir / "2026").mkdir(parents=True)
    issued, killed, rendering = (f"2026/{c * 32}.pdf" for c in "abc")
    for relative in (issued, killed, rendering, "2026/notes.txt", "drafts/" + "d" * 32 + ".pdf"):
        (notice_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (notice_dir / relative).write_bytes(b"%PDF-1.7")
        os.chmod(notice_dir / relative, 0o444)  # as operations._store leaves an issued document
    for relative in (issued, killed, "2026/notes.txt", "drafts/" + "d" * 32 + ".pdf"):
        _age(notice_dir / relative, 11)
    with db.transaction() as session:
        round_id = session.scalar(select(Round.id))
        session.add(
            Notice(
                kind="circular",
                round_id=round_id,
                year=2026,
                doc_number="苏城管考〔2026〕1号",
                title="通报",
                sha256="0" * 64,
                path=issued,
                size=8,
                pages=1,
                verification_code="TESTCODE0001",
            )
        )

    with app.app_context(), db.transaction() as session:
        assert sweep_orphan_notices(session, notice_dir, TEN_MINUTES) == 1

    assert not (notice_dir / killed).exists()  # written by a job that never committed its row
    for relative in (issued, rendering, "2026/notes.txt", "drafts/" + "d" * 32 + ".pdf"):
        assert (notice_dir / relative).exists(), relative
    [entry] = _audits("notice.sweep")
    assert (entry.actor_id, entry.summary, entry.after["files"]) == (
        None,
        "清理未印发的通报文件 1 个",
        [killed],
    )


def test_sweep_runs_every_five_minutes_in_the_scheduler(app: Flask) -> None:
    scheduler = build_scheduler(app, holder="test")
    [job] = [job for job in scheduler.periodic if job.name == "sweep_files"]
    assert (job.label, job.seconds) == ("清理无主文件", 300)
    assert app.config["ORPHAN_FILE_MINUTES"] == 10
    assert job.run() == ""  # nothing to sweep in a fresh instance
