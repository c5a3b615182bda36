"""Evidence files made in memory for the tests: photos, compound (OLE2) files, PDFs."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from typing import Any

import piexif
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

# --- photos ---------------------------------------------------------------------------


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    # Non-uniform pixels, so "pixels unchanged" and rotation checks mean something.
    im = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (im, im.transpose(Image.Transpose.ROTATE_90).resize(size), im)).convert(mode)


def picture(size: tuple[int, int], mode: str = "RGB", colour: Any = None) -> Image.Image:
    """A gradient, or one *colour* (a name or a tuple in *mode*) when the pixels do not matter
    or must all be the same."""
    return gradient(size, mode) if colour is None else Image.new(mode, size, colour)


def jpeg(
    size: tuple[int, int] = (64, 48), exif: dict | None = None, colour: Any = None, **save: Any
) -> bytes:
    """A photo as uploaded evidence: any test that needs "a JPEG" takes it from here."""
    buf = io.BytesIO()
    kwargs = {"exif": piexif.dump(exif)} if exif else {}
    picture(size, colour=colour).save(buf, "JPEG", quality=90, **kwargs, **save)
    return buf.getvalue()


def image_bytes(
    fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", colour: Any = None, **save: Any
) -> bytes:
    buf = io.BytesIO()
    picture(size, mode, colour).save(buf, fmt, **save)
    return buf.getvalue()


# --- OLE2 compound files --------------------------------------------------------------

_SECTOR = 512
_FREE, _END, _FAT, _NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_MINI_CUTOFF = 4096


def ole2(streams: dict[str, bytes]) -> bytes:
    """A minimal but valid compound file (version 3, 512-byte sectors) holding *streams*, named
    by path ("Macros/VBA/dir"); storages follow from the paths. Each stream is padded with
    zeros to the mini-stream cutoff, so everything lives in ordinary sectors."""
    # Directory tree: [name, type, children, data]; type 5 root, 1 storage, 2 stream.
    root: list[Any] = ["Root Entry", 5, {}, b""]
    for path, data in streams.items():
        node = root
        *folders, leaf = path.split("/")
        for folder in folders:
            node = node[2].setdefault(folder, [folder, 1, {}, b""])
        node[2][leaf] = [leaf, 2, {}, data.ljust(_MINI_CUTOFF, b"\x00")]
    entries: list[list[Any]] = []
    right: list[int] = []  # each entry's right sibling
    child: list[int] = []  # each storage's first child

    def place(node: list[Any]) -> int:
        index = len(entries)
        entries.append(node)
        right.append(_NONE)
        child.append(_NONE)
        # Siblings as a right-leaning chain, in the format's order (length, then upper case).
        kids = sorted(node[2].values(), key=lambda kid: (len(kid[0]), kid[0].upper()))
        ids = [place(kid) for kid in kids]
        for this, following in itertools.pairwise(ids):
            right[this] = following
        if ids:
            child[index] = ids[0]
        return index

    place(root)
    # Sector layout: FAT sectors, directory sectors, then each stream's sectors in turn.
    dir_sectors = -(-len(entries) * 128 // _SECTOR)
    data_sectors = [-(-len(node[3]) // _SECTOR) for node in entries]
    fat_sectors = 1
    while fat_sectors * (_SECTOR // 4) < fat_sectors + dir_sectors + sum(data_sectors):
        fat_sectors += 1
    fat = [_FAT] * fat_sectors
    first_dir = len(fat)
    fat += [*range(first_dir + 1, first_dir + dir_sectors), _END]
    starts = []
    for count in data_sectors:
        starts.append(len(fat) if count else _END)
        fat += [*range(len(fat) + 1, len(fat) + count), _END] if count else []
    fat += [_FREE] * (fat_sectors * (_SECTOR // 4) - len(fat))

    directory = b""
    for index, (name, kind, _kids, data) in enumerate(entries):
        encoded = name.encode("utf-16-le")
        directory += (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded) + 2, kind, 1)
            + struct.pack("<III", _NONE, right[index], child[index])
            + b"\x00" * 36  # CLSID, state bits, creation and modification times
            + struct.pack("<III", starts[index] if kind == 2 else (_END if kind == 5 else 0), len(data), 0)
        )
    directory = directory.ljust(dir_sectors * _SECTOR, b"\x00")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, fat_sectors, first_dir, 0, _MINI_CUTOFF, _END, 0, _END, 0)
        + struct.pack(f"<{fat_sectors}I", *range(fat_sectors))
        + struct.pack("<I", _FREE) * (109 - fat_sectors)
    )
    body = struct.pack(f"<{len(fat)}I", *fat) + directory
    body += b"".join(node[3].ljust(-(-len(node[3]) // _SECTOR) * _SECTOR, b"\x00") for node in entries)
    return header + body


def biff_workbook(sheet_type: int = 0, encrypted: bool = False) -> bytes:
    """An Excel workbook stream's globals: BOF, [FILEPASS], one BOUNDSHEET of *sheet_type*, EOF."""

    def record(kind: int, body: bytes) -> bytes:
        return struct.pack("<HH", kind, len(body)) + body

    name = b"\x06\x00Sheet1"  # length, 8-bit flag, characters
    return (
        record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
        + (record(0x002F, b"\x01\x00" + b"\x00" * 52) if encrypted else b"")
        + record(0x0085, struct.pack("<IBB", 0, 0, sheet_type) + name)
        + record(0x000A, b"")
    )


