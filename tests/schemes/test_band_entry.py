"""Tiered bands typed the way published tables write them (0–60, 61–70), in the editor and in an
imported workbook or JSON file: stored half-open with a note to the administrator; real gaps are
warned about; bands already stored are never reinterpreted."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.db import db
from app.schemes.models import Indicator, Scheme
from tests.schemes.test_routes import form_of, indicator, make_draft, scheme_id

pytestmark = pytest.mark.db

PUBLISHED = [("0", "60", "2"), ("61", "70", "3"), ("71", "80", "4"), ("81", "100", "6")]
STORED = [("0", "61", "2"), ("61", "71", "3"), ("71", "81", "4"), ("81", "100", "6")]
NOTE = "61–70 记为 [61, 71)"
GAP = "之间有空档"


def tiered(rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {"method": "tiered", "bands": [{"min": a, "max": b, "points": p} for a, b, p in rows]}


def band_fields(rows: list[tuple[str, str, str]]) -> dict[str, str]:
    """The tiered sub-form as typed row by row."""
    fields = {}
    for n, (low, high, points) in enumerate(rows):
        fields.update({f"bands-{n}-min": low, f"bands-{n}-max": high, f"bands-{n}-points": points})
    return fields


def save_bands(admin: Any, sid: int, rows: list[tuple[str, str, str]], **changes: str) -> Any:
    zf0301 = indicator(sid, "ZF0301")
    data = {**form_of(zf0301, rule_method="tiered", **changes), **band_fields(rows)}
    data.pop("rules_json", None)
    return admin.post(f"/schemes/{sid}/indicators/{zf0301.id}/edit", data=data, follow_redirects=True)


def test_published_bands_typed_in_the_editor_are_stored_half_open_with_a_note(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    page = save_bands(admin, sid, PUBLISHED).get_data(as_text=True)
    assert "指标 ZF0301 已保存" in page
    assert '<div class="flash flash-info" role="alert">指标 ZF0301：分档按公布表格“0–60、61–70”' in page
    assert f"0–60 记为 [0, 61)、{NOTE}、71–80 记为 [71, 81)，最高一档 [81, 100] 含上限" in page
    assert GAP not in page
    assert indicator(sid, "ZF0301").rules == tiered(STORED)
    summary = "分档计分：0–61（不含） 得 2.00 分，61–71（不含） 得 3.00 分，71–81（不含） 得 4.00 分，"
    assert summary + "81–100 得 6.00 分" in page

    # Saved again as the editor now shows them: nothing more is converted or said.
    again = save_bands(admin, sid, STORED, name="满意度测评").get_data(as_text=True)
    assert "flash-info" not in again and GAP not in again
    assert indicator(sid, "ZF0301").rules == tiered(STORED) and indicator(sid, "ZF0301").name == "满意度测评"


def test_a_real_gap_is_saved_as_typed_with_a_warning(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    rows = [("0", "59.5", "2"), ("60", "100", "6")]
    page = save_bands(admin, sid, rows).get_data(as_text=True)
    assert "指标 ZF0301 已保存" in page and "flash-info" not in page
    assert (
        '<div class="flash flash-warning" role="alert">'
        "指标 ZF0301：分档第 1 档 [0, 59.5) 与第 2 档 [60, 100] 之间有空档，"
        "59.5 ≤ 数值 &lt; 60 不在任何一档，得 0 分；如非有意，请修改分档</div>"
    ) in page
    assert indicator(sid, "ZF0301").rules == tiered(rows)


def test_bands_stored_before_are_kept_when_the_indicator_is_saved_or_cloned(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    with db.transaction() as session:  # stored as typed before the conversion existed
        session.scalar(
            select(Indicator).where(Indicator.scheme_id == sid, Indicator.code == "ZF0301")
        ).rules = tiered(PUBLISHED)
    zf0301 = indicator(sid, "ZF0301")
    edit_page = admin.get(f"/schemes/{sid}/indicators/{zf0301.id}/edit").get_data(as_text=True)
    assert 'name="bands-1-min" value="61"' in edit_page and 'name="bands-0-max" value="60"' in edit_page

    renamed = save_bands(admin, sid, PUBLISHED, name="满意度测评").get_data(as_text=True)
    assert "flash-info" not in renamed and "60 ≤ 数值 &lt; 61 不在任何一档" in renamed  # told, not changed
    assert (
        indicator(sid, "ZF0301").rules == tiered(PUBLISHED) and indicator(sid, "ZF0301").name == "满意度测评"
    )

    admin.post(f"/schemes/{sid}/clone", data={"year": "2028", "label": "2028版", "name": ""})
    assert indicator(scheme_id("2028版"), "ZF0301").rules == tiered(PUBLISHED)


def test_published_bands_in_an_imported_workbook_or_json_file_are_converted(app, demo, client_as) -> None:
    admin = client_as("admin")
    book = load_workbook(io.BytesIO(admin.get(f"/schemes/{scheme_id()}/export.xlsx").data))
    next(row for row in book["说明"].iter_rows(max_row=6) if row[0].value == "版本")[1].value = "2026版分档"
    sheet = book["考核细则"]
    header = [cell.value for cell in sheet[2]]
    code_column, rules_column = header.index("指标编码"), header.index("计分规则")
    row = next(r for r in sheet.iter_rows(min_row=3) if r[code_column].value == "ZF0301")
    row[rules_column].value = json.dumps(tiered(PUBLISHED))
    upload = io.BytesIO()
    book.save(upload)
    page = admin.post(
        "/schemes/import",
        data={"file": (io.BytesIO(upload.getvalue()), "tiers.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已导入 2026 2026版分档" in page and NOTE in page and GAP not in page
    assert indicator(scheme_id("2026版分档"), "ZF0301").rules == tiered(STORED)
    assert indicator(scheme_id("2026版分档"), "ZF0101").rules == indicator(scheme_id(), "ZF0101").rules

    payload = json.loads(admin.get(f"/schemes/{scheme_id()}/export.json").data)
    payload["label"] = "2026版JSON"
    next(i for i in payload["indicators"] if i["code"] == "ZF0301")["rules"] = tiered(PUBLISHED)
    page = admin.post(
        "/schemes/import",
        data={"file": (io.BytesIO(json.dumps(payload).encode()), "tiers.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert NOTE in page and indicator(scheme_id("2026版JSON"), "ZF0301").rules == tiered(STORED)


def test_the_import_command_converts_and_says_so(app, demo, client_as, tmp_path: Path) -> None:
    payload = json.loads(client_as("admin").get(f"/schemes/{scheme_id()}/export.json").data)
    payload["label"] = "2026版命令"
    zf0301 = next(i for i in payload["indicators"] if i["code"] == "ZF0301")
    zf0301["rules"] = tiered([("0", "60", "2"), ("61", "70", "3"), ("75", "100", "6")])
    path = tmp_path / "tiers.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["scheme", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "已导入 2026 2026版命令" in result.output and "0–60 记为 [0, 61)" in result.output
    assert "注意：指标 ZF0301：分档第 2 档 [61, 70) 与第 3 档 [75, 100] 之间有空档" in result.output
    db.session.expire_all()
    imported = db.session.scalar(select(Scheme).where(Scheme.label == "2026版命令"))
    assert indicator(imported.id, "ZF0301").rules == tiered(
        [("0", "61", "2"), ("61", "70", "3"), ("75", "100", "6")]
    )
