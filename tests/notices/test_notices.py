"""PDF notices: content read back from the PDF, fonts, numbering, access, the verification page."""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fontTools.ttLib import TTCollection, TTFont
from pypdf import PdfReader
from sqlalchemy import select

from app.accounts.models import User
from app.appeals.models import Appeal
from app.audit.models import AuditRecord
from app.db import db
from app.notices import operations as notice_operations
from app.notices.jobs import run_pending
from app.notices.models import DocumentCounter, Notice, NoticeJob
from app.notices.numbering import take_serial
from app.notices.render import DeductionLine, Document, IndicatorLine, LetterContent, render
from app.notifications.models import Notification
from app.rounds.models import Round, RoundResult
from app.schemes.models import Indicator
from tests.helpers import (
    appeal_adjustment,
    complete_round,
    correct_dw03,
    district_ids,
    full_marks,
    issue_round,
    occurrence,
    task_of,
)
from workflows import clock

pytestmark = pytest.mark.db
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "notices"


NOTICE_DIR: list[Path] = []
APP: list = []


@pytest.fixture(autouse=True)
def _notice_dir(app):
    """Where this test's app keeps its notice files (an outer app context would share `g`,
    and with it a stale CSRF token, across the test client's requests)."""
    NOTICE_DIR[:] = [Path(app.config["NOTICE_DIR"])]
    APP[:] = [app]


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def fonts_of(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return names


@functools.cache
def cjk_cmap() -> frozenset[int]:
    """The code points Noto Serif CJK SC (the body face the notices embed) has glyphs for."""
    path = subprocess.run(
        ["fc-match", "-f", "%{file}", "Noto Serif CJK SC"], capture_output=True, text=True, check=True
    ).stdout
    fonts = TTCollection(path).fonts if path.lower().endswith(".ttc") else [TTFont(path)]
    font = next(f for f in fonts if f["name"].getDebugName(1) == "Noto Serif CJK SC")
    return frozenset(font.getBestCmap())


def uncovered(text: str) -> set[str]:
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cjk_cmap()}


def pdf_of(notice: Notice) -> bytes:
    return (NOTICE_DIR[0] / notice.path).read_bytes()


def generate() -> str:
    """What the scheduler's notice job does in the background, run here and now."""
    with APP[0].app_context():
        return run_pending()


def run_round(client_as) -> int:
    """姑苏 loses points at verification (DW03), 园区 keeps full marks; both accept; published."""
    loss = {
        "f_DW03_present": "1",
        **occurrence("DW03", 1, "执勤着装不规范", "superior"),
        "reason_DW03": "省厅督查发现着装不规范",
    }
    round_id = complete_round(client_as, ["gusu", "sip"], {"gusu": loss})
    assert generate() == "生成文件 5 份"  # two 核查结果告知书, the circular, two 最终结果告知书
    return round_id


def notices(round_id: int) -> list[Notice]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.round_id == round_id).order_by(Notice.id)))


