"""Safe storage of uploaded evidence files (佐证材料).

Liaisons and inspectors upload phone photos, PDFs and Office documents. The type is
decided from the bytes alone, images are stripped of location metadata before anything
touches the disk, and every file lands under a random name so client input never
becomes a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype
import piexif
import pillow_heif
from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from app.evidence.inspection import check_pdf, office_type
from app.evidence.pixels import MULTI_SCAN_JPEG, PixelBudget, check_pixels, webp_size
from app.evidence.refusal import MSG_MACRO, MSG_UNSUPPORTED, EvidenceRejected

pillow_heif.register_heif_opener()

MSG_EMPTY = "文件为空"
MSG_CORRUPT_IMAGE = "图片文件已损坏，无法读取"

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
# content type -> (extension, the one PIL decoder allowed for it). The plugin classes are
# opened directly rather than through Image.open, whose decompression-bomb check follows PIL's
# process-wide MAX_IMAGE_PIXELS (and would refuse a JPEG our own limit allows); ours is in pixels.py.
_IMAGES: dict[str, tuple[str, type[ImageFile.ImageFile]]] = {
    "image/jpeg": ("jpg", JpegImagePlugin.JpegImageFile),
    "image/png": ("png", PngImagePlugin.PngImageFile),
    "image/webp": ("webp", WebPImagePlugin.WebPImageFile),
    "image/heic": ("heic", pillow_heif.HeifImageFile),
}
# HEVC-coded HEIF brands; AVIF and other mif1 payloads are refused (no decoder here).
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}

_EXTENSIONS = "jpg|png|webp|heic|pdf|docx|xlsx|pptx|doc|xls|ppt"
_STORED_NAME = re.compile(rf"[0-9a-f]{{32}}(?:_display\.jpg|\.(?:{_EXTENSIONS}))")

# JPEG segments worth keeping: JFIF, ICC colour profile, Adobe colour transform. All
# other APPn (XMP and IPTC can hold GPS or place names, MPF points at trailing images we
# drop) and comments go; the EXIF block is re-inserted minus its GPS IFD.
_JPEG_KEEP_APP = ((0xE0, b"JFIF\x00"), (0xE0, b"JFXX\x00"), (0xE2, b"ICC_PROFILE\x00"), (0xEE, b"Adobe"))
# In entropy-coded data 0xFF is followed by 0x00 (stuffing), RSTn or fill bytes; anything
# else is a real marker.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class StoredEvidence:
    kind: str  # "image" | "pdf" | "office"
    content_type: str
    size: int  # bytes of the stored original
    sha256: str  # of the stored original, i.e. after metadata removal
    stored_name: str
    display_name: str | None
    original_name: str  # sanitised, for display only — never used as a path


def store_evidence(
    data: bytes,
    client_name: str,
    upload_dir: Path,
    max_bytes: int,
    display_max_px: int = 1600,
    budget: PixelBudget | None = None,
) -> StoredEvidence:
    """Check and store one file; *budget* is the form post's shared pixel allowance."""
    # Size first: nothing below should ever parse an empty or oversized payload.
    if not data:
        raise EvidenceRejected(MSG_EMPTY)
    if len(data) > max_bytes:
        raise EvidenceRejected(f"文件过大：单个文件不能超过 {max_bytes / 2**20:.4g} MB")
    kind, content_type, ext = _sniff(data)
    stored, display = data, None
    if kind == "image":
        stored, content_type, ext, display = _process_image(
            data, content_type, display_max_px, budget if budget is not None else PixelBudget()
        )

    upload_dir.mkdir(parents=True, exist_ok=True)
    stem = _fresh_stem(upload_dir, ext)
    stored_name = f"{stem}.{ext}"
    display_name = f"{stem}_display.jpg" if display is not None else None
    _write_new(upload_dir / stored_name, stored)
    if display is not None and display_name is not None:
        try:
            _write_new(upload_dir / display_name, display)
        except BaseException:
            (upload_dir / stored_name).unlink(missing_ok=True)  # no half-stored evidence
            raise
    return StoredEvidence(
        kind=kind,
        content_type=content_type,
        size=len(stored),
        sha256=hashlib.sha256(stored).hexdigest(),
        stored_name=stored_name,
        display_name=display_name,
        original_name=_sanitise_name(client_name),
    )


