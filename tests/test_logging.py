"""One structured JSON line per request; never a token, a handle, notes or other personal data."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import bearer
from tests.support import online, post


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def request_log() -> Iterator[ListHandler]:
    handler = ListHandler()
    logger = logging.getLogger("beatline.request")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_one_json_line_per_request_with_the_fields(client, staff_token, team, request_log, caplog, capfd):
    sub = f"pc-log-{team}"
    token = staff_token("officer", sub=sub, team=team)
    handle = f"@secret_handle_{uuid.uuid4().hex[:6]}"
    notes = f"private notes {uuid.uuid4().hex}"
    body = online(handle=handle, notes=notes)
    caplog.set_level(logging.DEBUG)
    created = post(client, token, "/v1/contacts", body)
    assert created.status_code == 201
    client.http.get(f"/v1/contacts/{body['id']}", headers=bearer(token))
    client.http.get("/v1/contacts?limit=oops", headers=bearer(token))
    client.http.get("/v1/health")
    client.http.get("/v1/contacts", headers={"Authorization": "Bearer " + token[:-4] + "AAAA"})

    lines = [json.loads(line) for line in request_log.lines]
    assert len(lines) == 5
    first = lines[0]
    assert set(first) >= {"route", "status", "latency_ms", "request_id", "role", "caller", "method"}
    assert first["route"] == "/v1/contacts" and first["method"] == "POST" and first["status"] == 201
    assert first["request_id"] == created.headers["X-Request-Id"]
    assert first["role"] == "officer"
    assert first["caller"].startswith("usr_") and sub not in json.dumps(first)
    assert isinstance(first["latency_ms"], float | int) and first["latency_ms"] >= 0
    assert lines[1]["route"] == "/v1/contacts/{id}"  # the template, not the record id
    assert [line["status"] for line in lines] == [201, 200, 400, 200, 401]
    assert lines[3]["role"] == "anonymous" and lines[3]["caller"] is None
    assert lines[4]["role"] == "anonymous"

    everything = "\n".join(request_log.lines) + caplog.text + capfd.readouterr().out
    for secret in (token, token.split(".")[2], handle, handle.lstrip("@"), notes, sub, body["id"]):
        assert secret not in everything, secret