def test_a_round_issues_letters_at_release_and_the_circular_at_publication(app, demo, client_as) -> None:
    round_id = run_round(client_as)
    ids = district_ids()
    issued = notices(round_id)
    kinds = [(n.kind, n.stage, n.district.name if n.district else None) for n in issued]
    assert kinds == [
        ("letter", "verified", "姑苏区"),
        ("letter", "verified", "苏州工业园区"),
        ("circular", "", None),
        ("letter", "final", "姑苏区"),
        ("letter", "final", "苏州工业园区"),
    ]
    circular = issued[2]
    year = circular.year
    # Every document has a number of its own: the circular under 苏城管考, the four letters
    # (核查 and 最终) under 苏城管考告, one sequence per 代字 and year.
    assert circular.doc_number == f"苏城管考〔{year}〕{circular.serial}号"
    letters = [n for n in issued if n.kind == "letter"]
    assert [n.doc_number for n in letters] == [f"苏城管考告〔{year}〕{n}号" for n in (1, 2, 3, 4)]
    assert uncovered("姑苏区〔2026〕😀") == {"😀"}  # the check below can fail
    for notice in issued:
        data = pdf_of(notice)
        assert hashlib.sha256(data).hexdigest() == notice.sha256
        assert len(PdfReader(io.BytesIO(data)).pages) == notice.pages
        assert fonts_of(data) <= {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold", "Noto-Sans-CJK-SC-Bold"}
        assert not uncovered(text_of(data))  # no character drawn as a box

    text = text_of(pdf_of(circular))
    results = {r.district_id: r for r in db.session.scalars(select(RoundResult))}
    gusu, sip = results[ids["gusu"]], results[ids["sip"]]
    assert sip.rank == 1
    assert gusu.rank == 2
    assert circular.doc_number in text
    assert "苏州市城市管理局" in text
    assert "考核结果" in text
    assert "1 苏州工业园区" in text
    assert "2 姑苏区" in text
    assert format(gusu.total.normalize(), "f") in text
    assert format(sip.total.normalize(), "f") in text
    assert "DW03" in text  # the main deduction city-wide
    assert circular.verification_code in text

    verified_letter = text_of(pdf_of(issued[0]))
    assert issued[0].doc_number in verified_letter
    assert "姑苏区" in verified_letter
    assert "申诉权利" in verified_letter
    assert "DW03" in verified_letter
    final_letter = text_of(pdf_of(issued[3]))
    assert "最终得分" in final_letter
    assert "申诉权利" not in final_letter

    if shutil.which("pdftoppm"):  # the first page as an image, for a person to look at
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for notice, name in (
            (circular, "circular"),
            (issued[0], "letter-verified"),
            (issued[3], "letter-final"),
        ):
            source = ARTIFACTS / f"{name}.pdf"
            source.write_bytes(pdf_of(notice))
            subprocess.run(
                ["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", str(source), str(ARTIFACTS / name)],
                check=True,
            )
            assert (ARTIFACTS / f"{name}-1.png").stat().st_size > 10_000


def test_a_long_letter_runs_over_pages_with_its_headers_repeated(app) -> None:
    lines = [
        IndicatorLine(f"ZF{n:02d}", f"指标{n}", Decimal(5), {"self": Decimal(5), "verified": Decimal(4)})
        for n in range(19)
    ]
    deductions = [
        DeductionLine(
            f"ZF{n % 19:02d}",
            f"指标{n % 19}",
            Decimal("0.5"),
            f"第 {n} 起：占道经营未及时处置",
            [f"照片{n}.jpg"],
        )
        for n in range(120)
    ]
    content = LetterContent(
        "2026年12月城管执法考核",
        "2026-12",
        "姑苏区",
        "verified",
        [("self", "自评分"), ("verified", "核查分")],
        lines,
        {"self": Decimal(75), "verified": Decimal(56)},
        "中",
        deductions,
        "2026年12月31日 24:00",
    )
    document = Document(
        "letter", "长告知书", "苏城管考〔2026〕9号·姑苏区", date(2026, 12, 20), "AAAA-BBBB-CCCC"
    )
    pdf = render("letter.html", document, content)
    reader = PdfReader(io.BytesIO(pdf.data))
    assert pdf.pages == len(reader.pages) >= 4
    for page in reader.pages[2:]:
        assert "扣分理由" in page.extract_text()  # the table header on every page it runs over
    assert "第 119 起" in text_of(pdf.data)


def test_numbers_run_per_year_and_a_failed_render_uses_none(app, demo, client_as, monkeypatch) -> None:
    ids = district_ids()
    issue_round(client_as("admin"), district_ids=[ids["gusu"]])
    round_id = db.session.scalar(select(Round.id))
    monkeypatch.setattr(
        notice_operations, "render", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("字体缺失"))
    )
    with pytest.raises(RuntimeError), app.app_context(), db.transaction() as session:
        notice_operations.issue_notice(session, None, "circular", session.get(Round, round_id))
    assert db.session.scalar(select(DocumentCounter.last_serial)) is None
    monkeypatch.undo()
    with app.app_context(), db.transaction() as session:
        round_ = session.get(Round, round_id)
        first = notice_operations.issue_notice(session, None, "circular", round_)
        assert first.serial == 1
        assert take_serial(session, "苏城管考", first.year) == 2


