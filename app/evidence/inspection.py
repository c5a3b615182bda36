"""Looking inside legacy Office (OLE2) and PDF uploads before they are stored.

Both formats can carry code that a reviewer's desktop software runs when the file is opened:
VBA and Excel 4.0 macros in .doc/.xls/.ppt, JavaScript and launch actions in PDFs. The files
are parsed for real (a substring search is fooled by compression and by a stream that merely
*names* a macro), and every walk is bounded so a hostile file cannot keep a worker busy.
"""

from __future__ import annotations

import io
import struct

import olefile
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NullObject

from app.evidence.refusal import MSG_MACRO, MSG_UNSUPPORTED, EvidenceRejected

MSG_OFFICE_CORRUPT = "Office 文档已损坏，无法读取"
MSG_OFFICE_ENCRYPTED = "Office 文档已加密，无法检查其中是否含宏：请去除密码保护后再上传"
MSG_PDF_CORRUPT = "PDF 文件已损坏，无法读取"
MSG_PDF_ENCRYPTED = "PDF 文件已加密，无法检查：请去除密码保护后再上传"
MSG_PDF_TOO_COMPLEX = "PDF 文件结构过于复杂，无法检查：请用“打印为 PDF”另存一份后再上传"
MSG_PDF_ACTIVE = "文件类型不支持：PDF 文件含有{}，请用“打印为 PDF”另存一份后再上传"

# Root-level streams that make an OLE2 file a Word/Excel/PowerPoint document rather than
# some other compound file (an MSI installer, an Outlook .msg).
_OLE2_TYPES = (
    ("worddocument", "application/msword", "doc"),
    ("workbook", "application/vnd.ms-excel", "xls"),
    ("book", "application/vnd.ms-excel", "xls"),  # Excel 5/95
    ("powerpoint document", "application/vnd.ms-powerpoint", "ppt"),
)
# Storages and streams that hold a VBA project: Word keeps it under Macros/, Excel under
# _VBA_PROJECT_CUR/, both with VBA/_VBA_PROJECT inside. Embedded documents (ObjectPool/,
# MBD…/) are storages too, so checking every entry covers them at any depth.
_VBA_ENTRIES = {"macros", "_vba_project_cur", "vba", "_vba_project"}
# PowerPoint stores its VBA project compressed inside the "PowerPoint Document" stream; the
# VBAInfoContainer record header (recVer 0xF, type 0x03FF, length 0x1C) followed by its
# VBAInfoAtom header (recVer 0x2, type 0x0400, length 0x14) marks it.
_PPT_VBA_INFO = bytes.fromhex("0f00ff031c0000000200000414000000")
# BIFF records of an Excel workbook's globals: BOUNDSHEET's sheet type 1 is an Excel 4.0 macro
# sheet (XLM: runs on open, no VBA storage at all), 6 a VBA module; FILEPASS means the rest is
# encrypted and cannot be checked.
_BIFF_EOF, _BIFF_BOUNDSHEET, _BIFF_FILEPASS = 0x000A, 0x0085, 0x002F
_XLM_SHEET_TYPES = {0x01, 0x06}
MAX_BIFF_RECORDS = 500_000

# Objects (resolved references, nested dictionaries and arrays) the PDF walk may visit. Each
# costs pypdf ~0.1 ms to parse on this kind of machine, so the worst case is a few seconds;
# an untagged 1000-page report visits ~10 000. A hostile file is refused, not walked on.
MAX_PDF_OBJECTS = 50_000
# Entries a viewer never takes an action from; they hold most of a document's objects (fonts,
# images, content streams, the tagged-PDF structure tree), so the walk does not enter them.
_INERT_KEYS = {"/Resources", "/Contents", "/StructTreeRoot", "/Metadata", "/Thumb"}


def office_type(data: bytes) -> tuple[str, str]:
    """(content type, extension) of a legacy Office file; refuse macros, encryption, corruption."""
    try:
        # BytesIO, never the bytes themselves: olefile reads short bytes as a file *name*.
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # a hostile container raises anything from struct to recursion errors
        raise EvidenceRejected(MSG_OFFICE_CORRUPT) from exc
    try:
        return _check_ole(ole)
    except EvidenceRejected:
        raise
    except Exception as exc:
        raise EvidenceRejected(MSG_OFFICE_CORRUPT) from exc
    finally:
        ole.close()


