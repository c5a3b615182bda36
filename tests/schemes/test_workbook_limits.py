"""Scheme workbook import under hostile files: refused (or read) with bounded memory and time, in
Chinese naming the part, sheet, row or cell, and nothing imported.

The costly cases run under `measured`, which caps the address space so that a regression fails with
MemoryError instead of taking the shared machine's memory (normal-mode openpyxl took 24 GB on the
far-corner workbook before it was killed).
"""

from __future__ import annotations

import io
import resource
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app import inputs
from app.db import db
from app.schemes.excel import to_workbook
from app.schemes.exchange import SchemeData
from app.schemes.models import Scheme
from app.schemes.workbook_reader import from_workbook
from tests.schemes.workbooks import cells, draft_scheme, edited, errors_of, row_of

MB = 1 << 20
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER = ["序号", "一级指标", "二级指标", "三级指标", "分值", "类型", "评分标准", "考核部门", "数据来源"]
HEADER += ["考核频次", "系统考核", "指标编码", "计分规则"]


@dataclass
class Cost:
    seconds: float = 0.0
    peak_mb: float = 0.0


@contextmanager
def measured(headroom_mb: int = 1024) -> Iterator[Cost]:
    """Wall time and peak traced memory of the block; the address space may grow by headroom_mb."""
    cost = Cost()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    cap = used + headroom_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield cost
    finally:
        cost.seconds = time.perf_counter() - start
        cost.peak_mb = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def parts_of(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def zipped(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def replaced(content: bytes, **parts: bytes) -> bytes:
    """The workbook with some parts replaced (keyword `sheet` is the 考核细则 sheet)."""
    files = parts_of(content)
    files.update({SHEET if name == "sheet" else name: data for name, data in parts.items()})
    return zipped(files)


@dataclass
class RawPart:
    """A zip member exactly as the central directory will claim it, whatever the payload holds."""

    name: str
    payload: bytes  # bytes as stored in the archive
    size: int  # declared uncompressed size
    method: int = zipfile.ZIP_STORED
    crc: int = 0
    compressed: int | None = None  # declared compressed size; None: len(payload)
    flags: int = 0


def hand_zip(parts: list[RawPart]) -> bytes:
    out, central = io.BytesIO(), io.BytesIO()
    for p in parts:
        name, offset = p.name.encode(), out.tell()
        csize = len(p.payload) if p.compressed is None else p.compressed
        head = (20, p.flags, p.method, 0, 0x21, p.crc, csize, p.size, len(name))
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *head, 0) + name + p.payload)
        entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *head, 0, 0, 0, 0, 0, offset)
        central.write(entry + name)
    directory = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), out.tell(), 0)
    return out.getvalue() + directory + end


def sheet_xml(rows: str) -> bytes:
    """A 考核细则 sheet: the header in row 2, then `rows` (XML of <row r="3"> …)."""
    header = "".join(
        f'<c r="{chr(65 + i)}2" t="inlineStr"><is><t>{label}</t></is></c>' for i, label in enumerate(HEADER)
    )
    return f'<worksheet {NS}><sheetData><row r="2">{header}</row>{rows}</sheetData></worksheet>'.encode()


def with_shared_strings(content: bytes, sheet: bytes, strings: list[str]) -> bytes:
    files = parts_of(content)
    items = "".join(f'<si><t xml:space="preserve">{s}</t></si>' for s in strings)
    files["xl/sharedStrings.xml"] = f"<sst {NS}>{items}</sst>".encode()
    files[SHEET] = sheet
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/></Types>'
    files["[Content_Types].xml"] = files["[Content_Types].xml"].replace(b"</Types>", override.encode())
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    link = f'<Relationship Id="rIdS" Type="{rel}" Target="sharedStrings.xml"/></Relationships>'
    rels = "xl/_rels/workbook.xml.rels"
    files[rels] = files[rels].replace(b"</Relationships>", link.encode())
    return zipped(files)


# ------------------------------------------------------------------------------------------ sheet size


def test_a_cell_at_the_far_corner_is_ignored_cheaply(draft: SchemeData, exported: bytes) -> None:
    content = edited(exported, cells(XFD1048576="x", M1048576="远处的内容"))
    with measured() as cost:
        assert from_workbook(content) == draft
    assert cost.peak_mb < 300 and cost.seconds < 5, cost


