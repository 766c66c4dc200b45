"""Shared harness of the browser tests (tests/test_web_browser.py, tests/test_app_browser.py):
Debian's Chromium driven by Playwright's Python package, a tab that records console errors and
every request, axe-core, and the `client.http` shape of chalice.test.Client over a live server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("BEATLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = os.environ.get("BEATLINE_SCREENSHOTS")  # `make screenshots` sets docs/screenshots


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60000)
        try:
            yield chromium
        finally:
            chromium.close()


def serious_violations(page: Any) -> list[tuple[str, str, list[Any]]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


class Session:
    """One tab with everything it logged and requested."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        page.set_default_timeout(15000)
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def data_requests(self, path: str) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(u).query) for u in self.requests if urlsplit(u).path == path]

    def wait_loaded(self, since: str | None = None) -> None:
        self.page.wait_for_function(
            "s => document.body.dataset.loaded && document.body.dataset.loaded !== s", arg=since or "", timeout=30000)

    def loaded_mark(self) -> str:
        return self.page.evaluate("document.body.dataset.loaded || ''")

    def chart(self, figure: str) -> dict[str, Any]:
        return self.page.evaluate("f => window.beatlineCharts[f]", figure)

    def table(self, figure: str) -> list[list[str]]:
        return self.page.evaluate(
            "f => [...document.querySelectorAll('#fig-' + f + ' .table-wrap tr')].map(r => [...r.children].map(c => c.textContent))",
            figure)


class LiveHttp:
    """The `client.http` shape of chalice.test.Client, over a live server (reuses tests.alerting)."""

    class _Response:
        def __init__(self, response: requests.Response) -> None:
            self.status_code = response.status_code
            self.body = response.content
            self.json_body = response.json() if response.content else None

    def __init__(self, base: str) -> None:
        self.base = base

    def _call(self, method: str, path: str, headers: dict | None = None, body: Any = None) -> LiveHttp._Response:
        return self._Response(requests.request(method, self.base + path, headers=headers, data=body, timeout=60))

    def get(self, path: str, headers: dict | None = None) -> LiveHttp._Response:
        return self._call("GET", path, headers)

    def post(self, path: str, headers: dict | None = None, body: Any = None) -> LiveHttp._Response:
        return self._call("POST", path, headers, body)

    def put(self, path: str, headers: dict | None = None, body: Any = None) -> LiveHttp._Response:
        return self._call("PUT", path, headers, body)


class LiveClient:
    def __init__(self, base: str) -> None:
        self.http = LiveHttp(base)
