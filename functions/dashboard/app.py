"""GET / (the live dashboard page) and GET /dashboard/{version}/{asset} (its scripts, styles and icon).

The page is public; the data is not: the page asks for a token and sends it to the HTTP API (as an
`Authorization` header) and to the WebSocket API (in the query string, which browsers cannot avoid).

Everything is read once per cold start from `static/` beside this file: the page is rendered with
the WebSocket URL (`WEBSOCKET_URL`) and a version, the hash of every asset. Assets are addressed
under that version (`dashboard/<version>/app.js`; the modules import each other relatively, so
they share it), so they are cached for a year as immutable and a deploy changes every URL. The
page itself is revalidated on every load (ETag, 304).

Every answer carries a strict Content-Security-Policy: scripts, styles and fetches from this
origin only, plus the WebSocket's origin for `connect-src`; no inline script; no framing;
Trusted Types required, so a stray `innerHTML` in the page's code throws instead of injecting.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_events.observability import logger

STATIC = Path(__file__).resolve().parent / "static"
PAGE = "index.html"
PAGE_ROUTE = "GET /"
ASSET_ROUTE = "GET /dashboard/{version}/{asset}"
WEBSOCKET_URL_ENV = "WEBSOCKET_URL"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Worth compressing: text. (API Gateway does not compress HTTP API answers itself.)
_COMPRESSIBLE = (".js", ".css", ".svg", ".html")
_MIN_COMPRESS_BYTES = 1024
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"
# An asset asked for under another version (a page loaded before a deploy): the current file, not cached.
STALE_ASSET_CACHE = "no-cache"
_ERROR_CACHE = "no-store"
# What may stand in a CSP source expression: a host name or IP literal and a port, no user info.
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class File:
    body: bytes
    content_type: str
    etag: str
    gzipped: bytes | None = None

    @classmethod
    def of(cls, body: bytes, content_type: str, compress: bool) -> File:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        gzipped = (
            gzip.compress(body, compresslevel=9, mtime=0) if compress and len(body) >= _MIN_COMPRESS_BYTES else None
        )
        return cls(body, content_type, etag, gzipped if gzipped is not None and len(gzipped) < len(body) else None)


@dataclass(frozen=True)
class Site:
    page: File
    assets: dict[str, File]
    version: str
    websocket_url: str
    security_headers: dict[str, str]


def websocket_origin(url: str) -> str | None:
    """`wss://host[:port]` of a ws:// or wss:// URL; None if it is not one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("ws", "wss") or not _HOST.fullmatch(parts.netloc) or any(c.isspace() for c in url):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(websocket_url: str) -> str:
    origin = websocket_origin(websocket_url)
    connect = "'self'" + (f" {origin}" if origin else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            # The token form is handled by the page's script; nothing is ever submitted to a URL.
            "form-action 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )


def security_headers(websocket_url: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(websocket_url),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "Strict-Transport-Security": "max-age=31536000",
    }


def load_site(static: Path = STATIC, websocket_url: str = "") -> Site:
    """The page and its assets, from `static`; the page rendered with the version and WebSocket URL."""
    assets: dict[str, File] = {}
    digest = hashlib.sha256()
    for path in sorted(static.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if not path.is_file() or content_type is None or path.name.startswith("."):
            continue
        body = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + body + b"\0")
        assets[path.name] = File.of(body, content_type, path.suffix in _COMPRESSIBLE)
    version = digest.hexdigest()[:16]
    if websocket_url and websocket_origin(websocket_url) is None:
        logger.warning("WEBSOCKET_URL is not a ws:// or wss:// URL: the page will show no live events")
        websocket_url = ""
    template = (static / PAGE).read_text(encoding="utf-8")
    page = template.replace("{{version}}", version).replace("{{websocket_url}}", html.escape(websocket_url, quote=True))
    return Site(
        page=File.of(page.encode(), "text/html; charset=utf-8", compress=True),
        assets=assets,
        version=version,
        websocket_url=websocket_url,
        security_headers=security_headers(websocket_url),
    )


@cache
def site() -> Site:
    """Read once per cold start."""
    return load_site(STATIC, os.environ.get(WEBSOCKET_URL_ENV, ""))


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}


def _accepts_gzip(headers: dict[str, str]) -> bool:
    for part in headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*") and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00"):
            return True
    return False


def _not_modified(headers: dict[str, str], etag: str) -> bool:
    wanted = headers.get("if-none-match", "")
    return wanted.strip() == "*" or etag in {tag.strip().removeprefix("W/") for tag in wanted.split(",")}


def file_response(file: File, event: dict[str, Any], cache_control: str) -> dict[str, Any]:
    headers = _headers(event)
    answer_headers = {
        **site().security_headers,
        "Content-Type": file.content_type,
        "Cache-Control": cache_control,
        "ETag": file.etag,
        "Vary": "Accept-Encoding",
    }
    if _not_modified(headers, file.etag):
        return {"statusCode": 304, "headers": answer_headers, "body": ""}
    if file.gzipped is not None and _accepts_gzip(headers):
        return {
            "statusCode": 200,
            "headers": {**answer_headers, "Content-Encoding": "gzip"},
            "body": base64.b64encode(file.gzipped).decode(),
            "isBase64Encoded": True,
        }
    if file.content_type.startswith(("text/", "image/svg")):
        return {"statusCode": 200, "headers": answer_headers, "body": file.body.decode("utf-8")}
    return {
        "statusCode": 200,
        "headers": answer_headers,
        "body": base64.b64encode(file.body).decode(),
        "isBase64Encoded": True,
    }


def error_response(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            **site().security_headers,
            "Content-Type": "application/json",
            "Cache-Control": _ERROR_CACHE,
        },
        "body": json.dumps({"error": code, "message": message}, separators=(",", ":")),
    }


def page(event: dict[str, Any]) -> dict[str, Any]:
    raw_path = str(event.get("rawPath") or "/")
    if not raw_path.endswith("/"):
        # In AWS the page is at /<stage>/: without the slash, its relative URLs would miss the stage.
        query = str(event.get("rawQueryString") or "")
        location = raw_path + "/" + (f"?{query}" if query else "")
        return {
            "statusCode": 308,
            "headers": {**site().security_headers, "Location": location, "Cache-Control": PAGE_CACHE},
            "body": "",
        }
    return file_response(site().page, event, PAGE_CACHE)


def asset(event: dict[str, Any]) -> dict[str, Any]:
    parameters = event.get("pathParameters") or {}
    name = str(parameters.get("asset") or "")
    current = site()
    # Only the files read at cold start, by exact name: nothing else on disk is reachable.
    file = current.assets.get(name) if name != PAGE else None
    if file is None:
        return error_response(404, "not_found", "no such dashboard file")
    cache_control = ASSET_CACHE if parameters.get("version") == current.version else STALE_ASSET_CACHE
    return file_response(file, event, cache_control)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route = str(event.get("routeKey") or "")
    if route == PAGE_ROUTE:
        answer = page(event)
    elif route == ASSET_ROUTE:
        answer = asset(event)
    else:
        answer = error_response(404, "not_found", "no such route")
    logger.debug("dashboard answer", extra={"route": route, "status": answer["statusCode"]})
    return answer
