"""The dashboard function: the page, its assets, their headers, and what it refuses to serve."""

from __future__ import annotations

import base64
import gzip
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.apigw import http_api_event
from local.lambda_runtime import LambdaContext
from local.template import load
from tests.support.handlers import function_module

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "functions" / "dashboard"
STATIC = FUNCTION / "static"
WS_URL = "wss://abc123defg.execute-api.us-east-1.amazonaws.com/v1"
ASSET_ROUTE = "GET /dashboard/{version}/{asset}"


@pytest.fixture
def dashboard(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    module = function_module("dashboard")
    monkeypatch.setenv("WEBSOCKET_URL", WS_URL)
    module.site.cache_clear()
    yield module
    module.site.cache_clear()


def call(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = module.lambda_handler(event, LambdaContext(function_name="dashboard"))
    return answer


def get_page(module: ModuleType, *, stage: str = "$default", path: str = "/", **kwargs: Any) -> dict[str, Any]:
    event = http_api_event("GET", "/", stage=stage, route_key="GET /", **kwargs)
    if path != "/":
        event["rawPath"] = path
    return call(module, event)


def get_asset(module: ModuleType, version: str, name: str, **kwargs: Any) -> dict[str, Any]:
    event = http_api_event(
        "GET",
        f"/dashboard/{version}/{name}",
        route_key=ASSET_ROUTE,
        path_parameters={"version": version, "asset": name},
        **kwargs,
    )
    return call(module, event)


def body_of(answer: dict[str, Any]) -> bytes:
    body = answer["body"]
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    return gzip.decompress(data) if answer["headers"].get("Content-Encoding") == "gzip" else data


def test_page_carries_the_websocket_url_and_a_strict_policy(dashboard: ModuleType):
    # WHEN the page is asked for
    answer = get_page(dashboard)

    # THEN it is HTML that names the WebSocket and its versioned assets, and runs no inline script
    assert answer["statusCode"] == 200
    headers = answer["headers"]
    html = body_of(answer).decode()
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'<meta name="claude-events-websocket" content="{WS_URL}">' in html
    version = dashboard.site().version
    for name in ("app.js", "style.css", "favicon.svg"):
        assert f'"dashboard/{version}/{name}"' in html
    assert "{{" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
    assert not re.search(r"\sstyle=", html), "an inline style"
    # AND its policy allows this origin and the WebSocket's only, no framing, no inline script
    csp = headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self' wss://abc123defg.execute-api.us-east-1.amazonaws.com"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert directives["require-trusted-types-for"] == "'script'"
    assert "unsafe" not in csp
    # AND it is revalidated on every load, and safe to sniff-free, referrer-free
    assert headers["Cache-Control"] == "no-cache"
    assert headers["ETag"].startswith('"')
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


def test_page_under_a_stage_without_its_slash_is_redirected(dashboard: ModuleType):
    # GIVEN the page as API Gateway serves it under a stage: /v1 (no slash) and /v1/
    # WHEN both are asked for
    bare = get_page(dashboard, stage="v1", path="/v1", query="x=1")
    slashed = get_page(dashboard, stage="v1", path="/v1/")

    # THEN the bare one is sent to /v1/, so the page's relative URLs keep the stage
    assert bare["statusCode"] == 308
    assert bare["headers"]["Location"] == "/v1/?x=1"
    assert slashed["statusCode"] == 200


def test_every_asset_is_served_by_its_name_and_cached_for_good(dashboard: ModuleType):
    version = dashboard.site().version
    expected = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    files = [path for path in STATIC.iterdir() if path.suffix in expected]
    assert {path.name for path in files} >= {"app.js", "store.js", "api.js", "live.js", "chart.js", "dom.js"}
    for path in files:
        # WHEN each is asked for under the current version
        answer = get_asset(dashboard, version, path.name)

        # THEN it is the file, with its type, cached as immutable
        assert answer["statusCode"] == 200, path.name
        assert answer["headers"]["Content-Type"] == expected[path.suffix]
        assert answer["headers"]["Cache-Control"] == "public, max-age=31536000, immutable"
        assert body_of(answer) == path.read_bytes()


def test_an_asset_of_another_version_is_served_but_not_cached(dashboard: ModuleType):
    # GIVEN a page loaded before a deploy asks for its version of a file
    answer = get_asset(dashboard, "0123456789abcdef", "app.js")

    # THEN it gets today's file, revalidated, so no old URL holds new content for a year
    assert answer["statusCode"] == 200
    assert answer["headers"]["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("name", ["index.html", "app.py", "Makefile", "..", "../app.py", "%2e%2e", "", ".hidden.js"])
def test_nothing_but_the_assets_is_served(dashboard: ModuleType, name: str):
    # WHEN anything that is not an asset is asked for
    answer = get_asset(dashboard, dashboard.site().version, name)

    # THEN it is a JSON 404 that is not cached
    assert answer["statusCode"] == 404
    assert answer["headers"]["Content-Type"] == "application/json"
    assert answer["headers"]["Cache-Control"] == "no-store"


def test_unknown_route_is_404(dashboard: ModuleType):
    answer = call(dashboard, http_api_event("GET", "/other", route_key="GET /other"))
    assert answer["statusCode"] == 404


def test_unchanged_files_answer_304(dashboard: ModuleType):
    page = get_page(dashboard)
    etag = page["headers"]["ETag"]
    version = dashboard.site().version
    script = get_asset(dashboard, version, "app.js")

    # WHEN they are asked for again with their ETags (also weak, or in a list)
    again = get_page(dashboard, headers={"If-None-Match": etag})
    weak = get_page(dashboard, headers={"If-None-Match": f'"other", W/{etag}'})
    script_again = get_asset(dashboard, version, "app.js", headers={"If-None-Match": script["headers"]["ETag"]})
    changed = get_page(dashboard, headers={"If-None-Match": '"something-else"'})

    # THEN 304 with no body, unless the tag differs
    assert [answer["statusCode"] for answer in (again, weak, script_again, changed)] == [304, 304, 304, 200]
    assert again["body"] == ""
    assert again["headers"]["ETag"] == etag


def test_text_is_compressed_for_clients_that_accept_gzip(dashboard: ModuleType):
    version = dashboard.site().version
    # WHEN app.js is asked for with and without gzip
    zipped = get_asset(dashboard, version, "app.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    refused = get_asset(dashboard, version, "app.js", headers={"Accept-Encoding": "gzip;q=0, br"})
    plain = get_asset(dashboard, version, "app.js")

    # THEN the gzip answer is base64 of the compressed file, and the same file otherwise
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert zipped["isBase64Encoded"] is True
    assert "Content-Encoding" not in refused["headers"]
    assert "Content-Encoding" not in plain["headers"]
    assert body_of(zipped) == body_of(plain) == (STATIC / "app.js").read_bytes()
    assert zipped["headers"]["Vary"] == "Accept-Encoding"


@pytest.mark.parametrize(
    "url",
    ["", "https://abc.example.com/v1", "javascript:alert(1)", "wss://a.example.com; script-src *", "wss://u@host/"],
)
def test_a_missing_or_odd_websocket_url_cannot_widen_the_policy(
    dashboard: ModuleType, monkeypatch: pytest.MonkeyPatch, url: str
):
    # GIVEN a WEBSOCKET_URL that is not a plain ws(s):// URL
    monkeypatch.setenv("WEBSOCKET_URL", url)
    dashboard.site.cache_clear()

    # WHEN the page is served
    answer = get_page(dashboard)

    # THEN the page gets no WebSocket URL and the policy connects to this origin only
    assert answer["statusCode"] == 200
    assert "connect-src 'self';" in answer["headers"]["Content-Security-Policy"]
    assert '<meta name="claude-events-websocket" content="">' in body_of(answer).decode()


def test_local_websocket_url_is_allowed_as_is(dashboard: ModuleType, monkeypatch: pytest.MonkeyPatch):
    # GIVEN the local stack's rewrite of the template's URL
    monkeypatch.setenv("WEBSOCKET_URL", "ws://127.0.0.1:3001/v1")
    dashboard.site.cache_clear()

    # THEN the page connects there
    answer = get_page(dashboard)
    assert "connect-src 'self' ws://127.0.0.1:3001;" in answer["headers"]["Content-Security-Policy"]
    assert 'content="ws://127.0.0.1:3001/v1"' in body_of(answer).decode()


def test_page_scripts_never_write_markup():
    # The page renders untrusted payloads: text only ever goes in as text (the CSP's Trusted Types
    # would make these throw in a browser; this finds them before one runs).
    sinks = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(")
    for path in STATIC.glob("*.js"):
        assert not sinks.search(path.read_text()), path.name


def test_relative_imports_name_files_that_are_served():
    names = {path.name for path in STATIC.iterdir()}
    for path in STATIC.glob("*.js"):
        for imported in re.findall(r'from\s+"\./([^"]+)"', path.read_text()):
            assert imported in names, f"{path.name} imports {imported}"


def test_sam_build_copies_the_static_files(tmp_path: Path):
    # WHEN sam build's makefile target runs (as it does, from a scratch copy of CodeUri)
    subprocess.run(  # noqa: S603 - make, with our own Makefile
        ["make", "--no-print-directory", "build-DashboardFunction", f"ARTIFACTS_DIR={tmp_path}"],  # noqa: S607
        cwd=FUNCTION,
        check=True,
        capture_output=True,
    )

    # THEN the artifact has the handler and every static file
    assert (tmp_path / "app.py").is_file()
    assert sorted(path.name for path in (tmp_path / "static").iterdir()) == sorted(
        path.name for path in STATIC.iterdir()
    )


def test_template_serves_the_page_publicly_with_no_data_access():
    function = load()["Resources"]["DashboardFunction"]
    properties = function["Properties"]
    events = properties["Events"]
    routes = {(event["Properties"]["Method"], event["Properties"]["Path"]) for event in events.values()}
    assert routes == {("GET", "/"), ("GET", "/dashboard/{version}/{asset}")}
    assert all(event["Properties"]["Auth"] == {"Authorizer": "NONE"} for event in events.values())
    assert "Policies" not in properties
    assert "WEBSOCKET_URL" in properties["Environment"]["Variables"]
