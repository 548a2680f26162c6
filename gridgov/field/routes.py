"""The field app's shell: one page, its scripts and styles (gzip when asked), the service worker
and the web app manifest. No data lives here: the scripts read and write through /api/v1."""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import cache

from flask import Blueprint, Response, abort, render_template, request, url_for

bp = Blueprint("field", __name__, url_prefix="/field", template_folder="templates")

HERE = os.path.dirname(__file__)
VENDOR = os.path.join(HERE, "..", "console", "static", "vendor")
# name in URLs → file on disk; nothing else is served (no path from the request reaches the disk).
ASSETS = {
    "app.js": os.path.join(HERE, "static", "app.js"),
    "store.js": os.path.join(HERE, "static", "store.js"),
    "field.css": os.path.join(HERE, "static", "field.css"),
    "icon-192.png": os.path.join(HERE, "static", "icons", "icon-192.png"),
    "icon-512.png": os.path.join(HERE, "static", "icons", "icon-512.png"),
    "leaflet.js": os.path.join(VENDOR, "leaflet", "leaflet.js"),
    "leaflet.css": os.path.join(VENDOR, "leaflet", "leaflet.css"),
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
SHELL_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",  # revalidated online; offline the service worker answers
}


@cache
def _asset(name: str) -> tuple[bytes, bytes, str]:
    """An asset's bytes, their gzip and a content hash (read once per process)."""
    with open(ASSETS[name], "rb") as handle:
        body = handle.read()
    return body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:16]


def _version() -> str:
    """One hash of every asset and the shell: a new release is a new service-worker cache."""
    digest = hashlib.sha256(render_template("field/shell.html").encode())
    for name in sorted(ASSETS):
        digest.update(_asset(name)[2].encode())
    return digest.hexdigest()[:16]


def _send(body: bytes, mimetype: str, compressed: bytes | None = None, etag: str | None = None):
    use_gzip = compressed is not None and "gzip" in request.headers.get("Accept-Encoding", "")
    if etag and etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(compressed if use_gzip else body, mimetype=mimetype)
        if use_gzip:
            response.headers["Content-Encoding"] = "gzip"
    response.headers.update(SHELL_HEADERS)
    response.headers["Vary"] = "Accept-Encoding"
    if etag:
        response.set_etag(etag)
    return response


def _text(body: str, mimetype: str):
    data = body.encode()
    return _send(data, mimetype, gzip.compress(data, 9, mtime=0), hashlib.sha256(data).hexdigest()[:16])


@bp.get("/")
def shell():
    """The app's one page; the same for everybody, so the service worker may keep it."""
    return _text(render_template("field/shell.html"), "text/html")


@bp.get("/assets/<name>")
def asset(name: str):
    if name not in ASSETS:
        abort(404)
    body, compressed, digest = _asset(name)
    mimetype = TYPES[os.path.splitext(name)[1]]
    return _send(body, mimetype, None if mimetype == "image/png" else compressed, digest)


def shell_urls() -> list[str]:
    """What the service worker precaches: the page and every asset it loads."""
    return [url_for("field.shell")] + [url_for("field.asset", name=name) for name in sorted(ASSETS)]


@bp.get("/sw.js")
def service_worker():
    """Served from /field/ so its scope is the app; precaches the shell under the release's hash."""
    response = _text(render_template("field/sw.js", version=_version(), urls=shell_urls()), "text/javascript")
    response.headers["Service-Worker-Allowed"] = url_for("field.shell")
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, start URL, standalone display and the icons that make it installable."""
    body = {
        "name": "网格通 gridgov 外勤",
        "short_name": "网格外勤",
        "description": "网格员与巡防队外勤：巡查、上报、任务、集市值守",
        "lang": "zh-CN",
        "start_url": url_for("field.shell"),
        "scope": url_for("field.shell"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#1565c0",
        "icons": [
            {
                "src": url_for("field.asset", name=f"icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in (192, 512)
        ],
    }
    from flask import json

    return _text(json.dumps(body, ensure_ascii=False), "application/manifest+json")
