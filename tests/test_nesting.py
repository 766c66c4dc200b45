"""Deeply nested JSON: refused with a 400 problem before decoding, on every body route; never a 500."""

from __future__ import annotations

import json
import uuid

import pytest

import app  # noqa: F401 - registers every operation (the session's settings are already in the environment)
from chalicelib.api.framework import OPERATIONS, Operation
from chalicelib.auth.permissions import allowed_roles
from chalicelib.domain.validation import MAX_DEPTH, check_depth, nesting_depth
from chalicelib.errors import DomainError, as_problem
from tests.alerting import register
from tests.conftest import bearer


def nest(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def nest_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(("body", "expected"), [
    (b"1", 0),
    (b"{}", 1),
    (b'{"a": [1, {"b": []}]}', 4),
    (nest(40), 40),
    (nest_objects(40), 40),
    (b'[{"a": [{"b": [[{}]]}]}]', 7),  # mixed
    (b'["[[[[[[", "{{{{{{"]', 1),  # brackets inside strings do not count
    (b'["\\"[[[[", "]]]"]', 1),  # an escaped quote does not end the string
    (b'["\\\\", [[1]]]', 3),  # an escaped backslash does: the brackets after it count
    (b'"unterminated [[[[[[', 0),  # an unterminated string runs to the end
    (b'"\\u005b" [1]', 1),  # \u005b is a "[" inside a string only
    (b"]]][[", 0),  # a closer first: the decoder fails there, before any nesting
])
def test_nesting_depth(body: bytes, expected: int) -> None:
    assert nesting_depth(body) == expected


def test_exactly_at_the_limit_passes_one_more_is_refused() -> None:
    check_depth(nest(MAX_DEPTH))
    check_depth(nest_objects(MAX_DEPTH))
    check_depth(b"[" + b"[]," * 500 + b"[]]")  # many openers, shallow
    for body in (nest(MAX_DEPTH + 1), nest_objects(MAX_DEPTH + 1), b'{"a": "x", "b": ' + nest(MAX_DEPTH) + b"}"):
        with pytest.raises(DomainError) as raised:
            check_depth(body)
        assert as_problem(raised.value).status == 400


def test_hostile_scans_stay_linear() -> None:
    """Unterminated strings full of escaped quotes made an earlier regex quadratic."""
    import time

    started = time.perf_counter()
    for body in (b'"' + b'\\"' * 8000, b'"' * 16000, b'"' + b"\\" * 16000, b"[]" * 8000):
        nesting_depth(body)
    assert time.perf_counter() - started < 0.5


def _token_for(client, staff_token, op: Operation) -> dict[str, str]:
    if op.public:
        return {"Content-Type": "application/json"}
    roles = allowed_roles(op.action)
    if "resident" in roles:
        return bearer(register(client)[1])
    return bearer(staff_token(sorted(roles)[0]))


BODY_OPS = [op for op in OPERATIONS if op.request is not None]
DEEP_BODIES = {
    "deep array at the top": nest(2000),
    "deep array in a field": b'{"channel": ' + nest(2000) + b', "areas": [' + nest(2000) + b"]}",
    "deep objects in a field": b'{"channel": {"type": "webpush", "subscription": ' + nest_objects(2000) + b"}}",
    "deep in a tagged union": b'{"contacts": [' + nest(2000) + b"], \"area\": " + nest(2000) + b"}",
    "one level too deep": b'{"x": ' + nest(MAX_DEPTH) + b"}",
}


@pytest.mark.parametrize("op", BODY_OPS, ids=[f"{op.method} {op.path}" for op in BODY_OPS])
def test_every_body_route_refuses_deep_nesting_with_a_400_problem(client, staff_token, op: Operation) -> None:
    assert len(BODY_OPS) >= 10
    headers = _token_for(client, staff_token, op)
    path = op.path.replace("{id}", str(uuid.uuid4()))
    for name, body in DEEP_BODIES.items():
        response = client.http.request(op.method, path, headers=headers, body=body)
        assert response.status_code == 400, (name, response.status_code, response.body[:300])
        assert response.headers["Content-Type"] == "application/problem+json"
        problem = json.loads(response.body)
        assert "deeper than 32" in problem["detail"], (name, problem)


def test_at_the_limit_the_schema_speaks_not_the_depth_check(client) -> None:
    body = b'{"channel": {"type": "inbox"}, "categories": ' + nest(MAX_DEPTH - 1, b'"Security"') + b"}"
    response = client.http.post("/v1/subscribers", headers={"Content-Type": "application/json"}, body=body)
    assert response.status_code == 400
    assert "deeper" not in json.loads(response.body)["detail"]


def test_a_deeply_nested_token_is_401(client) -> None:
    import base64

    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    for header, payload in ((nest(2000), b"{}"), (b'{"alg": "ES256"}', b'{"sub": ' + nest(2000) + b"}")):
        token = f"{part(header)}.{part(payload)}.{part(b'sig')}"
        response = client.http.get("/v1/subscribers/me", headers=bearer(token))
        assert response.status_code == 401
