"""Final results of a published round for the comprehensive assessment (综合考核): per district,
the total, rank, grade, veto and each first-level indicator's score, as rows for JSON, CSV and
Excel alike."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.rounds.models import Round
from app.rounds.operations import results_of


@dataclass
class Export:
    round: Round
    columns: list[tuple[str, str]]  # (key, Chinese header)
    rows: list[dict[str, Any]]


def export_of(session: Session, round_: Round) -> Export:
    if not round_.is_published:
        raise Conflict("该轮次尚未发布，不能导出")
    tops = [i for i in round_.scheme.indicators if i.parent_id is None and i.kind == "scored"]
    columns = [
        ("district_code", "区代码"),
        ("district", "区"),
        ("rank", "名次"),
        ("total", "总分"),
        ("grade", "等次"),
        ("veto", "一票否决"),
    ] + [(f"first_level.{t.code}", f"{t.code} {t.name}") for t in tops]
    rows = []
    for r in results_of(session, round_.id):
        row: dict[str, Any] = {
            "district_code": r.district.code,
            "district": r.district.name,
            "rank": r.rank,
            "total": str(r.total),
            "grade": r.grade,
            "veto": "；".join(r.veto_reasons) if r.failed else "",
        }
        for t in tops:
            row[f"first_level.{t.code}"] = r.first_level.get(t.code, "")
        rows.append(row)
    return Export(round_, columns, rows)


def as_json(export: Export) -> dict[str, Any]:
    r = export.round
    tops = [key.removeprefix("first_level.") for key, _ in export.columns if key.startswith("first_level.")]
    return {
        "round": {"id": r.id, "title": r.title, "period": r.period, "published_at": r.published_at},
        "scheme": {"label": r.scheme.label, "total_points": str(r.scheme.total_points)},
        "results": [
            {
                **{k: v for k, v in row.items() if not k.startswith("first_level.")},
                "first_level": {code: row[f"first_level.{code}"] for code in tops},
            }
            for row in export.rows
        ],
    }


def as_csv(export: Export) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese headers correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in export.columns])
    for row in export.rows:
        writer.writerow([row[key] for key, _ in export.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(export: Export) -> bytes:
    book = Workbook()
    sheet = book.active
    if not isinstance(sheet, Worksheet):
        raise TypeError(f"a new workbook's active sheet is a {type(sheet).__name__}, not a worksheet")
    sheet.title = "考核结果"
    sheet.append([f"{export.round.title}（考核期 {export.round.period}）最终得分"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([label for _, label in export.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    numeric = {"rank", "total"} | {k for k, _ in export.columns if k.startswith("first_level.")}
    for row in export.rows:
        sheet.append([float(row[k]) if k in numeric and row[k] != "" else row[k] for k, _ in export.columns])
    for column, (_key, label) in enumerate(export.columns, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = max(10, len(label) * 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
