"""Photos from phones: the type recognised by content, location metadata removed. No Flask import.

JPEG, PNG and WebP are re-saved by Pillow without their GPS data (other EXIF, such as the
orientation, is kept). HEIC, which Pillow cannot decode without GPL codecs, is edited in place:
the EXIF and XMP items that the ISO base media file format points to are overwritten with zeros,
so the picture itself is untouched and no location remains; a file with boxes or bytes no item
accounts for (a payload appended or hidden in the media data) is refused.

Decoding is bounded before it starts, from the header's size: a phone JPEG of up to 200
megapixels is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (`draft`) and kept at most
4096 px on its long side; PNG beyond 16, WebP beyond 8 and progressive JPEG beyond 24 megapixels
(libjpeg holds all of its coefficients) are refused undecoded. A 13000×13000 PNG of 492 KB is
thus refused in milliseconds instead of taking half a minute and a gigabyte.
"""

from __future__ import annotations

import io
import struct

from PIL import Image

GPS_IFD = 0x8825
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
HEIF_TOP_BOXES = {b"ftyp", b"meta", b"mdat", b"free", b"skip"}
XMP_TYPES = {b"application/rdf+xml", b"application/xmp+xml"}
XMP_MARKERS = (b"<x:xmpmeta", b"http://ns.adobe.com/xap/1.0/", b"<rdf:RDF")
JPEG_MAX_PIXELS = 200_000_000  # the largest phone sensors; decoded at reduced scale
# Decoded in full, so kept to what fits 200 MB and a second (measured: a 16 MP PNG about 110 MB,
# an 8 MP WebP about 140 MB, as libwebp decodes to RGBA twice over; a 24 MP progressive JPEG 95 MB).
FULL_DECODE_MAX_PIXELS = {"PNG": 16_000_000, "WEBP": 8_000_000, "progressive JPEG": 24_000_000}
LONG_SIDE = 4096

# Pillow's own guard stays as a backstop (it refuses twice this); ours below answers first.
Image.MAX_IMAGE_PIXELS = JPEG_MAX_PIXELS


class PhotoError(ValueError):
    """Not a photo we accept, or one we cannot clean."""


class PhotoTooLarge(PhotoError):
    """More pixels than we decode; refused from the header, before decoding."""


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


def _open_bounded(data: bytes, fmt: str) -> Image.Image:
    """The decoded image, refused from its header when too large; JPEGs decoded at reduced scale."""
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise PhotoTooLarge(f"more than {JPEG_MAX_PIXELS // 1_000_000} megapixels") from exc
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a usable photo"
        raise PhotoError("the image cannot be read") from exc
    width, height = image.size
    progressive = fmt == "JPEG" and bool(image.info.get("progressive"))
    kind = "progressive JPEG" if progressive else fmt
    limit = FULL_DECODE_MAX_PIXELS.get(kind, JPEG_MAX_PIXELS)
    if width * height > limit:
        raise PhotoTooLarge(f"{width}×{height} is more than {limit // 1_000_000} megapixels for {kind}")
    if fmt == "JPEG":
        # The least reduction that decodes at most LONG_SIDE² pixels (50 MB in RGB).
        scale = next(s for s in (1, 2, 4, 8) if s == 8 or (width // s) * (height // s) <= LONG_SIDE**2)
        if scale > 1:
            image.draft(image.mode, (width // scale, height // scale))  # libjpeg's DCT scaling
    try:
        image.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a usable photo"
        raise PhotoError("the image cannot be read") from exc
    if max(image.size) > LONG_SIDE:
        image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    return image


def _strip_with_pillow(data: bytes, fmt: str) -> bytes:
    image = _open_bounded(data, fmt)
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


def _heif_layout(data: bytes) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(extents of the EXIF and XMP items, extents of every item stored in the file).

    Refuses top-level boxes a still HEIF image does not have, which is where appended payloads sit.
    """
    top = list(_boxes(data, 0, len(data)))
    if (top[-1][2] if top else 0) != len(data):
        raise PhotoError("bytes after the last HEIF box")
    foreign = sorted({k.decode("latin-1") for k, _, _ in top} - {k.decode() for k in HEIF_TOP_BOXES})
    if foreign:
        raise PhotoError(f"unexpected HEIF boxes {foreign}")
    meta = next(((s, e) for k, s, e in top if k == b"meta"), None)
    if meta is None:
        return [], []
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
                    elif item_type == b"mime":  # item_name, then content_type, each NUL-terminated
                        name_end = data.find(b"\0", cs + 4 + id_size + 6, e)
                        type_end = data.find(b"\0", name_end + 1, e) if name_end >= 0 else -1
                        content_type = data[name_end + 1 : type_end if type_end >= 0 else e]
                        if content_type.strip().lower() in XMP_TYPES:
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
    metadata = [span for item in exif_items for span in extents.get(item, [])]
    _refuse_unaccounted_media(data, top, [span for spans in extents.values() for span in spans])
    return metadata, [span for spans in extents.values() for span in spans]


def _refuse_unaccounted_media(data: bytes, top: list, spans: list[tuple[int, int]]) -> None:
    """Every non-zero byte of the media data belongs to an item; anything else is a hidden payload."""
    covered = sorted((offset, offset + length) for offset, length in spans)
    for kind, start, end in top:
        if kind != b"mdat":
            continue
        pos = start
        for span_start, span_end in covered:
            if span_end <= pos or span_start >= end:
                continue
            if span_start > pos and data[pos:span_start].strip(b"\0"):
                raise PhotoError("data in the HEIF media box that no item accounts for")
            pos = max(pos, span_end)
        if pos < end and data[pos:end].strip(b"\0"):
            raise PhotoError("data in the HEIF media box that no item accounts for")


def _strip_heif(data: bytes) -> bytes:
    cleaned = bytearray(data)
    metadata, _ = _heif_layout(data)
    for offset, length in metadata:
        if offset + length > len(cleaned):
            raise PhotoError("HEIF metadata item outside the file")
        cleaned[offset : offset + length] = bytes(length)
    if b"Exif\x00\x00MM\x00*" in cleaned or b"Exif\x00\x00II*\x00" in cleaned:
        # An EXIF payload we could not place: refuse the photo rather than keep a location.
        raise PhotoError("the HEIC metadata could not be removed")
    if any(marker in cleaned for marker in XMP_MARKERS):
        raise PhotoError("the HEIC XMP metadata could not be removed")
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