def is_stored_name(name: object) -> bool:
    """Whether *name* is one this module generates (an original or a display copy)."""
    return isinstance(name, str) and _STORED_NAME.fullmatch(name) is not None


def evidence_path(upload_dir: Path, stored_name: str) -> Path:
    # Only names this module generates can resolve, so a tampered DB row or request
    # parameter cannot reach outside upload_dir.
    if not is_stored_name(stored_name):
        raise ValueError(f"not a stored evidence name: {stored_name!r}")
    return upload_dir / stored_name


def _sniff(data: bytes) -> tuple[str, str, str]:
    """Return (kind, content_type, extension) decided from content only."""
    if data.startswith(_OLE2_MAGIC):
        content_type, ext = office_type(data)
        return "office", content_type, ext
    if data.startswith(b"PK\x03\x04"):
        content_type, ext = _ooxml_type(data)
        return "office", content_type, ext
    if data.startswith(b"%PDF-"):
        check_pdf(data)
        return "pdf", "application/pdf", "pdf"
    if _is_hevc_heif(data):
        return "image", "image/heic", "heic"
    guess = filetype.guess(data)
    if guess is not None and guess.mime in _IMAGES:
        return "image", guess.mime, _IMAGES[guess.mime][0]
    raise EvidenceRejected(MSG_UNSUPPORTED)


def _ooxml_type(data: bytes) -> tuple[str, str]:
    # Only the central directory is read; entries are never decompressed or extracted.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise EvidenceRejected(MSG_UNSUPPORTED) from exc
    if "[Content_Types].xml" not in names:
        raise EvidenceRejected(MSG_UNSUPPORTED)
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise EvidenceRejected(MSG_MACRO)
    for prefix, result in _OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return result
    raise EvidenceRejected(MSG_UNSUPPORTED)


def _is_hevc_heif(data: bytes) -> bool:
    # filetype only knows the 'heic' brand; phones also write heix (10-bit) and mif1+heic.
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    box_end = min(int.from_bytes(data[:4], "big"), len(data))
    brands = [data[8:12]] + [data[i : i + 4] for i in range(16, box_end - 3, 4)]
    return any(brand in _HEVC_BRANDS for brand in brands)


def _process_image(
    data: bytes, content_type: str, display_max_px: int, budget: PixelBudget
) -> tuple[bytes, str, str, bytes]:
    """Return (stored original, content type, extension, display JPEG)."""
    ext, plugin = _IMAGES[content_type]
    try:
        if content_type == "image/webp":
            size = webp_size(data)
            if size is None:
                raise EvidenceRejected(MSG_CORRUPT_IMAGE)
            check_pixels(content_type, *size)
        # The plugin reads the header only; dimensions are checked before any pixel is decoded.
        with plugin(io.BytesIO(data)) as im:
            if content_type == "image/jpeg":
                headers, scans, scan_count = _split_jpeg(data)
                kind = MULTI_SCAN_JPEG if scan_count > 1 else content_type
                budget.charge(check_pixels(kind, im.width, im.height))
                return _process_jpeg(headers, scans, im, display_max_px)
            budget.charge(check_pixels(content_type, im.width, im.height))
            im.load()
            # Orientation lives in the EXIF we are dropping, so bake it into the pixels.
            # (pillow_heif already applies HEIF irot/imir on decode and resets the tag to 1.)
            ImageOps.exif_transpose(im, in_place=True)
            stored, content_type, ext = _reencode(im, data, content_type, ext)
            return stored, content_type, ext, _display_copy(im, display_max_px)
    except EvidenceRejected:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, TypeError) as exc:
        raise EvidenceRejected(MSG_CORRUPT_IMAGE) from exc


