"""The .xlsx archive of an uploaded scheme workbook, checked before openpyxl sees it.

An .xlsx file is a zip archive of XML parts. openpyxl trusts it: a tiny upload can declare or hold
gigabytes, and parts it reads whole (``[Content_Types].xml``, ``xl/styles.xml``, relationships) are
inflated in a single call however much they expand. So, before any part is inflated, the central
directory is checked: member count, names, compression method, declared sizes per part and in total,
and compression ratio. The parts are then copied, each read no further than its declared size (zipfile
stops there and checks the CRC), into a fresh uncompressed archive: whatever openpyxl opens afterwards
is exactly what was checked, even when the headers lied. Sheets are also refused if a row holds more
cells than Excel allows: openpyxl holds a row whole, so one 4 MB row of empty cells cost 330 MB.

The limits fit a scheme of a few hundred indicators many times over (the exported 28-indicator draft is
a 12 KB file whose sheet is 29 KB; 4 MB holds about 4,000 exported rows or 15,000 formatted blank ones).
They are what bounds openpyxl's own cost, as its parsers run at 0.3–5 MB/s here whatever the content.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from io import BytesIO
from itertools import islice
from xml.etree import ElementTree

from app.schemes.exchange import SchemeDataError

MB = 1 << 20
MAX_FILE_BYTES = 10 * MB  # the upload itself
MAX_MEMBERS = 200
MAX_TOTAL_BYTES = 10 * MB  # declared uncompressed sizes, all parts together
MAX_SHEET_BYTES = 4 * MB  # xl/worksheets/*: streamed row by row
MAX_STRINGS_BYTES = 2 * MB  # the shared strings table is loaded whole, ~1.3 s per MB
MAX_MEDIA_BYTES = 4 * MB  # pictures are never parsed in read-only mode
MAX_STYLES_BYTES = MB // 2  # loaded whole into objects, up to ~5 s per MB of densest XML
MAX_PART_BYTES = 1 * MB  # anything else: relationships, properties, theme, drawings …
MAX_OTHER_BYTES = 2 * MB  # all of those together, as openpyxl parses several of them the same way
MAX_RATIO = 100  # XML in real workbooks compresses 3–25 times; deflate bombs about 1,000
RATIO_FLOOR = 1 * MB  # below this the ratio says nothing about cost
# ~85 bytes of memory per byte of `<c/>` in one row; Excel rows have at most 16,384 cells, so a sheet
# with a wider row was not written by a spreadsheet program.
MAX_ROW_CELLS = 16384
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b")  # prefixed (x:row) as some generators write
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b")

# Excel writes parts stored or deflated; zipfile inflates bzip2 and lzma without an output bound.
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

NOT_A_WORKBOOK = "文件不是有效的 Excel 工作簿（.xlsx）"
ODD = "文件不是正常的 Excel 工作簿"


def size_text(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} 字节"


def part_limit(name: str) -> tuple[int, str]:
    """The declared-size limit of an archive member, and a hint for the user when it is exceeded."""
    lower = name.lower()
    if is_sheet(name):
        return MAX_SHEET_BYTES, "工作表数据过多，请删除表格下方和右侧多余的行、列及格式后重试"
    if lower.endswith("sharedstrings.xml"):
        return MAX_STRINGS_BYTES, "表格文字过多"
    if lower.startswith("xl/media/"):
        return MAX_MEDIA_BYTES, "图片过大，考核细则无需插入图片"
    if lower == "xl/styles.xml":
        return MAX_STYLES_BYTES, "单元格格式过多，请把表格内容粘贴到新建的工作簿后重试"
    return MAX_PART_BYTES, ""


def is_sheet(name: str) -> bool:
    lower = name.lower()
    return lower.startswith("xl/worksheets/") and "/_rels/" not in lower


def has_wide_row(xml: bytes) -> bool:
    """Whether any <row> of a sheet's XML holds more than MAX_ROW_CELLS cells (counted lazily: a
    list of a million matches would itself cost hundreds of megabytes)."""
    limit = MAX_ROW_CELLS + 1
    return any(sum(1 for _ in islice(_CELL.finditer(row), limit)) == limit for row in _ROW.split(xml))


def _small_part(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_PART_BYTES or info.compress_type not in METHODS:
        raise ValueError(name)
    with zf.open(info) as member:
        return member.read(info.file_size)  # bounded, unlike zf.read of a part that lies


def sheet_titles(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title by part name, from xl/workbook.xml and its relationships; {} when unsure. Only used
    to word a refusal, so that it can name the sheet as the user sees it."""
    try:
        # The parser openpyxl itself uses on these parts: expat ≥ 2.4 refuses entity amplification and
        # fetches no external entities; the parts are at most 1 MB.
        rels = ElementTree.fromstring(_small_part(zf, "xl/_rels/workbook.xml.rels"))  # noqa: S314
        book = ElementTree.fromstring(_small_part(zf, "xl/workbook.xml"))  # noqa: S314
        targets = {el.get("Id"): el.get("Target", "") for el in rels}
        titles = {}
        for el in book.iter():
            target = targets.get(el.get(_REL_ID)) if el.tag.endswith("}sheet") else None
            if target:
                path = target[1:] if target.startswith("/") else f"xl/{target}"
                titles[posixpath.normpath(path)] = el.get("name", "")
        return titles
    except Exception:  # a damaged or odd workbook part: fall back to the part name
        return {}


