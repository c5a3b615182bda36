"""Pixel limits: per photo by format, checked from the header before decoding, and per form post
over every field. The files claim huge sizes in their headers; none is ever that large."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from app.errors import ValidationFailed
from app.evidence import pixels
from app.evidence.operations import store_uploads
from app.evidence.pixels import PixelBudget, pixel_words, webp_size
from app.evidence.storage import EvidenceRejected, store_evidence
from app.tasks.context import UploadSettings
from tests.evidence.builders import gradient, image_bytes, jpeg

LIMIT = 20 * 1024 * 1024


def _png_claiming(width: int, height: int) -> bytes:
    png = image_bytes("PNG", size=(1, 1))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return png[:8] + chunk + png[8 + len(chunk) :]


def _jpeg_claiming(width: int, height: int, progressive: bool = False) -> bytes:
    data = bytearray(jpeg(size=(64, 48), progressive=progressive))
    # The frame header (SOF0 baseline, SOF2 progressive): length, precision, height, width.
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _webp_claiming(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("WEBP", size=(16, 16), lossless=True))
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
    data[21:25] = (bits | (width - 1) | ((height - 1) << 14)).to_bytes(4, "little")
    return bytes(data)


def _never(*args: object, **kwargs: object) -> None:
    raise AssertionError("pixels were decoded")


def _decoded_jpeg_sizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record the size a JPEG has when its pixels are decoded (after any draft scaling)."""
    sizes: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.load

    def spy(self: JpegImagePlugin.JpegImageFile) -> object:
        sizes.append(self.size)
        return original(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    return sizes


def test_pixel_counts_read_in_wan_and_yi_rounded_up() -> None:
    assert pixel_words(79_000_000) == "7900 万像素"
    assert pixel_words(50_000_001) == "5001 万像素"  # never reads as equal to the limit
    assert pixel_words(200_000_000) == "2 亿像素"
    assert pixel_words(250_000_000) == "2.5 亿像素"


def test_79_megapixel_png_refused_from_its_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", _never)
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(_png_claiming(10_000, 7_900), "现场.png", tmp_path, LIMIT)
    assert str(info.value) == "图片尺寸过大（7900 万像素），PNG/WebP/HEIC 照片不能超过 5000 万像素"
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_webp_canvas_checked_before_libwebp_allocates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _webp_claiming(10_000, 10_000)
    assert webp_size(data) == (10_000, 10_000)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "_open", _never)
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(data, "截图.webp", tmp_path, LIMIT)
    assert str(info.value) == "图片尺寸过大（1 亿像素），PNG/WebP/HEIC 照片不能超过 5000 万像素"


@pytest.mark.parametrize(
    "save", [{"lossless": True}, {"quality": 80}, {"quality": 80, "exif": b"Exif\x00\x00MM\x00*"}]
)
def test_webp_header_size_matches_pil(save: dict) -> None:
    # VP8L, VP8 and VP8X (extended, because of the EXIF) layouts.
    data = image_bytes("WEBP", size=(321, 123), **save)
    with Image.open(io.BytesIO(data)) as im:
        assert webp_size(data) == im.size == (321, 123)


def test_jpeg_over_200_megapixels_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = _decoded_jpeg_sizes(monkeypatch)
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(_jpeg_claiming(20_001, 10_000), "航拍.jpg", tmp_path, LIMIT)
    assert str(info.value) == "图片尺寸过大（2.0001 亿像素），JPEG 照片不能超过 2 亿像素"
    assert sizes == []


def test_150_megapixel_jpeg_accepted_and_decoded_at_one_eighth_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above PIL's own decompression-bomb threshold, below ours: never decoded at full size.
    sizes = _decoded_jpeg_sizes(monkeypatch)
    result = store_evidence(_jpeg_claiming(15_000, 10_000), "全景.jpg", tmp_path, LIMIT)
    assert set(sizes) == {(1875, 1250)}
    # The original keeps its scan data untouched (read through the plugin: Image.open would
    # warn about PIL's own, lower, decompression-bomb threshold).
    with JpegImagePlugin.JpegImageFile(tmp_path / result.stored_name) as original:
        assert original.size == (15_000, 10_000)
    assert result.display_name is not None
    with Image.open(tmp_path / result.display_name) as shown:
        assert shown.size == (1600, 1067)