def _check_ole(ole: olefile.OleFileIO) -> tuple[str, str]:
    # direntries holds every entry reachable from the root, whatever its depth.
    entries = [e for e in ole.direntries if e is not None]
    if any(e.name.lower() in _VBA_ENTRIES for e in entries):
        raise EvidenceRejected(MSG_MACRO)
    streams = {kid.name.lower(): kid for kid in ole.root.kids if kid.entry_type == olefile.STGTY_STREAM}
    for name, content_type, ext in _OLE2_TYPES:
        if name not in streams:
            continue
        # Reading the main stream follows its whole sector chain; olefile returns what there is
        # of a truncated one, so its length is compared with the directory's.
        main = ole.openstream(streams[name].name).read()
        if len(main) != streams[name].size:
            raise EvidenceRejected(MSG_OFFICE_CORRUPT)
        if ext == "xls":
            _check_workbook(main)
        elif ext == "ppt":
            if "encryptedsummary" in streams:
                raise EvidenceRejected(MSG_OFFICE_ENCRYPTED)
            if _PPT_VBA_INFO in main:
                raise EvidenceRejected(MSG_MACRO)
        return content_type, ext
    if "encryptedpackage" in streams:  # a password-protected .docx/.xlsx/.pptx
        raise EvidenceRejected(MSG_OFFICE_ENCRYPTED)
    raise EvidenceRejected(MSG_UNSUPPORTED)


def _check_workbook(stream: bytes) -> None:
    """Walk the workbook globals (up to their EOF record) for macro sheets and encryption."""
    pos = 0
    for _ in range(MAX_BIFF_RECORDS):
        if pos + 4 > len(stream):
            return
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4 : pos + 4 + size]
        if kind == _BIFF_FILEPASS:
            raise EvidenceRejected(MSG_OFFICE_ENCRYPTED)
        if kind == _BIFF_BOUNDSHEET and len(body) >= 6 and body[5] in _XLM_SHEET_TYPES:
            raise EvidenceRejected(MSG_MACRO)
        if kind == _BIFF_EOF:
            return
        pos += 4 + size
    raise EvidenceRejected(MSG_OFFICE_CORRUPT)


def check_pdf(data: bytes) -> None:
    """Refuse a PDF that runs anything by itself, or that cannot be read well enough to tell."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise EvidenceRejected(MSG_PDF_ENCRYPTED)
        what = _active_content(dict.get(reader.trailer, "/Root"))
    except EvidenceRejected:
        raise
    except Exception as exc:  # pypdf raises a wide range on hostile input (and RecursionError)
        raise EvidenceRejected(MSG_PDF_CORRUPT) from exc
    if what:
        raise EvidenceRejected(MSG_PDF_ACTIVE.format(what))


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _active_content(root_ref: object) -> str | None:
    """What in the document runs without the reader asking for it, or None.

    Walks every object reachable from the catalog (but for _INERT_KEYS), resolved through
    pypdf so objects packed in compressed object streams are seen like any other, visiting
    each at most once and at most MAX_PDF_OBJECTS in all.
    """
    catalog = _resolve(root_ref)
    if not isinstance(catalog, DictionaryObject):
        raise EvidenceRejected(MSG_PDF_CORRUPT)
    # An open action that only shows a page (a destination, a plain /GoTo) is what LaTeX and
    # many converters write; anything else runs when the file is opened.
    opening = _resolve(dict.get(catalog, "/OpenAction"))
    if isinstance(opening, DictionaryObject) and (
        _resolve(dict.get(opening, "/S")) != "/GoTo"
        or not isinstance(_resolve(dict.get(opening, "/Next")), NullObject | None)
    ):
        return "打开文件时自动执行的动作"
    names = _resolve(dict.get(catalog, "/Names"))
    if isinstance(names, DictionaryObject) and "/JavaScript" in names:
        return "JavaScript 脚本"

    stack: list[object] = [catalog]
    seen = {(root_ref.idnum, root_ref.generation)} if isinstance(root_ref, IndirectObject) else set()
    visits = 1
    while stack:
        node = _resolve(stack.pop())
        if isinstance(node, DictionaryObject):  # stream dictionaries too; their data is never decoded
            what = _active_entry(node)
            if what:
                return what
            children = [v for k, v in dict.items(node) if k not in _INERT_KEYS]
        elif isinstance(node, ArrayObject):
            children = list(list.__iter__(node))
        else:
            continue
        for child in children:
            if isinstance(child, IndirectObject):
                key = (child.idnum, child.generation)
                if key in seen:
                    continue
                seen.add(key)
            elif not isinstance(child, DictionaryObject | ArrayObject) or _flat(child):
                continue  # numbers, names, strings, and arrays of them (/Rect, /Widths…)
            visits += 1
            if visits > MAX_PDF_OBJECTS:
                raise EvidenceRejected(MSG_PDF_TOO_COMPLEX)
            stack.append(child)
    return None


def _flat(array: object) -> bool:
    return isinstance(array, ArrayObject) and not any(
        isinstance(v, DictionaryObject | ArrayObject | IndirectObject) for v in list.__iter__(array)
    )


def _active_entry(node: DictionaryObject) -> str | None:
    action = _resolve(dict.get(node, "/S"))
    if "/JS" in node or action == "/JavaScript":
        return "JavaScript 脚本"
    if action == "/Launch":
        return "启动外部程序的动作"
    # Additional actions (page open/close, field keystrokes, mouse-over…) fire without a click.
    triggers = _resolve(dict.get(node, "/AA"))
    if isinstance(triggers, DictionaryObject) and len(triggers) > 0:
        return "自动触发的动作"
    if "/XFA" in node:  # XFA forms carry their own scripts
        return "XFA 表单脚本"
    return None