def _process_jpeg(
    headers: list[bytes], scans: bytes, im: Image.Image, display_max_px: int
) -> tuple[bytes, str, str, bytes]:
    # The stored original is the untouched scan data (no decode); orientation comes from EXIF.
    orientation = im.getexif().get(0x0112, 1)
    stored = _clean_jpeg(headers, scans, orientation if isinstance(orientation, int) else 1)
    # Draft mode makes libjpeg decode at 1/2, 1/4 or 1/8 scale, the smallest still at least
    # the display size: a 200 MP photo becomes ~3 MP in memory, never the full-size bitmap.
    im.draft(im.mode, _fit(im.size, display_max_px))
    im.load()
    ImageOps.exif_transpose(im, in_place=True)
    return stored, "image/jpeg", "jpg", _display_copy(im, display_max_px)


def _bare(im: Image.Image, keep: tuple[str, ...] = ()) -> Image.Image:
    # Encoders fall back to im.info for exif/xmp/comments; empty it so only pixels go out.
    im.info = {key: im.info[key] for key in keep if key in im.info}
    return im


def _reencode(im: Image.Image, data: bytes, content_type: str, ext: str) -> tuple[bytes, str, str]:
    full = _bare(im, keep=("icc_profile", "transparency"))
    icc = full.info.get("icc_profile")
    buf = io.BytesIO()
    if content_type == "image/png":
        full.save(buf, "PNG", exif=b"")
    elif content_type == "image/webp":
        # Lossless sources (screenshots) stay lossless; photos get a near-transparent lossy pass.
        lossless = _webp_is_lossless(data)
        full.save(buf, "WEBP", quality=95, lossless=lossless, exif=b"", xmp=b"", icc_profile=icc)
    else:
        # HEIC has no lossless way to drop its location metadata, so the stored original is a
        # full-resolution quality-95 JPEG: re-encoding to HEIC with x265 took 14 s for a 12 MP
        # photo on this machine (inside the upload request), JPEG 0.4 s.
        rgb = full if full.mode == "RGB" else _bare(full.convert("RGB"), keep=("icc_profile",))
        rgb.save(buf, "JPEG", quality=95, exif=b"", icc_profile=icc)
        return buf.getvalue(), "image/jpeg", "jpg"
    return buf.getvalue(), content_type, ext


def _webp_is_lossless(data: bytes) -> bool:
    pos = 12  # after "RIFF" <size> "WEBP"
    while pos + 8 <= len(data):
        fourcc, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8L"
        pos += 8 + size + (size & 1)
    return False


def _fit(size: tuple[int, int], max_px: int) -> tuple[int, int]:
    """*size* scaled down (never up) to fit a max_px square, keeping the aspect ratio."""
    width, height = size
    if width <= max_px and height <= max_px:
        return size
    if width >= height:
        return max_px, max(1, round(height * max_px / width))
    return max(1, round(width * max_px / height)), max_px


