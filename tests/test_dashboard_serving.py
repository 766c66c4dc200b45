"""Serving the dashboard (/dashboard/): ES modules on the team app's layout, an import map admitted by
its sha256 in the policy and nothing else inline; every module it imports is in the map; its topic
labels cover the API's topic list (the browser test, tests/test_web_browser.py, drives the page)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.api.web import DASHBOARD_MODULES
from chalicelib.domain import contact_schemas
from chalicelib.domain.conversations import TOPIC_LABELS
from chalicelib.web import assets
from tests.support import header, inline_scripts

SRC = Path(assets.HERE) / "src"


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/"])
def test_the_page_admits_only_its_import_map_inline(client, path):
    response = client.http.get(path)
    assert response.status_code == 200
    assert header(response, "cache-control") == "no-cache"
    csp = header(response, "content-security-policy")
    html = response.body.decode()
    [(attributes, import_map)] = inline_scripts(html)
    assert attributes.strip() == 'type="importmap"'
    assert f"script-src 'self' {assets.script_hash(import_map)};" in csp
    for directive in ("default-src 'self'", "style-src 'self';", "frame-ancestors 'none'", "base-uri 'none'",
                      "object-src 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe" not in csp and "geolocation=()" in header(response, "permissions-policy")
    assert re.findall(r"\son[a-z]+\s*=|\sstyle\s*=|<style", html) == []
    assert re.search(r'<script type="module" src="/assets/dashboard\.[0-9a-f]{12}\.js">', html)
    imports = json.loads(import_map)["imports"]
    for target in imports.values():
        module = client.http.get(target)
        assert module.status_code == 200 and "immutable" in header(module, "cache-control"), target


def test_modules_import_only_names_the_map_resolves():
    names = set(DASHBOARD_MODULES)
    for path in [SRC / "dashboard.js", *(SRC / name for spec, name in DASHBOARD_MODULES.items())]:
        for imported in re.findall(r'^import .*? from "([^"]+)";', path.read_text(encoding="utf-8"), re.M):
            assert imported in names, (path.name, imported)


def test_topic_labels_are_the_apis_topics_with_their_names():
    text = (SRC / "dashboard-en.js").read_text(encoding="utf-8")
    labels = dict(re.findall(r'"topic\.([a-z_]+)": "([^"]+)"', text))
    assert set(labels) == set(contact_schemas.TOPICS)
    assert labels == {k: v for k, v in TOPIC_LABELS["en"].items() if k in labels}