def test_progressive_jpeg_over_50_megapixels_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Several scans make libjpeg keep every full-size coefficient whatever the draft scale.
    sizes = _decoded_jpeg_sizes(monkeypatch)
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(_jpeg_claiming(10_000, 6_000, progressive=True), "导出.jpg", tmp_path, LIMIT)
    assert str(info.value) == "图片尺寸过大（6000 万像素），渐进式 JPEG 照片不能超过 5000 万像素"
    assert sizes == []
    result = store_evidence(_jpeg_claiming(8_000, 6_000, progressive=True), "导出.jpg", tmp_path, LIMIT)
    assert result.kind == "image"


def test_jpeg_display_copy_decoded_at_the_smallest_sufficient_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = jpeg(size=(4000, 3000))
    sizes = _decoded_jpeg_sizes(monkeypatch)
    result = store_evidence(data, "big.jpg", tmp_path, LIMIT)
    assert set(sizes) == {(2000, 1500)}  # 1/2 scale still covers 1600 x 1200
    assert result.display_name is not None
    with Image.open(tmp_path / result.display_name) as shown:
        assert shown.size == (1600, 1200)


def _heic(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    try:
        gradient(size).save(buf, "HEIF")
    except Exception as exc:  # wheels without an HEVC encoder
        pytest.skip(f"pillow_heif cannot encode HEIC here: {exc}")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content_type", "make", "label"),
    [
        ("image/png", lambda: image_bytes("PNG", size=(40, 30)), "PNG/WebP/HEIC"),
        ("image/webp", lambda: image_bytes("WEBP", size=(40, 30)), "PNG/WebP/HEIC"),
        ("image/heic", lambda: _heic((40, 30)), "PNG/WebP/HEIC"),
        ("image/jpeg", lambda: jpeg(size=(40, 30)), "JPEG"),
    ],
    ids=["png", "webp", "heic", "jpeg"],
)
def test_each_format_has_its_own_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content_type: str, make: object, label: str
) -> None:
    data = make()  # type: ignore[operator]
    monkeypatch.setitem(pixels.PIXEL_LIMITS, content_type, 1_199)
    with pytest.raises(EvidenceRejected) as info:
        store_evidence(data, "a", tmp_path, LIMIT)
    assert str(info.value) == f"图片尺寸过大（1 万像素），{label} 照片不能超过 1 万像素"
    monkeypatch.setitem(pixels.PIXEL_LIMITS, content_type, 1_200)
    assert store_evidence(data, "a", tmp_path, LIMIT).kind == "image"


def test_request_budget_is_400_megapixels() -> None:
    budget = PixelBudget()
    budget.charge(150_000_000)
    budget.charge(150_000_000)
    with pytest.raises(EvidenceRejected) as info:
        budget.charge(150_000_000)
    assert str(info.value) == (
        "图片尺寸过大：一次提交的照片合计不能超过 4 亿像素（加上本张共 4.5 亿像素），请缩小照片或分次提交"
    )
    assert budget.used == 300_000_000
    budget.charge(100_000_000)  # exactly the limit is allowed


@dataclass
class _Upload:
    filename: str
    data: bytes

    def read(self, size: int = -1) -> bytes:
        return self.data[:size] if size >= 0 else self.data


def test_request_budget_shared_by_every_field_of_a_form_post(tmp_path: Path) -> None:
    photo = jpeg(size=(200, 100))  # 2 万 pixels
    uploads = UploadSettings(tmp_path, LIMIT, 1600, PixelBudget(limit=50_000))

    first = store_uploads(uploads, "evidence_A", [_Upload("甲.jpg", photo), _Upload("乙.jpg", photo)])
    assert len(first) == 2
    with pytest.raises(ValidationFailed) as info:
        store_uploads(uploads, "evidence_B", [_Upload("现场.jpg", photo)])

    message = (
        "现场.jpg：图片尺寸过大：一次提交的照片合计不能超过 5 万像素（加上本张共 6 万像素），"
        "请缩小照片或分次提交"
    )
    assert info.value.message == message
    assert info.value.fields == {"evidence_B": message}  # the field's message names the file too
    # The refused field stored nothing; the earlier field's files are its form's to keep or discard.
    stored = {p.name for p in tmp_path.iterdir()}
    assert stored == {n for item in first for n in (item.stored.stored_name, item.stored.display_name)}


@pytest.mark.db
def test_each_request_gets_a_fresh_budget(app: Flask) -> None:
    from app.tasks.routes import upload_settings

    with app.test_request_context():
        first, second = upload_settings(), upload_settings()
    first.pixels.charge(pixels.MAX_REQUEST_PIXELS)
    assert second.pixels.used == 0
    assert second.pixels is not first.pixels
