"""Every method a path does not declare is a 405 problem+json with `Allow`, never a 5xx or HTML;
against the live `chalice local` in tests/test_fuzz_api.py (test_undeclared_methods_*)."""

from __future__ import annotations

import json
import re
import uuid

import app  # noqa: F401 - registers every operation
from chalicelib.api.framework import METHOD_FALLBACKS, OPERATIONS, STANDARD_METHODS, declared_methods

ODD_METHODS = ("TRACE", "CONNECT", "PROPFIND", "MKCOL", "BREW")


def concrete(path: str) -> str:
    return re.sub(r"{\w+}", lambda _: str(uuid.uuid4()), path)


def test_fallbacks_cover_exactly_the_undeclared_standard_methods():
    paths = {op.path for op in OPERATIONS}
    expected = {(m, p) for p in paths for m in STANDARD_METHODS if m not in declared_methods(p)}
    assert expected == METHOD_FALLBACKS
    assert ("GET", "/v1/contacts/batch") in METHOD_FALLBACKS
    assert ("POST", "/v1/contacts/batch") not in METHOD_FALLBACKS


def test_every_path_answers_every_undeclared_method_with_405_problem_and_allow(client):
    checked = 0
    for path in sorted({op.path for op in OPERATIONS}):
        allow = declared_methods(path)
        for method in [m for m in STANDARD_METHODS if m not in allow] + list(ODD_METHODS):
            response = client.http.request(method, concrete(path), headers={"Authorization": "Bearer x"}, body=b"[[[")
            assert response.status_code == 405, (method, path, response.status_code)
            assert response.headers["Allow"] == ", ".join(allow)
            assert response.headers["Content-Type"] == "application/problem+json"
            if method != "HEAD":
                problem = json.loads(response.body)
                assert problem["status"] == 405 and problem["type"].endswith("/method-not-allowed")
            checked += 1
    assert checked > 150


def test_declared_methods_are_untouched(client):
    assert client.http.get("/v1/health").status_code == 200
    assert client.http.post("/v1/contacts", body="{}", headers={"Content-Type": "application/json"}).status_code == 401
