"""Serving the residents' app (/app/) as ES modules: its page admits only its import map inline
(by hash in the policy), every module is a hashed immutable asset the map names, the service
worker precaches every module, and the Welsh dictionary has every English key (the browser
tests, tests/test_app_browser*.py, drive the app itself)."""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from chalicelib.api.web import APP_MODULES
from chalicelib.web import assets
from tests.support import header, inline_scripts

SRC = Path(assets.HERE) / "src"


@pytest.mark.parametrize("path", ["/app", "/app/"])
def test_the_page_admits_only_its_import_map_inline(client, path):
    response = client.http.get(path)
    assert response.status_code == 200
    assert header(response, "content-type") == "text/html; charset=utf-8"
    assert header(response, "cache-control") == "no-cache"
    assert header(response, "x-frame-options") == "DENY"
    csp = header(response, "content-security-policy")
    html = response.body.decode()
    [(attributes, import_map)] = inline_scripts(html)
    assert attributes.strip() == 'type="importmap"'
    assert f"script-src 'self' {assets.script_hash(import_map)};" in csp  # that exact text and nothing else
    for directive in ("default-src 'self'", "style-src 'self';", "connect-src 'self';", "frame-ancestors 'none'",
                      "base-uri 'none'", "object-src 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe" not in csp
    assert header(response, "permissions-policy") == "camera=(), microphone=(), geolocation=(self)"
    assert re.findall(r"\son[a-z]+\s*=|\sstyle\s*=|<style", html) == []


def test_every_module_in_the_import_map_is_a_hashed_immutable_asset(client):
    html = client.http.get("/app/").body.decode()
    [(_, import_map)] = inline_scripts(html)
    imports = json.loads(import_map)["imports"]
    assert set(imports) == {("/assets/" + spec[2:] if spec.startswith("./") else spec) for spec in APP_MODULES}
    for target in imports.values():
        response = client.http.get(target)
        assert response.status_code == 200, target
        assert header(response, "content-type") == "text/javascript; charset=utf-8"
        assert header(response, "cache-control") == "public, max-age=31536000, immutable"


def _imports(path: Path) -> list[str]:
    return re.findall(r'^import [^;]*? from "([^"]+)";', path.read_text(encoding="utf-8"), re.M | re.S)


def test_modules_import_only_names_the_map_resolves():
    """A module importing a file the map does not name would load an unhashed URL (a 404 here)."""
    seen: set[str] = set()
    todo = ["./app.js"]
    while todo:
        spec = todo.pop()
        if spec in seen or not spec.startswith("./"):
            continue
        seen.add(spec)
        for imported in _imports(SRC / spec[2:]):
            assert imported in APP_MODULES, (spec, imported)
            todo.append(imported)
    assert seen - {"./app.js"} == {spec for spec in APP_MODULES if spec.startswith("./")}  # nothing unused in the map


def test_service_worker_precaches_every_module(client):
    body = client.http.get("/app/sw.js").body.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    for name in ["app.js", *APP_MODULES.values()]:
        assert assets.manifest().url(name) in shell, name
    assert len(shell) == len(set(shell))  # Cache.addAll() rejects duplicates


@cache
def _dictionary(name: str) -> dict[str, str]:
    script = f'import("{(SRC / name).as_uri()}").then((m) => process.stdout.write(JSON.stringify(m.default)))'
    command = ["node", "--input-type=module", "-e", script]  # node runs ESLint too (make lint)
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)  # noqa: S603 - fixed argv
    return json.loads(done.stdout)


def test_welsh_has_every_english_key_and_no_other():
    english, welsh = _dictionary("app-en.js"), _dictionary("app-cy.js")
    assert sorted(set(english) - set(welsh)) == []  # a missing key would show English on a Welsh page
    assert sorted(set(welsh) - set(english)) == []
    assert all(isinstance(v, str) and v.strip() for v in [*english.values(), *welsh.values()])


def test_every_text_the_app_names_is_in_english():
    english = _dictionary("app-en.js")
    used = set(re.findall(r'data-i18n="([A-Za-z_0-9]+)"', (assets.PAGES_DIR / "app.html").read_text(encoding="utf-8")))
    for module in SRC.glob("app*.js"):
        used |= set(re.findall(r'\bt\("([A-Za-z_0-9]+)"[,)]', module.read_text(encoding="utf-8")))
    assert len(used) > 100
    assert used - set(english) == set()


def test_every_value_the_api_sends_has_its_words_in_both_languages():
    """Keys made in code ("rank_" + a person's rank, ...) from the API's value lists: a value
    without a text would show its key on the page (in Welsh, English would at least be better)."""
    from typing import get_args

    from chalicelib.domain import alerts, conversations, meetings, priorities, teams

    made = {
        "rank_": get_args(teams.Rank), "prio_": get_args(priorities.Status), "status_": get_args(conversations.Status),
        "meet_": [t if t != "online" else "online_type" for t in get_args(meetings.MeetingType)],
        "contact_": list(teams.ContactDetails.__struct_fields__), "cat_": alerts.CAP_CATEGORIES,
        "sev_": alerts.CAP_SEVERITIES,
    }
    keys = {prefix + value for prefix, values in made.items() for value in values}
    for name in ("app-en.js", "app-cy.js"):
        assert keys - set(_dictionary(name)) == set(), name
