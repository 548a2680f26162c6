"""Photo cleaning without Flask: content sniffing, and the HEIC EXIF item blanked in place."""

import struct

import pytest

from gridgov.issues.photos import PhotoError, clean_photo, sniff

GPS_EXIF = b"Exif\x00\x00MM\x00*GPS 33.7500N 113.2000E secret-location"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, version: int, payload: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + payload)


def heic(exif: bytes, picture: bytes = b"\x11" * 64) -> tuple[bytes, int]:
    """A minimal HEIF: an hvc1 picture item and an Exif item, both stored in mdat."""
    ftyp = box(b"ftyp", b"heic" + b"\x00\x00\x00\x00" + b"mif1heic")

    def infe(item_id: int, item_type: bytes) -> bytes:
        return full_box(b"infe", 2, struct.pack(">HH", item_id, 0) + item_type + b"\x00")

    iinf = full_box(b"iinf", 0, struct.pack(">H", 2) + infe(1, b"hvc1") + infe(2, b"Exif"))

    def iloc(offsets: dict[int, int]) -> bytes:
        entries = b"".join(
            struct.pack(">HHHII", item_id, 0, 1, offsets[item_id], length)
            for item_id, length in ((1, len(picture)), (2, len(exif)))
        )
        return full_box(b"iloc", 0, bytes([0x44, 0x00]) + struct.pack(">H", 2) + entries)

    meta_without = full_box(b"meta", 0, iinf + iloc({1: 0, 2: 0}))
    mdat_start = len(ftyp) + len(meta_without) + 8
    offsets = {1: mdat_start, 2: mdat_start + len(picture)}
    meta = full_box(b"meta", 0, iinf + iloc(offsets))
    data = ftyp + meta + box(b"mdat", picture + exif)
    return data, offsets[2]


def test_heic_exif_item_is_zeroed_and_the_picture_untouched():
    data, exif_at = heic(GPS_EXIF)
    assert sniff(data) == "image/heic" and GPS_EXIF in data
    content_type, cleaned = clean_photo(data)
    assert content_type == "image/heic" and len(cleaned) == len(data)
    assert b"secret-location" not in cleaned and b"113.2000E" not in cleaned
    assert cleaned[exif_at : exif_at + len(GPS_EXIF)] == bytes(len(GPS_EXIF))
    assert cleaned[:exif_at] == data[:exif_at]  # boxes and the picture are byte for byte the same


def test_broken_heif_is_refused_rather_than_stored_with_its_location():
    data, _ = heic(GPS_EXIF)
    bad_size = data[:36] + struct.pack(">I", 10_000_000) + data[40:]  # the iinf box claims to be huge
    with pytest.raises(PhotoError):
        clean_photo(bad_size)
    no_item_info = data[:40] + b"junk" + data[44:]  # the Exif item can no longer be found
    with pytest.raises(PhotoError):
        clean_photo(no_item_info)


def test_unknown_content_is_refused():
    assert sniff(b"GIF89a....") is None
    with pytest.raises(PhotoError):
        clean_photo(b"%PDF-1.7 not a photo")