# --- PDFs -----------------------------------------------------------------------------


def pdf(pages: int = 1, change: Any = None) -> bytes:
    """A PDF of blank pages from pypdf's writer; *change(writer)* may add to it first."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    if change is not None:
        change(writer)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def action(kind: str, **entries: Any) -> DictionaryObject:
    result = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        result[NameObject(f"/{key}")] = value
    return result


def link(action_dict: DictionaryObject | None = None, **entries: Any) -> DictionaryObject:
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (0, 0, 50, 50)]),
        }
    )
    if action_dict is not None:
        annotation[NameObject("/A")] = action_dict
    for key, value in entries.items():
        annotation[NameObject(f"/{key}")] = value
    return annotation


def js(code: str = "app.alert(1)") -> TextStringObject:
    return TextStringObject(code)


def pdf_with_object_stream(annotation_action: bytes | None) -> bytes:
    """A hand-written PDF 1.5 whose catalog, pages, page, link and its action all sit inside one
    FlateDecode-compressed object stream, indexed by a cross-reference stream: nothing about
    them is visible in the raw bytes. *annotation_action* is the link's action dictionary."""
    objects = {
        2: b"<< /Type /Catalog /Pages 3 0 R >>",
        3: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        4: b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 200 200] /Annots [5 0 R] >>",
        5: b"<< /Type /Annot /Subtype /Link /Rect [0 0 50 50]"
        + (b" /A 6 0 R" if annotation_action is not None else b"")
        + b" >>",
        6: annotation_action or b"<< /S /GoTo /D [4 0 R /Fit] >>",
    }
    offsets, bodies, at = [], b"", 0
    for number, body in objects.items():
        offsets.append(f"{number} {at}")
        bodies += body + b"\n"
        at += len(body) + 1
    index = (" ".join(offsets) + "\n").encode()
    packed = zlib.compress(index + bodies)
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    stream_at = len(out)
    out += (
        f"1 0 obj\n<< /Type /ObjStm /N {len(objects)} /First {len(index)} /Filter /FlateDecode "
        f"/Length {len(packed)} >>\nstream\n".encode()
        + packed
        + b"\nendstream\nendobj\n"
    )
    xref_at = len(out)
    rows = [struct.pack(">BIH", 0, 0, 0xFFFF), struct.pack(">BIH", 1, stream_at, 0)]
    rows += [struct.pack(">BIH", 2, 1, i) for i in range(len(objects))]
    rows.append(struct.pack(">BIH", 1, xref_at, 0))
    table = b"".join(rows)
    out += (
        f"7 0 obj\n<< /Type /XRef /Size 8 /W [1 4 2] /Root 2 0 R /Length {len(table)} >>\nstream\n".encode()
        + table
        + b"\nendstream\nendobj\n"
    )
    return out + f"startxref\n{xref_at}\n%%EOF\n".encode()