def test_sixty_thousand_junk_rows_stop_at_the_row_limit_with_a_short_list(exported: bytes) -> None:
    def junk(wb: Workbook) -> None:
        ws = wb["考核细则"]
        for r in range(31, 60031):
            ws.cell(row=r, column=5, value=1)

    content = edited(exported, junk)
    with measured() as cost:
        errors = errors_of(content)
    assert cost.peak_mb < 300 and cost.seconds < 5, cost
    assert errors[0] == (
        "工作表「考核细则」第 2003 行：表头下的指标行超过 2000 行，"
        "考核细则不会有这么多指标，请删除多余的行（只检查了前 2000 行）"
    )
    where = "第 31 行 B、C、D 列（一级指标、二级指标、三级指标）"
    assert errors[1:3] == [
        f"{where}：未填写指标名称（须在一级、二级、三级指标中的一列填写）",
        "第 31 行 L 列（指标编码）：未填写指标编码",
    ]
    # Rows 31–2002 hold two problems each, after the line about the limit: 3,945 in all.
    assert len(errors) == 101
    assert errors[-1] == "……另有 3845 处错误未列出（错误过多，仅列出前 100 处）"


def test_sixty_thousand_wide_junk_rows_are_refused_by_size_before_reading(exported: bytes) -> None:
    junk = "".join(f'<c r="{c}{{r}}" t="inlineStr"><is><t>junk</t></is></c>' for c in "ABCDEF")
    rows = "".join(f'<row r="{r}">{junk.format(r=r)}</row>' for r in range(3, 60003))
    sheet = sheet_xml(rows)
    with measured() as cost:
        errors = errors_of(replaced(exported, sheet=sheet))
    assert errors == [
        f"文件内容过多：工作表「考核细则」（{SHEET}）解压后 {len(sheet) / MB:.1f} MB，上限 4.0 MB"
        "（工作表数据过多，请删除表格下方和右侧多余的行、列及格式后重试）"
    ]
    assert cost.seconds < 5, cost


def test_error_list_shows_the_first_hundred_and_counts_the_rest(exported: bytes) -> None:
    def junk(wb: Workbook) -> None:
        for _ in range(150):
            wb["考核细则"].append([None, "杂项", None, None, "x"])

    errors = errors_of(edited(exported, junk))
    assert errors[:2] == [
        "第 31 行 L 列（指标编码）：未填写指标编码",
        "第 31 行 E 列（分值）：不是数字（「x」）",
    ]
    assert len(errors) == 101
    assert errors[-1] == "……另有 200 处错误未列出（错误过多，仅列出前 100 处）"


def test_table_ends_at_a_long_blank_run_and_ignores_a_wrong_dimension(
    draft: SchemeData, exported: bytes
) -> None:
    sheet = parts_of(exported)[SHEET]
    assert b'<dimension ref="A1:M30"/>' in sheet
    # Read-only mode trusts <dimension>; the reader passes its own bounds instead.
    assert from_workbook(replaced(exported, sheet=sheet.replace(b"A1:M30", b"A1"))) == draft
    beyond = edited(exported, cells(B231="远处的一级指标", E231=1, L231="FAR"))
    assert from_workbook(beyond) == draft  # 200 blank rows end the table


def test_too_much_text_through_shared_strings_is_refused(exported: bytes) -> None:
    # One 300,000-character string referenced by every cell: cheap to send, costly to copy.
    rows = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{chr(65 + i)}{r}" t="s"><v>0</v></c>' for i in range(13))
        + "</row>"
        for r in range(3, 53)
    )
    content = with_shared_strings(exported, sheet_xml(rows), [" " + "长" * 300_000 + " "])
    with measured() as cost:
        errors = errors_of(content)
    assert errors == [
        "工作表「考核细则」第 3 行：表格文字超过 200 万字，"
        "考核细则不会有这么多内容（只检查了第 3 行之前的内容）"
    ]
    assert cost.peak_mb < 100, cost


def test_long_cells_are_refused_and_quoted_short(draft: SchemeData, exported: bytes) -> None:
    row = row_of(draft, "ZF0101")
    content = edited(exported, cells(**{f"G{row}": "k" * 32_767, f"E{row}": "六" * 1000}))
    # openpyxl writes at most Excel's 32,767 characters; other programs may write more.
    sheet = parts_of(content)[SHEET].replace(b"k" * 32_767, b"k" * 40_000)
    errors = errors_of(replaced(content, sheet=sheet))
    assert errors == [
        f"第 {row} 行 G 列（评分标准）：内容过长（40000 个字符，单元格最多 32767 个）",
        f"第 {row} 行 E 列（分值）：不是数字（「{'六' * 40}…」）",
    ]


