"""Tests for app.evidence.storage; every input file is generated here, none committed."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import piexif
import pillow_heif
import pytest
from PIL import Image

from app.evidence import storage
from app.evidence.storage import EvidenceRejected, evidence_path, store_evidence
from tests.evidence.builders import gradient, image_bytes, jpeg, ole2, pdf

MB = 1024 * 1024
LIMIT = 20 * MB
PDF = pdf()

GPS = {
    piexif.GPSIFD.GPSLatitudeRef: b"N",
    piexif.GPSIFD.GPSLatitude: ((31, 1), (18, 1), (2000, 100)),
    piexif.GPSIFD.GPSLongitudeRef: b"E",
    piexif.GPSIFD.GPSLongitude: ((120, 1), (35, 1), (1500, 100)),
}


def _stored(tmp_path: Path, name: str | None) -> bytes:
    assert name is not None
    return (tmp_path / name).read_bytes()


def _scan_data(jpeg: bytes) -> bytes:
    return jpeg[jpeg.index(b"\xff\xda") :]


def _has_gps(data: bytes) -> bool:
    exif = piexif.load(data)
    return bool(exif["GPS"]) or piexif.ImageIFD.GPSTag in exif["0th"]


# --- images ---------------------------------------------------------------------------


def test_jpeg_gps_removed_pixels_and_orientation_kept(tmp_path: Path) -> None:
    exif = {"0th": {piexif.ImageIFD.Orientation: 6, piexif.ImageIFD.Make: b"Phone"}, "GPS": GPS}
    data = jpeg(exif=exif)
    assert _has_gps(data)

    result = store_evidence(data, "IMG_0001.JPG", tmp_path, LIMIT)

    stored = _stored(tmp_path, result.stored_name)
    assert result.kind == "image"
    assert result.content_type == "image/jpeg"
    assert result.stored_name.endswith(".jpg")
    assert not _has_gps(stored)
    kept = piexif.load(stored)["0th"]
    assert kept[piexif.ImageIFD.Orientation] == 6
    assert kept[piexif.ImageIFD.Make] == b"Phone"
    # Lossless: the entropy-coded data is byte-identical, so decoded pixels are too.
    assert _scan_data(stored) == _scan_data(data)
    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(data)).tobytes()
    assert result.size == len(stored)
    assert result.sha256 == hashlib.sha256(stored).hexdigest()

    display = _stored(tmp_path, result.display_name)
    with Image.open(io.BytesIO(display)) as shown:
        assert shown.format == "JPEG"
        assert shown.size == (48, 64)  # orientation 6 applied to the display copy
        assert "exif" not in shown.info


def test_jpeg_xmp_and_trailing_payload_removed(tmp_path: Path) -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>31,18.3N</exif:GPSLatitude></x:xmpmeta>'
    data = jpeg(exif={"GPS": GPS}, xmp=xmp, comment=b"taken at Guanqian Street")
    data += b"PK\x03\x04 appended zip payload"

    result = store_evidence(data, "a.jpg", tmp_path, LIMIT)

    stored = _stored(tmp_path, result.stored_name)
    assert b"GPSLatitude" not in stored
    assert b"Guanqian" not in stored
    assert stored.endswith(b"\xff\xd9")
    assert not _has_gps(stored)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_jpeg_with_unparseable_exif_is_dropped(tmp_path: Path) -> None:
    base = jpeg()
    junk = b"Exif\x00\x00MM\x00\x2a" + b"\xff" * 40  # TIFF header pointing nowhere
    broken = base[:2] + b"\xff\xe1" + (len(junk) + 2).to_bytes(2, "big") + junk + base[2:]

    result = store_evidence(broken, "b.jpg", tmp_path, LIMIT)

    stored = _stored(tmp_path, result.stored_name)
    assert junk not in stored
    assert _scan_data(stored) == _scan_data(base)


def test_jpeg_exif_piexif_cannot_handle_keeps_only_orientation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = jpeg(exif={"0th": {piexif.ImageIFD.Orientation: 8, piexif.ImageIFD.Make: b"Phone"}, "GPS": GPS})

    def unparseable(*args: object, **kwargs: object) -> None:
        raise ValueError("odd vendor EXIF")

    with monkeypatch.context() as patched:
        patched.setattr(storage.piexif, "load", unparseable)
        result = store_evidence(data, "d.jpg", tmp_path, LIMIT)

    stored = _stored(tmp_path, result.stored_name)
    assert piexif.load(stored)["0th"] == {piexif.ImageIFD.Orientation: 8}
    assert not _has_gps(stored)
    assert _scan_data(stored) == _scan_data(data)


def test_large_jpeg_display_copy_is_scaled_original_kept(tmp_path: Path) -> None:
    data = jpeg(size=(4000, 3000))

    result = store_evidence(data, "big.jpg", tmp_path, LIMIT)

    with Image.open(tmp_path / result.stored_name) as original:
        assert original.size == (4000, 3000)
    assert result.display_name == result.stored_name.removesuffix(".jpg") + "_display.jpg"
    with Image.open(tmp_path / result.display_name) as shown:
        assert max(shown.size) <= 1600
        assert shown.size == (1600, 1200)


def test_display_max_px_is_configurable(tmp_path: Path) -> None:
    result = store_evidence(jpeg(size=(800, 400)), "c.jpg", tmp_path, LIMIT, display_max_px=200)
    with Image.open(tmp_path / result.display_name) as shown:
        assert shown.size == (200, 100)


def test_heic_accepted_and_stripped(tmp_path: Path) -> None:
    buf = io.BytesIO()
    try:
        gradient((320, 240)).save(buf, "HEIF", quality=80, exif=piexif.dump({"GPS": GPS}))
    except Exception as exc:  # wheels without an HEVC encoder
        pytest.skip(f"pillow_heif cannot encode HEIC here: {exc}")
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as source:
        assert _has_gps(source.info["exif"].removeprefix(b"Exif\x00\x00"))

    result = store_evidence(data, "IMG_0002.HEIC", tmp_path, LIMIT)

    assert result.kind == "image"
    # The original is kept at full resolution as JPEG (HEIC cannot shed its metadata losslessly).
    assert (result.content_type, Path(result.stored_name).suffix) == ("image/jpeg", ".jpg")
    stored = _stored(tmp_path, result.stored_name)
    with Image.open(io.BytesIO(stored)) as original:
        assert original.size == (320, 240)
        exif = original.info.get("exif")
        assert not exif or not _has_gps(exif.removeprefix(b"Exif\x00\x00"))
    with Image.open(tmp_path / result.display_name) as shown:
        assert shown.format == "JPEG"
        assert shown.size == (320, 240)


def test_heic_detected_by_content_not_name(tmp_path: Path) -> None:
    buf = io.BytesIO()
    try:
        gradient((32, 32)).save(buf, "HEIF")
    except Exception as exc:
        pytest.skip(f"pillow_heif cannot encode HEIC here: {exc}")
    assert pillow_heif.is_supported(buf.getvalue())
    result = store_evidence(buf.getvalue(), "report.pdf", tmp_path, LIMIT)
    assert result.kind == "image"


def test_png_accepted_reencoded_without_exif(tmp_path: Path) -> None:
    data = image_bytes("PNG", mode="RGBA", exif=piexif.dump({"GPS": GPS}))
    assert b"eXIf" in data

    result = store_evidence(data, "screen.png", tmp_path, LIMIT)

    assert (result.kind, result.content_type) == ("image", "image/png")
    stored = _stored(tmp_path, result.stored_name)
    assert b"eXIf" not in stored
    with Image.open(io.BytesIO(stored)) as original, Image.open(io.BytesIO(data)) as source:
        assert original.tobytes() == source.tobytes()
    with Image.open(tmp_path / result.display_name) as shown:
        assert shown.mode == "RGB"


def test_transparent_png_display_copy_on_white(tmp_path: Path) -> None:
    data = image_bytes("PNG", size=(20, 20), mode="RGBA", colour=(255, 0, 0, 0))

    result = store_evidence(data, "t.png", tmp_path, LIMIT)

    with Image.open(tmp_path / result.display_name) as shown:
        assert all(channel > 245 for channel in shown.getpixel((10, 10)))


def test_webp_accepted_without_exif(tmp_path: Path) -> None:
    data = image_bytes("WEBP", lossless=True, exif=piexif.dump({"GPS": GPS}))

    result = store_evidence(data, "x.webp", tmp_path, LIMIT)

    assert result.content_type == "image/webp"
    stored = _stored(tmp_path, result.stored_name)
    assert b"EXIF" not in stored
    with Image.open(io.BytesIO(stored)) as original, Image.open(io.BytesIO(data)) as source:
        assert original.tobytes() == source.tobytes()  # lossless source stayed lossless


def test_corrupt_image_refused(tmp_path: Path) -> None:
    data = jpeg(size=(200, 200))
    with pytest.raises(EvidenceRejected, match="图片文件已损坏，无法读取"):
        store_evidence(data[: len(data) // 2], "half.jpg", tmp_path, LIMIT)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_decompression_bomb_header_refused_without_decoding(tmp_path: Path) -> None:
    # A tiny PNG whose header claims 100000 x 100000 pixels.
    png = image_bytes("PNG", size=(1, 1))
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    bomb = png[:8] + chunk + png[8 + len(chunk) :]
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(bomb, "bomb.png", tmp_path, LIMIT)
    assert str(info.value) == "图片尺寸过大（100 亿像素），PNG/WebP/HEIC 照片不能超过 5000 万像素"


# --- documents ------------------------------------------------------------------------


def test_pdf_stored_as_is(tmp_path: Path) -> None:
    data = PDF

    result = store_evidence(data, "整改报告.pdf", tmp_path, LIMIT)

    assert (result.kind, result.content_type, result.display_name) == ("pdf", "application/pdf", None)
    assert result.stored_name.endswith(".pdf")
    assert _stored(tmp_path, result.stored_name) == data
    assert result.original_name == "整改报告.pdf"


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("folder", "ext"),
    [("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx")],
)
def test_ooxml_accepted(tmp_path: Path, folder: str, ext: str) -> None:
    data = _zip({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>", folder: b"<x/>"})

    result = store_evidence(data, "whatever.bin", tmp_path, LIMIT)

    assert result.kind == "office"
    assert result.content_type.startswith("application/vnd.openxmlformats-officedocument.")
    assert result.stored_name.endswith("." + ext)
    assert _stored(tmp_path, result.stored_name) == data


def test_docx_content_type(tmp_path: Path) -> None:
    data = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    result = store_evidence(data, "a.docx", tmp_path, LIMIT)
    assert result.content_type == ("application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def test_macro_enabled_office_refused(tmp_path: Path) -> None:
    data = _zip(
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/vbaProject.bin": b"x"}
    )
    with pytest.raises(EvidenceRejected, match="宏"):
        store_evidence(data, "a.docx", tmp_path, LIMIT)


def test_legacy_ole2_word_accepted(tmp_path: Path) -> None:
    data = ole2({"WordDocument": b"\xec\xa5" + b"\x00" * 100, "1Table": b"\x00" * 10})
    result = store_evidence(data, "old.doc", tmp_path, LIMIT)
    assert (result.kind, result.content_type) == ("office", "application/msword")
    assert result.stored_name.endswith(".doc")
    assert _stored(tmp_path, result.stored_name) == data


def test_ole2_without_office_stream_refused(tmp_path: Path) -> None:
    data = ole2({"\x05SummaryInformation": b"\x00" * 100})  # e.g. an MSI installer
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(data, "setup.doc", tmp_path, LIMIT)
    assert str(info.value) == "文件类型不支持：只接受照片（JPG/PNG/HEIC）、PDF 和 Office 文档"


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"PE\x00\x00" + b"\x00" * 200, "photo.jpg"),
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "x.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.png"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "x.heic"),
        (b"just some text", "notes.docx"),
    ],
    ids=["exe-as-jpg", "html-as-pdf", "svg-as-png", "elf-as-heic", "text-as-docx"],
)
def test_disguised_files_refused(tmp_path: Path, data: bytes, name: str) -> None:
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(data, name, tmp_path, LIMIT)
    assert str(info.value) == "文件类型不支持：只接受照片（JPG/PNG/HEIC）、PDF 和 Office 文档"
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_plain_zip_refused(tmp_path: Path) -> None:
    with pytest.raises(EvidenceRejected, match="文件类型不支持"):
        store_evidence(_zip({"readme.txt": b"hello"}), "a.zip", tmp_path, LIMIT)
    # [Content_Types].xml alone does not make an Office document.
    with pytest.raises(EvidenceRejected, match="文件类型不支持"):
        store_evidence(_zip({"[Content_Types].xml": b"<Types/>", "x/y.xml": b""}), "a.docx", tmp_path, LIMIT)


def test_empty_refused(tmp_path: Path) -> None:
    with pytest.raises(EvidenceRejected, match=r"^文件为空$"):
        store_evidence(b"", "a.jpg", tmp_path, LIMIT)


def test_oversize_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded an oversized upload")

    monkeypatch.setattr(storage, "_sniff", boom)
    monkeypatch.setattr(storage, "_process_image", boom)
    monkeypatch.setattr(storage.filetype, "guess", boom)
    monkeypatch.setattr(storage.zipfile, "ZipFile", boom)
    data = b"\xff\xd8\xff" + b"\x00" * (LIMIT + 1 - 3)
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(data, "a.jpg", tmp_path, LIMIT)
    assert str(info.value) == "文件过大：单个文件不能超过 20 MB"
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_exactly_max_bytes_is_allowed(tmp_path: Path) -> None:
    assert store_evidence(PDF, "a.pdf", tmp_path, max_bytes=len(PDF)).size == len(PDF)
    with pytest.raises(EvidenceRejected, match="文件过大"):
        store_evidence(PDF, "a.pdf", tmp_path, max_bytes=len(PDF) - 1)


# --- names and paths ------------------------------------------------------------------


def test_files_written_with_random_names_in_created_dir(tmp_path: Path) -> None:
    upload_dir = tmp_path / "nested" / "uploads"
    first = store_evidence(PDF, "../../etc/passwd", upload_dir, LIMIT)
    second = store_evidence(PDF, "../../etc/passwd", upload_dir, LIMIT)

    assert first.stored_name != second.stored_name
    assert sorted(os.listdir(upload_dir)) == sorted([first.stored_name, second.stored_name])
    assert first.original_name == "passwd"
    for result in (first, second):
        assert evidence_path(upload_dir, result.stored_name) == upload_dir / result.stored_name


def test_evidence_path_accepts_own_names(tmp_path: Path) -> None:
    result = store_evidence(jpeg(), "a.jpg", tmp_path, LIMIT)
    assert evidence_path(tmp_path, result.stored_name).is_file()
    assert result.display_name is not None
    assert evidence_path(tmp_path, result.display_name).is_file()


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "/etc/passwd",
        "../" + "a" * 32 + ".jpg",
        "/tmp/" + "a" * 32 + ".jpg",
        "a" * 32 + ".jpg/../../x",
        "a" * 32 + ".exe",
        "A" * 32 + ".jpg",
        "a" * 32 + "_display.png",
        "a" * 32 + ".jpg\n",
        "",
    ],
)
def test_evidence_path_refuses_foreign_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        evidence_path(tmp_path, name)


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("C:\\Users\\张三\\Pictures\\现场照片.jpg", "现场照片.jpg"),
        ("/home/user/report.pdf", "report.pdf"),
        ("bad\x00na\x1bme\r\n.pdf", "badname.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("..", "未命名文件"),
        ("", "未命名文件"),
    ],
)
def test_original_name_sanitised(tmp_path: Path, client_name: str, expected: str) -> None:
    result = store_evidence(PDF, client_name, tmp_path, LIMIT)
    assert result.original_name == expected


def test_long_original_name_truncated_keeping_extension(tmp_path: Path) -> None:
    result = store_evidence(PDF, "很" * 500 + ".pdf", tmp_path, LIMIT)
    assert len(result.original_name) == 200
    assert result.original_name.endswith(".pdf")
