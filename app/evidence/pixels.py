"""How many pixels an upload may make us decode: per photo, and per form post.

A few hundred kilobytes of PNG can describe a 79-megapixel canvas that takes a gigabyte and
seconds to decode, so the limits count pixels, not bytes, and are checked against the header
before anything is decoded. They are our own numbers: PIL's global MAX_IMAGE_PIXELS may be
changed elsewhere in the process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.evidence.refusal import EvidenceRejected

# PNG, WebP and HEIC are decoded at full size (the stored copy is re-encoded from the pixels):
# 50 MP is well above any phone camera and costs at most ~300 MB. A JPEG original is kept as
# its untouched scan data and its display copy decoded at 1/2-1/8 scale, so it may be larger,
# unless it has several scans (progressive, or one scan per colour): libjpeg then holds every
# DCT coefficient of the full-size image (3-6 bytes a pixel) whatever the scale, so such a
# JPEG gets the full-decode limit. Keys are content types, plus MULTI_SCAN_JPEG.
MULTI_SCAN_JPEG = "image/jpeg;multi-scan"
PIXEL_LIMITS = {
    "image/jpeg": 200_000_000,
    MULTI_SCAN_JPEG: 50_000_000,
    "image/png": 50_000_000,
    "image/webp": 50_000_000,
    "image/heic": 50_000_000,
}
_LABELS = {"image/jpeg": "JPEG", MULTI_SCAN_JPEG: "渐进式 JPEG"}
_OTHER_LABEL = "PNG/WebP/HEIC"
# All the photos of one form post together (every field), so twenty large files in one
# request cannot hold a worker until its timeout.
MAX_REQUEST_PIXELS = 400_000_000


def pixel_words(pixels: int) -> str:
    """'7900 万像素', '2.5 亿像素': rounded up, so an image just over a limit never reads as equal."""
    wan = math.ceil(pixels / 10_000)
    if wan < 10_000:
        return f"{wan} 万像素"
    return f"{wan / 10_000:.4f}".rstrip("0").rstrip(".") + " 亿像素"


def check_pixels(kind: str, width: int, height: int) -> int:
    """The image's pixel count; refused if over the limit for its *kind* (a PIXEL_LIMITS key)."""
    pixels = width * height
    limit = PIXEL_LIMITS[kind]
    if pixels > limit:
        label = _LABELS.get(kind, _OTHER_LABEL)
        raise EvidenceRejected(
            f"图片尺寸过大（{pixel_words(pixels)}），{label} 照片不能超过 {pixel_words(limit)}"
        )
    return pixels


@dataclass
class PixelBudget:
    """Pixels one form post may still decode; one instance is shared by every field's uploads.

    Created fresh with each UploadSettings (app.tasks.routes.upload_settings, once per request).
    """

    limit: int = MAX_REQUEST_PIXELS
    used: int = 0

    def charge(self, pixels: int) -> None:
        total = self.used + pixels
        if total > self.limit:
            raise EvidenceRejected(
                f"图片尺寸过大：一次提交的照片合计不能超过 {pixel_words(self.limit)}"
                f"（加上本张共 {pixel_words(total)}），请缩小照片或分次提交"
            )
        self.used = total


def webp_size(data: bytes) -> tuple[int, int] | None:
    """Canvas size from a WebP's first chunk. libwebp allocates the whole canvas as soon as the
    file is opened, so this is read before PIL sees the file."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = int.from_bytes(data[26:28], "little"), int.from_bytes(data[28:30], "little")
        return width & 0x3FFF, height & 0x3FFF
    return None
