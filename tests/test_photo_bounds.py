"""Uploads are decoded in bounded time and memory: decompression bombs refused from the header,
phone JPEGs up to 200 megapixels reduced at decode; HEIC loses XMP too and may hide no payload."""

import io
import json
import struct
import subprocess
import sys
import zlib

import pytest
from PIL import Image

from gridgov.issues.photos import PhotoError, PhotoTooLarge, clean_photo

MEASURE = """
import json, resource, sys, time
from gridgov.issues.photos import PhotoError, clean_photo

def peak_mb():  # this process's own high-water mark (ru_maxrss can carry the parent's over exec)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024

data = open(sys.argv[1], "rb").read()
base_mb = peak_mb()
before = resource.getrusage(resource.RUSAGE_SELF)
try:
    content_type, out = clean_photo(data)
    from PIL import Image
    import io
    result = {"size": Image.open(io.BytesIO(out)).size}
except PhotoError as exc:
    result = {"refused": type(exc).__name__}
after = resource.getrusage(resource.RUSAGE_SELF)
result["cpu_s"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
result["extra_mb"] = peak_mb() - base_mb
print(json.dumps(result))
"""


def png_bomb(width: int = 13000, height: int = 13000) -> bytes:
    """A valid all-black PNG of 169 megapixels in well under a megabyte."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    compressor = zlib.compressobj(1)
    rows = (b"\0" + bytes(width * 3)) * 100
    idat = b"".join(compressor.compress(rows) for _ in range(height // 100)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def smooth_jpeg(width: int, height: int, **options) -> bytes:
    gradient = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    files = {"bomb.png": png_bomb(), "phone-200mp.jpg": smooth_jpeg(16384, 12207)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def measure(path) -> dict:
    """clean_photo in a fresh process: CPU seconds and peak memory beyond what reading the file took."""
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(run.stdout)


def test_png_bomb_is_refused_from_its_header_in_bounded_time_and_memory(samples):
    assert (samples / "bomb.png").stat().st_size < 10 * 1024 * 1024  # within the upload limit
    result = measure(samples / "bomb.png")
    print("13000×13000 PNG:", result)
    assert result["refused"] == "PhotoTooLarge"
    assert result["cpu_s"] < 2 and result["extra_mb"] < 200


def test_200_megapixel_phone_jpeg_is_reduced_at_decode(samples):
    assert (samples / "phone-200mp.jpg").stat().st_size < 10 * 1024 * 1024
    result = measure(samples / "phone-200mp.jpg")
    print("16384×12207 JPEG:", result)
    assert max(result["size"]) == 4096  # 1/4 scale: 4096×3051
    assert result["cpu_s"] < 2 and result["extra_mb"] < 200


def test_over_large_uploads_answer_413_before_decoding(client, make_user, auth_headers, samples):
    h = auth_headers(make_user(roles=["grid_worker"]), "en")

    def upload(data):
        return client.post(
            "/api/v1/uploads",
            data={"file": (io.BytesIO(data), "p")},
            headers=h,
            content_type="multipart/form-data",
        )

    bomb = upload((samples / "bomb.png").read_bytes())
    assert bomb.status_code == 413 and "too many pixels" in bomb.get_json()["message"]
    big = upload((samples / "phone-200mp.jpg").read_bytes())
    assert big.status_code == 201
    stored = client.get(f"/api/v1/uploads/{big.get_json()['id']}", headers=h)
    assert max(Image.open(io.BytesIO(stored.data)).size) <= 4096
    progressive = upload(smooth_jpeg(6000, 4500, progressive=True))  # 27 MP, all coefficients in memory
    assert progressive.status_code == 413


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><exif:GPSLatitude>33,45N</exif:GPSLatitude></rdf:RDF></x:xmpmeta>'
EXIF = b"Exif\x00\x00MM\x00*GPS 33.7500N 113.2000E"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes) -> bytes:
    return box(kind, bytes(4) + payload)


def heic(items: list[tuple[bytes, bytes, bytes]], mdat_extra: bytes = b"") -> bytes:
    """A HEIF whose items (type, content type for `mime`, data) are stored in mdat, in order."""

    def infe(item_id, item_type, content_type):
        tail = b"\x00" + (content_type + b"\x00" if item_type == b"mime" else b"")
        return box(b"infe", bytes([2, 0, 0, 0]) + struct.pack(">HH", item_id, 0) + item_type + tail)

    ftyp = box(b"ftyp", b"heic" + bytes(4) + b"mif1heic")
    iinf = full_box(
        b"iinf",
        struct.pack(">H", len(items)) + b"".join(infe(i + 1, t, c) for i, (t, c, _) in enumerate(items)),
    )

    def meta(start):
        entries, offset = b"", start
        for i, (_, _, data) in enumerate(items):
            entries += struct.pack(">HHHII", i + 1, 0, 1, offset, len(data))
            offset += len(data)
        return full_box(
            b"meta", iinf + full_box(b"iloc", bytes([0x44, 0x00]) + struct.pack(">H", len(items)) + entries)
        )

    start = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(start) + box(b"mdat", b"".join(d for _, _, d in items) + mdat_extra)


PICTURE = (b"hvc1", b"", b"\x11" * 64)


def test_heic_xmp_is_removed_with_the_exif():
    data = heic([PICTURE, (b"Exif", b"", EXIF), (b"mime", b"application/rdf+xml", XMP)])
    content_type, cleaned = clean_photo(data)
    assert content_type == "image/heic" and len(cleaned) == len(data)
    assert b"33,45N" not in cleaned and b"xmpmeta" not in cleaned and b"113.2000E" not in cleaned
    assert PICTURE[2] in cleaned


def test_heic_with_an_appended_or_hidden_payload_is_refused():
    clean = heic([PICTURE, (b"Exif", b"", EXIF)])
    assert clean_photo(clean)[0] == "image/heic"
    zip_payload = b"PK\x03\x04" + b"hidden archive" * 4
    for bad in (
        clean + zip_payload,  # bytes after the last box
        clean + box(b"uuid", zip_payload),  # a box a still image does not have
        heic([PICTURE, (b"Exif", b"", EXIF)], mdat_extra=zip_payload),  # media data no item uses
    ):
        with pytest.raises(PhotoError):
            clean_photo(bad)
    assert clean_photo(heic([PICTURE], mdat_extra=bytes(16)))[0] == "image/heic"  # zero padding is fine
    with pytest.raises(PhotoTooLarge):
        clean_photo(png_bomb(5000, 5000))