def test_only_those_entitled_download_a_notice(app, demo, client_as) -> None:
    run_round(client_as)
    issued = notices(db.session.scalar(select(Round.id)))
    gusu_letter = issued[0]
    assert client_as("liaison_gusu").get(f"/notices/{gusu_letter.id}.pdf").status_code == 200
    assert client_as("liaison_sip").get(f"/notices/{gusu_letter.id}.pdf").status_code == 404
    response = client_as("liaison_sip").get(f"/notices/{issued[2].id}.pdf")  # the published circular
    assert response.status_code == 200
    assert response.data[:5] == b"%PDF-"
    assert client_as().get(f"/notices/{issued[2].id}.pdf").status_code in (302, 401)
    page = client_as("liaison_gusu").get(f"/rounds/{issued[0].round_id}/districts/{district_ids()['gusu']}")
    assert "核查结果告知书" in page.get_data(as_text=True)


def test_verification_page_valid_unknown_and_malformed_codes(app, demo, client_as) -> None:
    run_round(client_as)
    notice = notices(db.session.scalar(select(Round.id)))[2]
    public = client_as()
    valid = public.get(f"/verify?code={notice.verification_code.lower().replace('-', '')}")
    text = valid.get_data(as_text=True)
    assert valid.status_code == 200
    assert "已印发" in text
    assert notice.sha256 in text
    # Nothing else is revealed.
    assert notice.title not in text
    assert notice.doc_number not in text
    unknown = public.get("/verify?code=ZZZZ-ZZZZ-ZZZZ")
    assert unknown.status_code == 404
    assert "未找到" in unknown.get_data(as_text=True)
    malformed = public.get("/verify?code=12345")
    assert malformed.status_code == 400
    assert "验证码格式不正确" in malformed.get_data(as_text=True)
    public.refresh_token("/verify")
    posted = public.post("/verify", data={"code": notice.verification_code})
    assert posted.status_code == 200
    assert notice.sha256 in posted.get_data(as_text=True)
    app.config["VERIFY_RATE_PER_MINUTE"] = 5
    codes = [public.get("/verify?code=ZZZZ-ZZZZ-ZZZZ").status_code for _ in range(6)]
    assert codes[-1] == 429


def test_publication_generates_in_the_background_and_a_failed_document_is_retried_alone(
    app, demo, client_as, monkeypatch
) -> None:
    round_id = complete_round(client_as, ["gusu", "sip"])
    admin = client_as("admin")
    overview = admin.get(f"/rounds/{round_id}").get_data(as_text=True)
    # The two releases' 核查结果告知书 wait in the same queue as the publication's documents.
    assert '<span class="done">0</span> / 5 份已生成' in overview

    real = notice_operations.render

    def flaky(template, document, content):  # 园区's letters fail to render
        if template == "letter.html" and content.district == "苏州工业园区":
            raise RuntimeError("排版失败")
        return real(template, document, content)

    monkeypatch.setattr(notice_operations, "render", flaky)
    assert generate() == "生成文件 3 份，失败 2 份"
    progress = admin.get(f"/rounds/{round_id}/notices/progress").get_json()
    assert progress == {"total": 5, "done": 3, "failed": 0, "pending": 2, "percent": 60}
    with db.transaction() as session:  # the retry is due (it waits 30 s otherwise)
        session.execute(NoticeJob.__table__.update().values(next_attempt_at=clock.now()))
    generate()
    with db.transaction() as session:
        session.execute(NoticeJob.__table__.update().values(next_attempt_at=clock.now()))
    generate()
    progress = admin.get(f"/rounds/{round_id}/notices/progress").get_json()
    assert progress["failed"] == 2
    assert progress["done"] == 3
    page = admin.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "排版失败" in page
    assert "重新生成失败的文件" in page
    # The raw cause is for the administrators; a leader reads that they will see to it.
    leader_page = client_as("leader").get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "排版失败" not in leader_page
    assert "考核管理员处理后将重新生成" in leader_page
    admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
    told = db.session.scalars(select(Notification.title).where(Notification.user_id == admin_id)).all()
    round_ = db.session.get(Round, round_id)
    assert round_ is not None
    assert told.count(f"{round_.title} 文件生成失败") == 2
    # 园区's result cannot be corrected before its final letter exists: the corrected letter
    # supersedes it, and a letter generated afterwards would stand beside it.
    refused = correct_dw03(admin, round_id, district_ids()["sip"], "复查", present=True)
    assert "告知书尚未生成完毕" in refused.get_data(as_text=True)
    assert not [n for n in notices(round_id) if n.kind in ("correction", "corrected_letter")]

    monkeypatch.setattr(notice_operations, "render", real)
    assert admin.post(f"/rounds/{round_id}/notices/retry").status_code == 302
    assert generate() == "生成文件 2 份"
    assert admin.get(f"/rounds/{round_id}/notices/progress").get_json()["percent"] == 100
    issued = notices(round_id)
    assert len(issued) == 5
    # The failed renders used no number: the letters' serials run on without a gap.
    letters = sorted(n.serial for n in issued if n.kind == "letter")
    assert letters == [1, 2, 3, 4]


