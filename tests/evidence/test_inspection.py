"""Legacy Office and PDF uploads are parsed, not searched: macros and self-running PDF actions
are refused wherever they sit, and a file too broken to check is refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

from app.evidence import inspection
from app.evidence.storage import EvidenceRejected, store_evidence
from tests.evidence.builders import action, biff_workbook, js, link, ole2, pdf, pdf_with_object_stream

LIMIT = 20 * 1024 * 1024
UNSUPPORTED = "文件类型不支持：只接受照片（JPG/PNG/HEIC）、PDF 和 Office 文档"
MACRO = "文件类型不支持：不接受含宏的 Office 文档"


def _refusal(data: bytes, tmp_path: Path, name: str = "a") -> str:
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(data, name, tmp_path, LIMIT)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # nothing reached the disk
    return str(info.value)


# --- legacy Office (OLE2) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("streams", "content_type", "ext"),
    [
        ({"WordDocument": b"\xec\xa5", "1Table": b""}, "application/msword", "doc"),
        ({"Workbook": biff_workbook()}, "application/vnd.ms-excel", "xls"),
        ({"Book": biff_workbook()}, "application/vnd.ms-excel", "xls"),
        (
            {"PowerPoint Document": b"\x0f\x00\xe8\x03", "Current User": b""},
            "application/vnd.ms-powerpoint",
            "ppt",
        ),
    ],
    ids=["doc", "xls", "xls-biff5", "ppt"],
)
def test_legacy_office_typed_by_its_main_stream(
    tmp_path: Path, streams: dict[str, bytes], content_type: str, ext: str
) -> None:
    result = store_evidence(ole2({"\x05SummaryInformation": b"", **streams}), "file.bin", tmp_path, LIMIT)
    assert (result.kind, result.content_type) == ("office", content_type)
    assert result.stored_name.endswith("." + ext)


@pytest.mark.parametrize(
    "streams",
    [
        {"WordDocument": b"", "Macros/VBA/dir": b"x", "Macros/VBA/_VBA_PROJECT": b"x", "Macros/PROJECT": b""},
        {"Workbook": biff_workbook(), "_VBA_PROJECT_CUR/VBA/dir": b"x", "_VBA_PROJECT_CUR/PROJECT": b""},
        {"Book": biff_workbook(), "_VBA_PROJECT/dir": b"x"},
        # A macro-enabled document embedded in an innocent one.
        {
            "WordDocument": b"",
            "ObjectPool/_1234567890/WordDocument": b"",
            "ObjectPool/_1234567890/Macros/VBA/dir": b"",
        },
        {"Workbook": biff_workbook(), "MBD0001A2B3/VBA/ThisDocument": b""},
    ],
    ids=["word", "excel", "excel-95", "embedded-in-objectpool", "embedded-vba-storage"],
)
def test_vba_storages_refused_at_any_depth(tmp_path: Path, streams: dict[str, bytes]) -> None:
    assert _refusal(ole2(streams), tmp_path, "report.doc") == MACRO


@pytest.mark.parametrize("sheet_type", [0x01, 0x06], ids=["excel4-macro-sheet", "vba-module-sheet"])
def test_excel_macro_sheets_refused(tmp_path: Path, sheet_type: int) -> None:
    # Excel 4.0 (XLM) macros live in a sheet of the Workbook stream, with no VBA storage at all.
    assert _refusal(ole2({"Workbook": biff_workbook(sheet_type)}), tmp_path, "数据.xls") == MACRO


def test_powerpoint_vba_project_refused(tmp_path: Path) -> None:
    # PowerPoint keeps its VBA project inside the "PowerPoint Document" stream.
    document = b"\x0f\x00\xe8\x03\x40\x00\x00\x00" + inspection._PPT_VBA_INFO + b"\x00" * 20
    assert _refusal(ole2({"PowerPoint Document": document}), tmp_path, "汇报.ppt") == MACRO


@pytest.mark.parametrize(
    "streams",
    [
        {"Workbook": biff_workbook(encrypted=True)},
        {"PowerPoint Document": b"", "EncryptedSummary": b""},
        {"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"\x00" * 64},
    ],
    ids=["xls", "ppt", "password-protected-docx"],
)
def test_encrypted_legacy_office_refused(tmp_path: Path, streams: dict[str, bytes]) -> None:
    message = _refusal(ole2(streams), tmp_path, "加密.xls")
    assert message == "Office 文档已加密，无法检查其中是否含宏：请去除密码保护后再上传"


def test_names_mentioned_in_stream_data_do_not_count(tmp_path: Path) -> None:
    # The old substring search took these bytes for a Word stream and missed the macro check.
    fake = ole2({"\x05SummaryInformation": "WordDocument".encode("utf-16-le") + b"\x00\x00"})
    assert _refusal(fake, tmp_path, "setup.doc") == UNSUPPORTED
    # Text about macros inside a real document is not a macro.
    text = ole2({"WordDocument": "Macros _VBA_PROJECT_CUR".encode("utf-16-le")})
    assert store_evidence(text, "说明.doc", tmp_path, LIMIT).content_type == "application/msword"


@pytest.mark.parametrize(
    "data",
    [
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 4000,
        ole2({"WordDocument": b"x" * 9000})[:2048],  # cut short: the directory is gone
    ],
    ids=["zeros", "garbage", "truncated"],
)
def test_corrupt_ole2_refused(tmp_path: Path, data: bytes) -> None:
    assert _refusal(data, tmp_path, "old.doc") == "Office 文档已损坏，无法读取"


# --- PDF ------------------------------------------------------------------------------

ACTIVE = "文件类型不支持：PDF 文件含有{}，请用“打印为 PDF”另存一份后再上传"


def _add(key: str, value: object, where: str = "page") -> object:
    def change(writer: PdfWriter) -> None:
        target = writer.pages[0] if where == "page" else writer.root_object
        target[NameObject(key)] = value

    return change


def _annotate(annotation: DictionaryObject) -> object:
    def change(writer: PdfWriter) -> None:
        writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])

    return change


def test_plain_pdf_accepted_and_stored_as_is(tmp_path: Path) -> None:
    data = pdf(pages=3)
    result = store_evidence(data, "整改报告.pdf", tmp_path, LIMIT)
    assert (result.kind, result.content_type) == ("pdf", "application/pdf")
    assert (tmp_path / result.stored_name).read_bytes() == data


@pytest.mark.parametrize(
    "change",
    [
        _add("/OpenAction", ArrayObject([NumberObject(0), NameObject("/Fit")]), where="catalog"),
        _add("/OpenAction", action("/GoTo", D=ArrayObject([NumberObject(0), NameObject("/Fit")])), "catalog"),
        _annotate(link(action("/URI", URI=js("https://example.gov.cn/")))),
    ],
    ids=["open-at-page", "open-with-goto", "clicked-web-link"],
)
def test_pdf_page_views_and_links_accepted(tmp_path: Path, change: object) -> None:
    # What LaTeX, office suites and scanners write: showing a page is not running anything.
    assert store_evidence(pdf(change=change), "a.pdf", tmp_path, LIMIT).kind == "pdf"


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda writer: writer.add_open_action(JavaScript("app.alert('x')")), "JavaScript 脚本"),
        (_add("/OpenAction", action("/JavaScript", JS=js()), "catalog"), "打开文件时自动执行的动作"),
        (
            _add("/OpenAction", action("/URI", URI=js("https://x.example/")), "catalog"),
            "打开文件时自动执行的动作",
        ),
        (
            _add(
                "/OpenAction",
                action("/GoTo", D=ArrayObject([NumberObject(0)]), Next=action("/Launch")),
                "catalog",
            ),
            "打开文件时自动执行的动作",
        ),
        (_annotate(link(action("/Launch", F=js("cmd.exe")))), "启动外部程序的动作"),
        (_annotate(link(action("/JavaScript", JS=js()))), "JavaScript 脚本"),
        (_annotate(link(action("/GoTo", Next=action("/JavaScript", JS=js())))), "JavaScript 脚本"),
        (_annotate(link(action("/Rendition", JS=js()))), "JavaScript 脚本"),  # any /JS key
        (
            _add("/AA", DictionaryObject({NameObject("/O"): action("/URI", URI=js("https://x.example/"))})),
            "自动触发的动作",
        ),
        (_annotate(link(AA=DictionaryObject({NameObject("/E"): action("/GoTo")}))), "自动触发的动作"),
        (
            _add("/AA", DictionaryObject({NameObject("/WC"): action("/ResetForm")}), "catalog"),
            "自动触发的动作",
        ),
        (_add("/AcroForm", DictionaryObject({NameObject("/XFA"): ArrayObject()}), "catalog"), "XFA 表单脚本"),
    ],
    ids=[
        "javascript-name-tree",
        "open-action-javascript",
        "open-action-uri",
        "open-action-chained",
        "link-launch",
        "link-javascript",
        "link-next-javascript",
        "js-key",
        "page-open-action",
        "annotation-trigger",
        "document-close-trigger",
        "xfa-form",
    ],
)
def test_pdf_self_running_content_refused(tmp_path: Path, change: object, what: str) -> None:
    assert _refusal(pdf(change=change), tmp_path, "通报.pdf") == ACTIVE.format(what)


def test_pdf_javascript_inside_compressed_object_stream_refused(tmp_path: Path) -> None:
    data = pdf_with_object_stream(b"<< /S /JavaScript /JS (app.launchURL\\('https://x.example/'\\)) >>")
    assert b"JavaScript" not in data  # invisible to any search of the raw bytes
    assert _refusal(data, tmp_path, "x.pdf") == ACTIVE.format("JavaScript 脚本")
    launch = pdf_with_object_stream(b"<< /S /Launch /F (calc.exe) >>")
    assert _refusal(launch, tmp_path, "x.pdf") == ACTIVE.format("启动外部程序的动作")


def test_pdf_with_object_stream_and_plain_link_accepted(tmp_path: Path) -> None:
    assert store_evidence(pdf_with_object_stream(None), "x.pdf", tmp_path, LIMIT).kind == "pdf"


@pytest.mark.parametrize("password", ["", "secret"], ids=["no-user-password", "user-password"])
def test_encrypted_pdf_refused(tmp_path: Path, password: str) -> None:
    data = pdf(change=lambda writer: writer.encrypt(password, "owner"))
    assert _refusal(data, tmp_path, "加密.pdf") == "PDF 文件已加密，无法检查：请去除密码保护后再上传"


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\n", b"%PDF-1.7\nthis is not a PDF at all\n%%EOF\n", b"%PDF-1.4\n1 0 obj << /Type /Catalog"],
    ids=["header-only", "garbage", "cut-short"],
)
def test_unreadable_pdf_refused(tmp_path: Path, data: bytes) -> None:
    assert _refusal(data, tmp_path, "坏.pdf") == "PDF 文件已损坏，无法读取"


def test_pdf_walk_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = pdf(pages=40)
    assert store_evidence(data, "a.pdf", tmp_path, LIMIT).kind == "pdf"
    monkeypatch.setattr(inspection, "MAX_PDF_OBJECTS", 30)
    message = _refusal(data, tmp_path / "second", "a.pdf")
    assert message == "PDF 文件结构过于复杂，无法检查：请用“打印为 PDF”另存一份后再上传"


def test_pdf_structure_tree_and_page_resources_not_walked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tagged PDF has an object per paragraph; fonts and images sit in page resources. None of
    # them can run an action, so they do not count against the walk's bound.
    def tagged(writer: PdfWriter) -> None:
        elements = ArrayObject(
            writer._add_object(DictionaryObject({NameObject("/S"): NameObject("/P")})) for _ in range(200)
        )
        writer.root_object[NameObject("/StructTreeRoot")] = DictionaryObject({NameObject("/K"): elements})
        fonts = DictionaryObject(
            {NameObject(f"/F{i}"): writer._add_object(DictionaryObject()) for i in range(200)}
        )
        writer.pages[0][NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})

    monkeypatch.setattr(inspection, "MAX_PDF_OBJECTS", 30)
    assert store_evidence(pdf(change=tagged), "a.pdf", tmp_path, LIMIT).kind == "pdf"


def test_pdf_reference_cycles_end(tmp_path: Path) -> None:
    # Every page points back at its parent; an object may even contain itself.
    def loop(writer: PdfWriter) -> None:
        ref = writer._add_object(DictionaryObject())
        ref.get_object()[NameObject("/Self")] = ref
        writer.pages[0][NameObject("/Loop")] = ref

    assert store_evidence(pdf(pages=5, change=loop), "a.pdf", tmp_path, LIMIT).kind == "pdf"