def _display_copy(im: Image.Image, max_px: int) -> bytes:
    """A small JPEG of an upright image; resized before any colour conversion, so no second
    full-size bitmap is made for ordinary RGB/RGBA/grey photos."""
    # A CMYK or grey ICC profile would be wrong on RGB output, so only RGB profiles travel.
    icc = im.info.get("icc_profile") if im.mode in ("RGB", "RGBA") else None
    transparent = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if im.mode not in ("RGB", "RGBA", "L", "LA"):
        # Palette and 1-bit images would be resized nearest-neighbour; odd modes cannot be.
        im = im.convert("RGBA" if transparent else "RGB")
    shown = im.resize(_fit(im.size, max_px), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if transparent:
        # JPEG has no alpha; plain convert("RGB") turns transparent areas black.
        rgba = shown.convert("RGBA")
        shown = Image.new("RGB", rgba.size, "white")
        shown.paste(rgba, mask=rgba.getchannel("A"))
    else:
        shown = shown.convert("RGB")
    buf = io.BytesIO()
    _bare(shown).save(buf, "JPEG", quality=85, optimize=True, exif=b"", icc_profile=icc)
    return buf.getvalue()


def _clean_jpeg(headers: list[bytes], scans: bytes, orientation: int) -> bytes:
    """Rebuild the JPEG around its untouched scan data with location metadata removed."""
    exif_payload = next((seg[4:] for seg in headers if seg[1] == 0xE1 and seg[4:10] == b"Exif\x00\x00"), None)
    kept = [seg for seg in headers if _keep_segment(seg)]
    exif = _exif_without_gps(exif_payload, orientation)
    if exif is not None:
        at = 1 if kept and kept[0][1] == 0xE0 else 0  # JFIF APP0 must stay first
        kept.insert(at, b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif)
    return b"\xff\xd8" + b"".join(kept) + scans


def _keep_segment(seg: bytes) -> bool:
    marker = seg[1]
    if 0xE0 <= marker <= 0xEF:
        return any(marker == m and seg[4:].startswith(sig) for m, sig in _JPEG_KEEP_APP)
    return marker != 0xFE  # COM


def _split_jpeg(data: bytes) -> tuple[list[bytes], bytes, int]:
    """Split into (segments before the first scan, scans through EOI, number of scans). Bytes
    after the primary image's EOI (MPF secondary images with their own EXIF, appended
    payloads) go."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    headers: list[bytes] = []
    pos, scan_start, scan_count = 2, None, 0
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise ValueError("malformed JPEG marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9 and scan_start is not None:
            return headers, data[scan_start : pos + 2], scan_count
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError("malformed JPEG segment")
        if marker == 0xDA:
            scan_start = pos if scan_start is None else scan_start
            scan_count += 1
            found = _JPEG_MARKER.search(data, pos + 2 + length)
            if found is None:
                raise ValueError("JPEG has no end marker")
            pos = found.start()
            continue
        if scan_start is None:
            headers.append(data[pos : pos + 2 + length])
        pos += 2 + length


def _exif_without_gps(payload: bytes | None, orientation: int) -> bytes | None:
    dumped = None
    if payload is not None and payload[6:8] in (b"II", b"MM"):
        try:
            exif = piexif.load(payload[6:])
            exif["GPS"] = {}
            exif["0th"].pop(piexif.ImageIFD.GPSTag, None)
            dumped = piexif.dump(exif)
        except Exception:
            dumped = None  # piexif raises assorted errors on odd vendor EXIF
    if dumped is not None and len(dumped) + 2 <= 0xFFFF:
        return dumped
    # Unparseable (or no) EXIF: drop it all but keep orientation, or the photo shows sideways.
    if orientation in range(2, 9):
        return piexif.dump({"0th": {piexif.ImageIFD.Orientation: orientation}})
    return None


def _fresh_stem(upload_dir: Path, ext: str) -> str:
    # uuid4 collisions are practically impossible; checking makes "never overwrite" literal
    # (os.replace in _write_new would otherwise clobber silently).
    while True:
        stem = uuid.uuid4().hex
        if not (upload_dir / f"{stem}.{ext}").exists() and not (upload_dir / f"{stem}_display.jpg").exists():
            return stem


def _write_new(target: Path, payload: bytes) -> None:
    # Temp file in the same directory so os.replace is an atomic rename: readers see
    # either nothing or the complete file, never a partial write.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _sanitise_name(client_name: str) -> str:
    # Browsers on Windows may send a full path; keep the last component only.
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", client_name or "")[-1])
    # Cf covers bidi overrides ("gpj.exe" shown as "exe.jpg"); Cc/Cs/Zl/Zp break display.
    base = "".join(
        ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
    ).strip()
    if base in ("", ".", ".."):
        return "未命名文件"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        keep_ext = dot and stem and 0 < len(ext) <= 10
        base = f"{stem[: 199 - len(ext)]}.{ext}" if keep_ext else base[:200]
    return base
