"""Bulk exports over HTTP (DynamoDB Local, the in-process export queue, the session's export
folder): 202 and the job, its files read back equal to the history rows of the same days, bad
input 400, someone else's or an unknown job 404, the start rate limit 429."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlencode, urlparse

import pytest

from chalicelib.clock import to_rfc3339
from tests.conftest import bearer

_SLOTS = itertools.count()
_BASE = datetime(2071, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 3000)  # a day no other test uses


@pytest.fixture
def now(services_override) -> datetime:
    at = (_BASE + timedelta(days=3 * next(_SLOTS))).replace(hour=12)
    ticks = itertools.count()
    services_override(clock=lambda: at + timedelta(seconds=next(ticks)))
    return at


def _contact(at: datetime) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "online", "occurred_at": to_rfc3339(at), "topic": "fraud_scams",
            "outcome": "referred", "platform": "facebook", "direction": "inbound", "notes": "SECRET NOTE"}


def _await_rows(client, analyst: str, now: datetime, count: int) -> list[dict]:
    """The history rows of the two days (GSIs are eventually consistent: wait for all of them)."""
    query = urlencode({"from": to_rfc3339(now.replace(hour=0) - timedelta(days=1)),
                       "to": to_rfc3339(now.replace(hour=23, minute=59, second=59)), "purpose": "compare", "limit": 200})
    deadline = time.monotonic() + 30
    while True:
        rows = client.http.get(f"/v1/history/contacts?{query}", headers=bearer(analyst)).json_body["items"]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _start(client, token: str, **body) -> object:
    return client.http.post("/v1/history/exports", headers=bearer(token), body=json.dumps(body))


def test_an_export_runs_off_the_request_and_its_files_hold_the_history_rows(client, staff_token, now):
    officer = staff_token("officer")
    bodies = [_contact(now - timedelta(hours=h)) for h in (1, 2, 13)]  # today and yesterday
    for body in bodies:
        assert client.http.post("/v1/contacts", headers=bearer(officer), body=json.dumps(body)).status_code == 201
    analyst = staff_token("analyst", team=None)
    expected = _await_rows(client, analyst, now, len(bodies))
    assert len(expected) == 3

    yesterday, today = (now - timedelta(days=1)).date().isoformat(), now.date().isoformat()
    started = _start(client, analyst, **{"from": yesterday, "to": today, "format": "csv", "purpose": "review"})
    assert started.status_code == 202, started.body
    job_id = started.json_body["id"]
    assert started.headers["Location"] == f"/v1/history/exports/{job_id}"
    job = client.http.get(f"/v1/history/exports/{job_id}", headers=bearer(analyst))
    assert job.status_code == 200 and job.json_body["status"] == "done"
    assert [f["day"] for f in job.json_body["files"]] == [yesterday, today]
    exported = []
    for file in job.json_body["files"]:
        assert file["key"] == f"exports/{job_id}/data/dt={file['day']}/part-00000.csv.gz"
        text = gzip.decompress(Path(unquote(urlparse(file["url"]).path)).read_bytes()).decode("utf-8")
        exported += list(csv.DictReader(io.StringIO(text)))
    assert "SECRET" not in json.dumps(exported)
    assert sorted(r["row"] for r in exported) == sorted(r["row"] for r in expected)
    by_row = {r["row"]: r for r in exported}
    for row in expected:
        assert {k: v for k, v in by_row[row["row"]].items() if v} == {k: str(v) for k, v in row.items()}


@pytest.mark.parametrize("body", [
    {"from": "2026-01-02", "to": "2026-01-01", "purpose": "review"},
    {"from": "2025-01-01", "to": "2026-01-03", "purpose": "review"},
    {"from": "2026-01-01", "to": "2026-01-02"},
    {"from": "2026-01-01", "to": "2026-01-02", "purpose": "review", "format": "parquet"},
    {"from": "2026-01-01", "to": "2026-01-02", "purpose": "review", "team": "north"},
    {"from": "yesterday", "to": "2026-01-02", "purpose": "review"},
])
def test_bad_input_is_a_400_problem(client, staff_token, body):
    response = _start(client, staff_token("analyst", team=None), **body)
    assert response.status_code == 400, response.body
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_another_analysts_job_and_unknown_ids_are_404(client, staff_token, now):
    day = now.date().isoformat()
    owner = staff_token("analyst", sub=f"an-{uuid.uuid4().hex[:6]}", team=None)
    job_id = _start(client, owner, **{"from": day, "to": day, "purpose": "review"}).json_body["id"]
    other = staff_token("analyst", sub=f"an-{uuid.uuid4().hex[:6]}", team=None)
    for token, path in ((other, job_id), (owner, str(uuid.uuid4())), (owner, "..%2F..%2Fjob")):
        response = client.http.get(f"/v1/history/exports/{path}", headers=bearer(token))
        assert response.status_code == 404, (path, response.body)
    assert client.http.get(f"/v1/history/exports/{job_id}", headers=bearer(staff_token("admin", team=None))).status_code == 200


def test_starting_exports_is_rate_limited_per_caller(client, staff_token, services_override):
    from chalicelib.settings import SETTINGS

    services_override(settings=dataclasses.replace(SETTINGS, export_rate_per_hour=1))
    analyst = staff_token("analyst", sub=f"an-{uuid.uuid4().hex[:6]}", team=None)
    body = {"from": "2070-01-01", "to": "2070-01-01", "purpose": "review"}
    assert _start(client, analyst, **body).status_code == 202
    refused = _start(client, analyst, **body)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
