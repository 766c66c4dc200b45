"""Serving the web pages: security headers, hashed immutable assets, 404 problems, base paths,
the sign-in configuration (through chalice.test.Client; the browser tests drive the pages)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from chalicelib.api.web import APP_MODULES
from chalicelib.web import assets
from tests.support import header

PAGES = ["/docs", "/docs/"]  # /app/ and /dashboard/ admit their import maps: tests/test_app_serving.py, tests/test_dashboard_serving.py


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_public_with_strict_headers_and_no_inline_code(client, path):
    response = client.http.get(path)
    assert response.status_code == 200
    assert header(response, "content-type") == "text/html; charset=utf-8"
    assert header(response, "cache-control") == "no-cache"
    assert header(response, "x-content-type-options") == "nosniff"
    assert header(response, "x-frame-options") == "DENY"
    csp = header(response, "content-security-policy")
    for directive in ("default-src 'self'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'",
                      "base-uri 'none'", "object-src 'none'"):
        assert directive in csp
    assert "unsafe" not in csp
    html = response.body.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # every script is a file
    assert re.findall(r"\son[a-z]+\s*=|\sstyle\s*=|<style", html) == []  # no handlers or inline styles
    assert asset_urls(html)


def test_every_referenced_asset_is_hashed_immutable_and_typed(client):
    seen = set()
    for path in ("/dashboard", "/docs", "/app/"):
        seen.update(asset_urls(client.http.get(path).body.decode()))
    assert any("leaflet" in u for u in seen) and any("idb-keyval" in u for u in seen)
    assert any("oidc-client-ts.min" in u for u in seen) and any("swagger-ui-bundle" in u for u in seen)
    assert any("uPlot.iife.min" in u for u in seen)
    for url in sorted(seen):
        response = client.http.get(url)
        assert response.status_code == 200, url
        assert header(response, "cache-control") == "public, max-age=31536000, immutable"
        assert header(response, "x-content-type-options") == "nosniff"
        digest = re.match(r"^/assets/.+\.([0-9a-f]{12})\.[a-z0-9]+$", url).group(1)
        assert hashlib.sha256(response.body).hexdigest()[:12] == digest, url
        kind = header(response, "content-type")
        assert kind == assets.CONTENT_TYPES["." + url.rsplit(".", 1)[1]], url


@pytest.mark.parametrize("name", [
    "dashboard.js",  # the unhashed name
    "dashboard.000000000000.js",  # a wrong hash
    "..%2F..%2Fsettings.py", "..%2Fpages%2Fdashboard.html", "%2Fetc%2Fpasswd", "dashboard.js%00",
    "uPlot.LICENSE.txt", "a" * 300, "%C0%AE%C0%AE", "dashboard%20.js",
])
def test_unknown_assets_are_404_problems(client, name):
    response = client.http.get(f"/assets/{name}")
    assert response.status_code == 404
    assert header(response, "content-type") == "application/problem+json"
    assert header(response, "x-content-type-options") == "nosniff"
    assert response.json_body["status"] == 404


def test_dashboard_config_names_the_issuer_and_public_client(client):
    from chalicelib.settings import SETTINGS

    response = client.http.get("/dashboard/config.json")
    assert response.status_code == 200
    assert response.json_body == {"issuer": SETTINGS.staff_issuer, "client_id": SETTINGS.dashboard_client_id,
                                  "scope": SETTINGS.dashboard_scope, "redirect_path": "/dashboard/", "api_base": ""}
    csp = header(response, "content-security-policy")
    assert f"connect-src 'self' {assets.origin_of(SETTINGS.staff_issuer)};" in csp


def test_web_routes_stay_out_of_the_api_document(client):
    paths = client.http.get("/v1/openapi.json").json_body["paths"]
    assert not [p for p in paths if not p.startswith("/v1/")]


@pytest.mark.parametrize(("context", "expected"), [
    ({"path": "/dashboard", "resourcePath": "/dashboard"}, ""),
    ({"path": "/dashboard/", "resourcePath": "/dashboard"}, ""),
    ({"path": "/dev/dashboard/", "resourcePath": "/dashboard"}, "/dev"),
    ({"path": "/prod/assets/x.js", "resourcePath": "/assets/{name}"}, ""),  # templated: no guessing
    ({"path": '/"><script>/dashboard', "resourcePath": "/dashboard"}, ""),
    ({"path": "/a/b/dashboard", "resourcePath": "/dashboard"}, ""),
    ({"path": 5, "resourcePath": "/dashboard"}, ""),
    (None, ""),
])
def test_base_path_is_a_single_safe_segment(context, expected):
    assert assets.base_path(context) == expected


def test_pages_under_a_stage_prefix_point_at_prefixed_assets():
    html = assets.render_page("dashboard", "/dev", {"importmap": "{}"})
    assert asset_urls(html) == [] and re.findall(r'(?:src|href)="/dev/assets/', html)
    assert '<meta name="beatline-base" content="/dev">' in html


@pytest.mark.parametrize("issuer", [
    "https://idp.example; script-src *", "https://idp.example x", "javascript:alert(1)", "https://a b.example",
    "https://user@idp.example", "not a url",
])
def test_a_strange_issuer_cannot_add_to_the_policy(issuer):
    csp = assets.content_security_policy(issuer)
    assert "connect-src 'self'; " in csp and "*" not in csp and "script-src 'self'; " in csp
    assert csp.count(";") == 10


def test_issuer_origin_is_scheme_host_port():
    assert assets.origin_of("https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_AbC") == \
        "https://cognito-idp.eu-west-2.amazonaws.com"
    assert assets.origin_of("http://127.0.0.1:8002") == "http://127.0.0.1:8002"


def test_binary_asset_types_are_api_binary_types(app):
    assert set(assets.BINARY_TYPES) <= set(app.api.binary_types)


def test_app_service_worker_is_no_cache_javascript_in_the_app_scope_naming_hashed_files(client):
    response = client.http.get("/app/sw.js")
    assert response.status_code == 200
    assert header(response, "content-type") == "text/javascript; charset=utf-8"
    assert header(response, "cache-control") == "no-cache"  # its URL cannot carry a hash
    assert "service-worker-allowed" not in {k.lower() for k in response.headers}  # /app/ is its default scope
    body = response.body.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    page_assets = asset_urls(client.http.get("/app/").body.decode())
    modules = [assets.manifest().url(name) for name in APP_MODULES.values()]
    assert shell == ["/app/", *page_assets, *modules]  # exactly what the page loads, by hashed name
    assert re.search(r'importScripts\("/assets/idb-keyval\.umd\.[0-9a-f]{12}\.js"\)', body)
    assert "{{" not in body


def test_app_manifest_is_installable_shape(client):
    response = client.http.get("/app/manifest.webmanifest")
    assert response.status_code == 200
    assert header(response, "content-type") == "application/manifest+json"
    document = response.json_body if response.json_body else json.loads(response.body)
    assert (document["start_url"], document["scope"], document["display"]) == ("/app/", "/app/", "standalone")
    assert client.http.get(document["icons"][0]["src"]).status_code == 200


def test_app_pages_talk_to_this_origin_only_and_may_locate():
    from chalicelib.api import web

    headers = web.security_headers(app=True)
    assert "connect-src 'self';" in headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in headers["Content-Security-Policy"]  # no tiles configured in tests
    assert headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=(self)"
    assert web.security_headers()["Permissions-Policy"].endswith("geolocation=()")


def test_tile_origin_alone_joins_img_src():
    csp = assets.content_security_policy("", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp
    assert csp.count(";") == 10 and "connect-src 'self';" in csp


@pytest.mark.parametrize("url", [
    "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",  # a subdomain placeholder: the CSP could not name it
    "https://tiles.example/{z}/{x}.png", "javascript:alert(1)//{z}/{x}/{y}", "https://tiles.example/{z}/{x}/{y}; script-src *",
    "https://user@tiles.example/{z}/{x}/{y}", "ftp://tiles.example/{z}/{x}/{y}", "https://tiles.example/{z}/{x}/{y} 'unsafe-inline'",
    "https://tiles.example/{z}/{x}/{y}?key=a\"b",
])
def test_a_strange_tile_url_is_refused_at_start(url):
    from chalicelib.settings import SettingsError, load_settings

    with pytest.raises(SettingsError):
        load_settings({"BEATLINE_MAP_TILE_URL": url})


def test_tile_settings_reach_the_page_escaped():
    html = assets.render_page("app", "", {"tile_url": "https://t.example/{z}/{x}/{y}.png",
                                          "tile_attribution": "&lt;b&gt;OSM&lt;/b&gt;",
                                          "emergency_number": "999", "non_emergency_number": "101", "importmap": "{}"})
    assert '<meta name="beatline-tiles" content="https://t.example/{z}/{x}/{y}.png">' in html
    assert "<b>" not in html


def test_the_app_page_carries_the_emergency_numbers_for_its_guidance(client):
    from chalicelib.settings import SETTINGS

    html = client.http.get("/app/").body.decode()
    assert f'<meta name="beatline-emergency" content="{SETTINGS.emergency_number}">' in html
    assert f'<meta name="beatline-non-emergency" content="{SETTINGS.non_emergency_number}">' in html
    assert html.count("data-guidance") == 3  # where a conversation starts, where it continues, the team view