def part_text(zf: zipfile.ZipFile, name: str) -> str:
    """How a refusal names a part: by its sheet title when it is a sheet and the title can be read."""
    title = sheet_titles(zf).get(name) if is_sheet(name) else None
    return f"工作表「{title}」（{name}）" if title else f"压缩包内「{name}」"


def check_archive(zf: zipfile.ZipFile) -> None:
    """Refuse, from the central directory alone, an archive whose parts are too many, too large, too
    highly compressed or not inflatable by plain deflate. (Only the wording of a refused sheet reads
    xl/workbook.xml and its relationships, each at most 1 MB, to give the sheet's title.)"""
    members = zf.infolist()
    if len(members) > MAX_MEMBERS:
        raise SchemeDataError([f"{ODD}：压缩包内有 {len(members)} 个文件，上限 {MAX_MEMBERS} 个"])
    seen: set[str] = set()
    total = other = 0
    for info in members:
        name = info.filename
        if name in seen:  # which copy a reader takes is undefined
            raise SchemeDataError([f"{ODD}：压缩包内文件「{name}」重复"])
        seen.add(name)
        if info.flag_bits & 0x1:
            raise SchemeDataError([f"{ODD}：压缩包内文件「{name}」已加密"])
        if info.compress_type not in METHODS:
            raise SchemeDataError([f"{ODD}：压缩包内文件「{name}」使用了不支持的压缩方式"])
        limit, hint = part_limit(name)
        if info.file_size > limit:
            why = f"（{hint}）" if hint else ""
            raise SchemeDataError(
                [
                    f"文件内容过多：{part_text(zf, name)}解压后 {size_text(info.file_size)}，"
                    f"上限 {size_text(limit)}{why}"
                ]
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise SchemeDataError(
                [f"{ODD}：压缩包内「{name}」压缩比异常（{ratio:.0f} 倍，上限 {MAX_RATIO} 倍）"]
            )
        total += info.file_size
        other += info.file_size if limit <= MAX_PART_BYTES else 0
    if total > MAX_TOTAL_BYTES:
        raise SchemeDataError(
            [f"文件内容过多：解压后共 {size_text(total)}，上限 {size_text(MAX_TOTAL_BYTES)}"]
        )
    if other > MAX_OTHER_BYTES:
        raise SchemeDataError(
            [f"文件内容过多：工作表以外的部件解压后共 {size_text(other)}，上限 {size_text(MAX_OTHER_BYTES)}"]
        )


def checked_workbook(content: bytes) -> BytesIO:
    """The workbook as an archive openpyxl may open: checked, then repacked from what was checked."""
    if len(content) > MAX_FILE_BYTES:
        raise SchemeDataError(
            [f"文件过大（{size_text(len(content))}），考核细则工作簿不能超过 {size_text(MAX_FILE_BYTES)}"]
        )
    try:
        source = zipfile.ZipFile(BytesIO(content))
    except Exception as exc:  # BadZipFile mostly; zipfile raises others on mangled directories
        raise SchemeDataError([f"{NOT_A_WORKBOOK}：{type(exc).__name__}"]) from exc
    with source:
        check_archive(source)
        out = BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
            for info in source.infolist():
                try:
                    with source.open(info) as member:
                        # zipfile inflates no more than the declared size, then checks the CRC:
                        # a part holding more than it declares is cut off or fails here.
                        data = member.read(info.file_size)
                except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError, …
                    raise SchemeDataError(
                        [f"文件已损坏：压缩包内「{info.filename}」无法解压（{type(exc).__name__}）"]
                    ) from exc
                if is_sheet(info.filename) and has_wide_row(data):
                    wide = f"有一行超过 {MAX_ROW_CELLS} 个单元格（Excel 每行最多 {MAX_ROW_CELLS} 列）"
                    raise SchemeDataError([f"{ODD}：{part_text(source, info.filename)}{wide}"])
                copy.writestr(info.filename, data)
    out.seek(0)
    return out
