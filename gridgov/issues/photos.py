"""Photos from phones: the type recognised by content, location metadata removed. No Flask import.

JPEG, PNG and WebP are re-saved by Pillow without their GPS data (other EXIF, such as the
orientation, is kept). HEIC, which Pillow cannot decode without GPL codecs, is edited in place:
the EXIF item that the ISO base media file format points to is overwritten with zeros, so the
picture itself is untouched and no location remains.
"""

from __future__ import annotations

import io
import struct

from PIL import Image

GPS_IFD = 0x8825
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


class PhotoError(ValueError):
    """Not a photo we accept, or one we cannot clean."""


def sniff(data: bytes) -> str | None:
    """The content type by the file's first bytes, whatever its name says."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "image/heic"
    return None


def _strip_with_pillow(data: bytes, fmt: str) -> bytes:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a usable photo"
        raise PhotoError("the image cannot be read") from exc
    exif = image.getexif()
    if GPS_IFD in exif:
        del exif[GPS_IFD]
    out = io.BytesIO()
    options = {"exif": exif.tobytes()} if len(exif) else {}
    if fmt == "JPEG":
        options.update(quality=92, icc_profile=image.info.get("icc_profile"))
    image.save(out, fmt, **options)
    return out.getvalue()


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise PhotoError("broken HEIF box")
        yield kind, pos + header, pos + size
        pos += size


def _heif_exif_extents(data: bytes) -> list[tuple[int, int]]:
    meta = next(((s, e) for k, s, e in _boxes(data, 0, len(data)) if k == b"meta"), None)
    if meta is None:
        return []
    start, end = meta[0] + 4, meta[1]  # meta is a full box: skip version and flags
    exif_items: set[int] = set()
    extents: dict[int, list[tuple[int, int]]] = {}
    for kind, s, e in _boxes(data, start, end):
        if kind == b"iinf":
            version = data[s]
            count_size = 2 if version == 0 else 4
            pos = s + 4 + count_size
            for child, cs, _ in _boxes(data, pos, e):
                if child == b"infe" and data[cs] >= 2:
                    id_size = 2 if data[cs] == 2 else 4
                    item_id = int.from_bytes(data[cs + 4 : cs + 4 + id_size], "big")
                    item_type = data[cs + 4 + id_size + 2 : cs + 4 + id_size + 6]
                    if item_type == b"Exif":
                        exif_items.add(item_id)
        elif kind == b"iloc":
            version = data[s]
            sizes = data[s + 4], data[s + 5]
            offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
            base_size, index_size = sizes[1] >> 4, (sizes[1] & 15) if version in (1, 2) else 0
            pos = s + 6
            count_len = 2 if version < 2 else 4
            count = int.from_bytes(data[pos : pos + count_len], "big")
            pos += count_len

            def read(n):
                nonlocal pos
                value = int.from_bytes(data[pos : pos + n], "big") if n else 0
                pos += n
                return value

            for _ in range(count):
                item_id = read(2 if version < 2 else 4)
                method = read(2) & 15 if version in (1, 2) else 0
                read(2)  # data reference index
                base = read(base_size)
                spans = []
                for _ in range(read(2)):
                    read(index_size)
                    spans.append((base + read(offset_size), read(length_size)))
                if method == 0:
                    extents[item_id] = spans
    return [span for item in exif_items for span in extents.get(item, [])]


def _strip_heif(data: bytes) -> bytes:
    cleaned = bytearray(data)
    for offset, length in _heif_exif_extents(data):
        if offset + length > len(cleaned):
            raise PhotoError("HEIF EXIF item outside the file")
        cleaned[offset : offset + length] = bytes(length)
    if b"Exif\x00\x00MM\x00*" in cleaned or b"Exif\x00\x00II*\x00" in cleaned:
        # An EXIF payload we could not place: refuse the photo rather than keep a location.
        raise PhotoError("the HEIC metadata could not be removed")
    return bytes(cleaned)


def clean_photo(data: bytes) -> tuple[str, bytes]:
    """(content type, bytes without location data) or PhotoError."""
    content_type = sniff(data)
    if content_type is None:
        raise PhotoError("not a JPEG, PNG, WebP or HEIC image")
    if content_type == "image/heic":
        return content_type, _strip_heif(data)
    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}[content_type]
    return content_type, _strip_with_pillow(data, fmt)
