"""Serving the team's app (/team/): its page, import map and policy, service worker and manifest;
the value lists its forms use offline equal the API's; both dictionaries have every key (the
browser test, tests/test_team_browser.py, drives the app itself)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.api.web import TEAM_MODULES
from chalicelib.domain import alerts, contact_schemas
from chalicelib.web import assets
from tests.support import header, inline_scripts

SRC = Path(assets.HERE) / "src"


@pytest.mark.parametrize("path", ["/team", "/team/"])
def test_the_page_admits_only_its_import_map_inline(client, path):
    response = client.http.get(path)
    assert response.status_code == 200
    assert header(response, "cache-control") == "no-cache"
    csp = header(response, "content-security-policy")
    html = response.body.decode()
    [(attributes, import_map)] = inline_scripts(html)
    assert attributes.strip() == 'type="importmap"'
    assert f"script-src 'self' {assets.script_hash(import_map)};" in csp  # that exact text and nothing else
    for directive in ("default-src 'self'", "style-src 'self';", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"):
        assert directive in csp
    assert "unsafe" not in csp
    assert "geolocation=(self)" in header(response, "permissions-policy")
    assert re.findall(r"\son[a-z]+\s*=|\sstyle\s*=|<style", html) == []
    assert 'name="beatline-issuer" content="https://' in html or 'name="beatline-issuer" content="http' in html


def test_every_module_in_the_import_map_is_a_hashed_immutable_asset(client):
    html = client.http.get("/team/").body.decode()
    [(_, import_map)] = inline_scripts(html)
    imports = json.loads(import_map)["imports"]
    assert set(imports) >= {"/assets/api.js", "/assets/team-log.js", "idb-keyval", "qrcode-generator", "lazy/leaflet.js"}
    for target in imports.values():
        response = client.http.get(target)
        assert response.status_code == 200, target
        assert header(response, "content-type") == "text/javascript; charset=utf-8" or target.endswith(".css")
        assert "immutable" in header(response, "cache-control")


def test_modules_import_only_names_the_map_resolves():
    """A module importing a file the map does not name would load an unhashed URL (a 403 here)."""
    names = {spec for spec in TEAM_MODULES}
    for path in [SRC / "team.js", *(SRC / name for spec, name in TEAM_MODULES.items() if spec.startswith("./"))]:
        for imported in re.findall(r'^import .*? from "([^"]+)";', path.read_text(encoding="utf-8"), re.M):
            assert imported in names, (path.name, imported)


def test_service_worker_precaches_the_shell_but_not_the_map(client):
    response = client.http.get("/team/sw.js")
    assert response.status_code == 200
    assert header(response, "cache-control") == "no-cache"
    body = response.body.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    assert shell[0] == "/team/"
    assert any("/assets/team." in u for u in shell) and any("/assets/team-log." in u for u in shell)
    assert not any("leaflet" in u for u in shell)
    assert "/v1/" not in body  # never caches an API answer


def test_manifest_is_installable(client):
    document = client.http.get("/team/manifest.webmanifest").json_body
    assert document["start_url"] == "/team/" and document["scope"] == "/team/" and document["display"] == "standalone"
    assert document["icons"][0]["src"].startswith("/assets/team-icon.")


def _js_list(name: str) -> list[str]:
    text = (SRC / "lists.js").read_text(encoding="utf-8")
    found = re.search(rf"export const {name} = \[(.*?)\];", text, re.S)
    assert found, name
    return re.findall(r'"([^"]+)"', found.group(1))


@pytest.mark.parametrize(("name", "expected"), [
    ("TOPICS", contact_schemas.TOPICS), ("OUTCOMES", contact_schemas.OUTCOMES), ("SETTINGS", contact_schemas.SETTINGS_),
    ("PLATFORMS", contact_schemas.PLATFORMS), ("CATEGORIES", alerts.CAP_CATEGORIES), ("SEVERITIES", alerts.CAP_SEVERITIES),
    ("URGENCIES", alerts.CAP_URGENCIES), ("CERTAINTIES", alerts.CAP_CERTAINTIES),
])
def test_offline_value_lists_equal_the_api(name, expected):
    assert _js_list(name) == list(expected)


def _keys(file: str) -> set[str]:
    text = (SRC / file).read_text(encoding="utf-8")
    return set(re.findall(r'(?:^|[{,]\s*)"?([a-z_0-9]+(?:\.[A-Za-z_0-9]+)?)"?:\s', text, re.M))


def test_welsh_has_every_english_text():
    english, welsh = _keys("team-en.js"), _keys("team-cy.js")
    assert len(english) > 150
    assert english - welsh == set()
    used = set(re.findall(r'data-i18n="([a-z_0-9]+)"', (assets.PAGES_DIR / "team.html").read_text(encoding="utf-8")))
    for module in SRC.glob("team*.js"):
        used |= set(re.findall(r'\bt\("([a-z_0-9]+)"[,)]', module.read_text(encoding="utf-8")))
    assert used - english == set()