def test_absurd_numbers_are_refused_not_computed(draft: SchemeData, exported: bytes) -> None:
    def change(wb: Workbook) -> None:
        wb["考核细则"][f"E{row_of(draft, 'ZF0101')}"] = "1e999999999"  # Decimal sums overflowed
        wb["说明"]["B2"] = "9e999999999"  # int() of it never returned

    with measured() as cost:
        errors = errors_of(edited(exported, change))
    assert errors == [
        f"第 {row_of(draft, 'ZF0101')} 行 E 列（分值）：分值「1e999999999」超出范围",
        "「说明」工作表 第 2 行 B 列（年度）：年度「9e999999999」超出范围",
    ]
    assert cost.seconds < 5, cost


def test_a_damaged_sheet_is_refused_naming_it(exported: bytes) -> None:
    sheet = parts_of(exported)[SHEET]
    assert errors_of(replaced(exported, sheet=sheet[: len(sheet) // 2])) == [
        "文件已损坏：无法读取工作表「考核细则」（ParseError）"
    ]


# --------------------------------------------------------------------------------------- rules JSON


def test_deeply_nested_rules_json_is_refused_naming_the_cell(draft: SchemeData, exported: bytes) -> None:
    row = row_of(draft, "ZF0101")
    too_deep = f"第 {row} 行 M 列（计分规则）：JSON 嵌套超过 20 层，计分规则不会嵌套这么深"
    for text in (
        "[" * 16_000 + "]" * 16_000,  # json.loads raised RecursionError: a server error
        '{"a": ' * 21 + "1" + "}" * 21,  # parses, but nothing downstream expects it
    ):
        assert errors_of(edited(exported, cells(**{f"M{row}": text}))) == [too_deep]


def test_brackets_inside_json_strings_do_not_count_as_nesting(exported: bytes) -> None:
    rules = {"method": "deduct", "note": "[" * 30 + "{" * 30}
    scheme = draft_scheme()
    scheme.indicators[2].rules = rules
    assert from_workbook(to_workbook(scheme)).indicators[2].rules == rules


def test_recursion_in_json_loads_is_still_a_message(
    draft: SchemeData, exported: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "json_nesting", lambda text: 0)  # as if the pre-check missed it
    row = row_of(draft, "ZF0101")
    errors = errors_of(edited(exported, cells(**{f"M{row}": "[" * 16_000 + "]" * 16_000})))
    assert errors == [f"第 {row} 行 M 列（计分规则）：JSON 嵌套超过 20 层，计分规则不会嵌套这么深"]


# ------------------------------------------------------------------------------------------ archive

ODD = "文件不是正常的 Excel 工作簿"


def _archives() -> list[Any]:
    big = RawPart(SHEET, b"<x/>", size=3 << 30)  # declares 3 GB, holds 4 bytes
    three = [RawPart(f"xl/worksheets/sheet{i}.xml", b"", 3 * MB + 1, compressed=3 * MB) for i in range(4)]
    many = [RawPart(f"docProps/p{i}.xml", b"", 0) for i in range(201)]
    styles = RawPart("xl/styles.xml", b"", 0)
    return [
        pytest.param(
            hand_zip([big]),
            f"文件内容过多：压缩包内「{SHEET}」解压后 3072.0 MB，上限 4.0 MB"
            "（工作表数据过多，请删除表格下方和右侧多余的行、列及格式后重试）",
            id="declared-3GB-sheet",
        ),
        pytest.param(hand_zip(three), "文件内容过多：解压后共 12.0 MB，上限 10.0 MB", id="total"),
        pytest.param(hand_zip(many), f"{ODD}：压缩包内有 201 个文件，上限 200 个", id="members"),
        pytest.param(hand_zip([styles, styles]), f"{ODD}：压缩包内文件「xl/styles.xml」重复", id="duplicate"),
        pytest.param(
            hand_zip([RawPart(SHEET, b"", 0, flags=1)]),
            f"{ODD}：压缩包内文件「{SHEET}」已加密",
            id="encrypted",
        ),
        pytest.param(
            zipped({SHEET: b"<worksheet/>"}, zipfile.ZIP_BZIP2),
            f"{ODD}：压缩包内文件「{SHEET}」使用了不支持的压缩方式",
            id="bzip2",
        ),
        pytest.param(
            b"PK" + b"\0" * (11 * MB), "文件过大（11.0 MB），考核细则工作簿不能超过 10.0 MB", id="file-size"
        ),
    ]


@pytest.mark.parametrize(("content", "message"), _archives())
def test_archive_is_refused_from_its_directory(content: bytes, message: str) -> None:
    with measured() as cost:
        assert errors_of(content) == [message]
    assert cost.peak_mb < 50, cost  # nothing was inflated


def test_highly_compressed_part_is_refused(exported: bytes) -> None:
    content = replaced(exported, sheet=b" " * (3 * MB))
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        info = zf.getinfo(SHEET)
    ratio = info.file_size / info.compress_size
    assert errors_of(content) == [f"{ODD}：压缩包内「{SHEET}」压缩比异常（{ratio:.0f} 倍，上限 100 倍）"]


def test_a_row_wider_than_excel_allows_is_refused(exported: bytes) -> None:
    sheet = f'<worksheet {NS}><sheetData><row r="1">{"<c/>" * 16_385}</row></sheetData></worksheet>'
    assert errors_of(replaced(exported, sheet=sheet.encode())) == [
        f"{ODD}：工作表「考核细则」（{SHEET}）有一行超过 16384 个单元格（Excel 每行最多 16384 列）"
    ]


def _lying(exported: bytes, hidden: int, crc_of_all: bool) -> bytes:
    """The workbook whose [Content_Types].xml declares its real size but inflates to `hidden` more
    bytes (openpyxl reads that part whole, and zipfile inflates a whole read in one call)."""
    files = parts_of(exported)
    real = files.pop("[Content_Types].xml")
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload, crc = deflate.compress(real), zlib.crc32(real)
    for _ in range(hidden // MB):
        payload += deflate.compress(b" " * MB)
        crc = zlib.crc32(b" " * MB, crc) if crc_of_all else crc
    payload += deflate.flush()
    lying = RawPart("[Content_Types].xml", payload, len(real), zipfile.ZIP_DEFLATED, crc)
    return hand_zip([lying, *(RawPart(n, d, len(d), crc=zlib.crc32(d)) for n, d in files.items())])


def test_part_holding_more_than_it_declares_is_read_only_as_far_as_declared(
    draft: SchemeData, exported: bytes
) -> None:
    content = _lying(exported, 200 * MB, crc_of_all=False)
    with measured() as cost:
        assert from_workbook(content) == draft
    assert cost.peak_mb < 64, cost  # openpyxl alone inflated all 200 MB at once


def test_part_failing_its_checksum_is_refused_as_damaged(exported: bytes) -> None:
    assert errors_of(_lying(exported, 2 * MB, crc_of_all=True)) == [
        "文件已损坏：压缩包内「[Content_Types].xml」无法解压（BadZipFile）"
    ]


# ------------------------------------------------------------------------------- CLI and web import


def _nested_rules(exported: bytes) -> bytes:
    return edited(exported, cells(M5="[" * 16_000 + "]" * 16_000))


@pytest.mark.db
def test_cli_import_refuses_nested_rules_and_imports_nothing(app, demo, exported, tmp_path) -> None:
    path = tmp_path / "nested.xlsx"
    path.write_bytes(_nested_rules(exported))
    before = db.session.scalar(select(func.count(Scheme.id)))
    result = app.test_cli_runner().invoke(args=["scheme", "import", str(path)])
    assert result.exit_code != 0
    assert "第 5 行 M 列（计分规则）：JSON 嵌套超过 20 层" in result.output
    assert "导入失败，未导入任何内容" in result.output
    assert db.session.scalar(select(func.count(Scheme.id))) == before


@pytest.mark.db
def test_web_import_refuses_a_declared_bomb_and_imports_nothing(app, demo, client_as) -> None:
    admin = client_as("admin")
    before = db.session.scalar(select(func.count(Scheme.id)))
    bomb = hand_zip([RawPart(SHEET, b"<x/>", size=3 << 30)])
    response = admin.post(
        "/schemes/import",
        data={"file": (io.BytesIO(bomb), "bomb.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "导入失败，未导入任何内容" in body and f"压缩包内「{SHEET}」解压后 3072.0 MB" in body
    assert db.session.scalar(select(func.count(Scheme.id))) == before