def png_of(notice: Notice, name: str) -> None:
    """The PDF and its pages as images under test-artifacts/notices/, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf_of(notice))
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(source), str(ARTIFACTS / name)], check=True)


def test_a_correction_supersedes_the_circular_with_its_own_number(app, demo, client_as) -> None:
    round_id = run_round(client_as)
    ids = district_ids()
    circular = next(n for n in notices(round_id) if n.kind == "circular")
    final_letters = {n.district_id: n for n in notices(round_id) if n.kind == "letter" and n.stage == "final"}
    admin = client_as("admin")
    dw03 = db.session.scalar(select(Indicator.id).where(Indicator.code == "DW03"))
    url = f"/rounds/{round_id}/districts/{ids['gusu']}/correct"
    page = admin.get(f"{url}?indicator_id={dw03}").get_data(as_text=True)
    assert "执勤着装不规范" in page  # the current facts, prefilled

    same = correct_dw03(admin, round_id, ids["gusu"], "复查", present=True)
    assert same.status_code == 422
    assert "与现有结果相同" in same.get_data(as_text=True)
    no_reason = correct_dw03(admin, round_id, ids["gusu"], "")
    assert no_reason.status_code == 422
    assert "请填写更正理由" in no_reason.get_data(as_text=True)
    assert client_as("liaison_gusu").post(url, data={"indicator_id": str(dw03)}).status_code == 403

    before = db.session.scalar(select(RoundResult).where(RoundResult.district_id == ids["gusu"]))
    total_before, rank_before = before.total, before.rank
    reason = "督查照片时间有误，该起不成立"
    assert correct_dw03(admin, round_id, ids["gusu"], reason).status_code == 302
    db.session.expire_all()
    after = db.session.scalar(select(RoundResult).where(RoundResult.district_id == ids["gusu"]))
    assert rank_before == 2
    assert after.total > total_before
    assert after.rank == 1  # level with 园区
    correction = next(n for n in notices(round_id) if n.kind == "correction")
    letter = next(n for n in notices(round_id) if n.kind == "corrected_letter")

    # Numbers: each document its own; the public correction continues the circular's 代字, the
    # corrected letter the letters' (four letters came before it).
    assert correction.doc_number == f"苏城管考〔{correction.year}〕{circular.serial + 1}号"
    assert letter.doc_number == f"苏城管考告〔{letter.year}〕5号"
    numbers = [
        circular.doc_number,
        correction.doc_number,
        letter.doc_number,
        final_letters[ids["gusu"]].doc_number,
    ]
    assert len(set(numbers)) == 4

    # Supersession: the correction replaces the circular, the corrected letter 姑苏's final letter.
    assert correction.supersedes_id == circular.id
    assert letter.supersedes_id == final_letters[ids["gusu"]].id
    assert db.session.get(Notice, circular.id).superseded_by_id == correction.id
    assert db.session.get(Notice, final_letters[ids["gusu"]].id).superseded_by_id == letter.id
    assert db.session.get(Notice, final_letters[ids["sip"]].id).superseded_by_id is None
    assert correction.district_id is None  # every district reads the corrected ranking
    assert letter.district_id == ids["gusu"]
    assert letter.stage == "final"
    assert letter.kind_label == "考核结果更正告知书"

    # The public correction: the circular's columns only — no indicator, no reason.
    public = text_of(pdf_of(correction))
    flat = public.replace("\n", "")
    assert circular.doc_number in public
    assert "更正" in public
    assert "姑苏区" in public
    for secret in ("DW03", "着装风纪", "执勤着装", reason, "督查照片"):
        assert secret not in flat
    total = format(total_before.normalize(), "f"), format(after.total.normalize(), "f")
    assert f"姑苏区 {total[0]} {total[1]} {rank_before} {after.rank}" in public  # 更正情况
    # The corrected ranking.
    assert f"{after.rank} 姑苏区" in public
    assert "1 苏州工业园区" in public
    assert not uncovered(public)

    # The corrected letter: 姑苏's final results, and what was corrected and why.
    own = text_of(pdf_of(letter))
    flat = own.replace("\n", "")
    assert "考核结果更正告知书" in flat
    assert "姑苏区城管执法部门" in own
    assert "最终得分" in own
    assert "DW03" in own
    assert "着装风纪与文明执法" in flat
    assert f"更正理由：{reason}" in flat
    # It names both the correction and the letter it replaces.
    assert correction.doc_number in flat
    assert final_letters[ids["gusu"]].doc_number in flat
    old_line = next(
        x for x in text_of(pdf_of(final_letters[ids["gusu"]])).splitlines() if x.startswith("DW03 ")
    )
    score_before = old_line.split()[-1]  # the superseded letter's final score
    score_after = format(db.session.get(Indicator, dw03).max_points.normalize(), "f")  # the deduction falls
    assert score_before != score_after
    assert f"DW03 着装风纪与文明执法 {score_before} {score_after} {total[0]} {total[1]}" in own  # 更正事项
    assert "申诉权利" not in own
    assert not uncovered(own)
    png_of(correction, "correction")
    png_of(letter, "corrected-letter")

    # Who may read which.
    gusu, sip = client_as("liaison_gusu"), client_as("liaison_sip")
    assert gusu.get(f"/notices/{letter.id}.pdf").status_code == 200
    assert sip.get(f"/notices/{letter.id}.pdf").status_code == 404
    assert sip.get(f"/notices/{correction.id}.pdf").status_code == 200
    assert client_as("leader").get(f"/notices/{letter.id}.pdf").status_code == 200
    sip_page = sip.get(f"/rounds/{round_id}/districts/{ids['sip']}").get_data(as_text=True)
    assert correction.title in sip_page
    assert letter.title not in sip_page
    assert letter.doc_number not in sip_page
    assert letter.title in gusu.get(f"/rounds/{round_id}/districts/{ids['gusu']}").get_data(as_text=True)
    assert letter.doc_number not in sip.get(f"/rounds/{round_id}").get_data(as_text=True)

    # The reason is audited and told in-app to the city and 姑苏, not to 园区.
    audit = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "result.correct"))
    assert audit.after["reason"] == reason
    assert audit.after["letter"] == letter.doc_number
    told = {
        u: db.session.scalars(
            select(Notification.body).join(User, User.id == Notification.user_id).where(User.username == u)
        ).all()
        for u in ("liaison_gusu", "liaison_sip", "leader")
    }
    assert any(reason in body for body in told["liaison_gusu"])
    assert any(reason in b for b in told["leader"])
    assert not any(reason in body for body in told["liaison_sip"])
    old = client_as().get(f"/verify?code={circular.verification_code}").get_data(as_text=True)
    assert "已被更正文件取代" in old


def test_a_second_correction_supersedes_the_first_correction_and_corrected_letter(
    app, demo, client_as
) -> None:
    round_id = run_round(client_as)
    gusu = district_ids()["gusu"]
    admin = client_as("admin")
    assert correct_dw03(admin, round_id, gusu, "督查照片时间有误").status_code == 302
    assert correct_dw03(admin, round_id, gusu, "原始照片复核后该起成立", present=True).status_code == 302
    issued = notices(round_id)
    first, second = [n for n in issued if n.kind == "correction"]
    first_letter, second_letter = [n for n in issued if n.kind == "corrected_letter"]
    assert second.supersedes_id == first.id
    assert first.superseded_by_id == second.id
    assert second_letter.supersedes_id == first_letter.id
    assert first_letter.superseded_by_id == second_letter.id
    current = [n for n in issued if n.superseded_by_id is None and n.stage != "verified"]
    assert {(n.kind, n.district_id) for n in current} == {
        ("correction", None),
        ("corrected_letter", gusu),
        ("letter", district_ids()["sip"]),
    }
    corrections = [first, second, first_letter, second_letter]
    assert len({n.doc_number for n in corrections}) == 4
    assert not {n.doc_number for n in corrections} & {n.doc_number for n in issued if n not in corrections}
    assert "原始照片复核后该起成立" in text_of(pdf_of(second_letter)).replace("\n", "")


def test_an_appeal_review_issues_a_decision_with_each_item(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"), district_ids=[ids["gusu"]])
    gusu = client_as("liaison_gusu")
    gusu.post(f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"}))
    loss = {
        "f_DW03_present": "1",
        **occurrence("DW03", 1, "执勤人员未着制服", "superior"),
        "reason_DW03": "省厅督查",
    }
    client_as("inspector1").post(
        f"/tasks/{task_of('verification', ids['gusu']).id}", data={"action": "submit", **loss}
    )
    assert appeal_adjustment(gusu, ids["gusu"], "检查前已整改").status_code == 302
    appeal_id = db.session.scalar(select(Appeal.id))
    decided = client_as("inspector2").post(
        f"/tasks/{task_of('appeal_review', ids['gusu']).id}",
        data={f"decision_{appeal_id}": "upheld", f"decision_reason_{appeal_id}": "整改照片早于检查时间"},
    )
    assert decided.status_code == 302
    # The reviewer's click only asked for the 复核决定书; the district is told it follows and its
    # page shows it being generated until the background queue has issued it.
    assert db.session.scalar(select(Notice).where(Notice.kind == "decision")) is None
    liaison = db.session.scalar(select(User.id).where(User.username == "liaison_gusu"))
    told = db.session.scalars(select(Notification).where(Notification.user_id == liaison)).all()
    assert any("核查结果告知书随后生成" in n.body for n in told)
    assert any("复核决定书随后生成" in n.body for n in told)
    round_id = db.session.scalar(select(Round.id))
    page = f"/rounds/{round_id}/districts/{ids['gusu']}"
    waiting = gusu.get(page).get_data(as_text=True)
    assert "申诉复核决定书：" in waiting
    assert "正在生成" in waiting
    assert gusu.get(f"{page}/notices/progress").get_json() == {"pending": 2, "failed": 0}
    assert generate() == "生成文件 2 份"  # the release's 核查结果告知书 and the 复核决定书
    assert gusu.get(f"{page}/notices/progress").get_json() == {"pending": 0, "failed": 0}
    assert "正在生成" not in gusu.get(page).get_data(as_text=True)
    decision = db.session.scalar(select(Notice).where(Notice.kind == "decision"))
    letter = db.session.scalar(select(Notice).where(Notice.kind == "letter"))
    assert decision.doc_number == f"苏城管考复〔{decision.year}〕1号"
    assert letter.doc_number == f"苏城管考告〔{letter.year}〕1号"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "decision.pdf").write_bytes(pdf_of(decision))
    text = text_of(pdf_of(decision)).replace("\n", "")  # table cells wrap
    assert "复核决定书" in text
    assert "姑苏区" in text
    assert "DW03" in text
    assert "检查前已整改" in text
    assert "申诉成立" in text
    assert "整改照片早于检查时间" in text
    assert client_as("liaison_gusu").get(f"/notices/{decision.id}.pdf").status_code == 200
    assert client_as("liaison_sip").get(f"/notices/{decision.id}.pdf").status_code == 404


def test_the_verification_limit_is_shared_by_every_worker(app, demo) -> None:
    """Counted in the database: a second worker (another app on the same database) sees the same
    count, so spreading guesses over gunicorn workers or hosts gains nothing."""
    from app import create_app

    second_worker = create_app(dict(app.config))
    limit = app.config["VERIFY_RATE_PER_MINUTE"]
    first = app.test_client()
    for _ in range(limit):
        assert first.get("/verify?code=ZZZZ-ZZZZ-ZZZZ").status_code == 404
    other = second_worker.test_client()
    assert other.get("/verify?code=ZZZZ-ZZZZ-ZZZZ").status_code == 429
    elsewhere = second_worker.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert elsewhere.get("/verify?code=ZZZZ-ZZZZ-ZZZZ").status_code == 404
