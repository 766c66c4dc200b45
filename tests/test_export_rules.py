"""Bulk exports on fakes: the job runs step by step off the request path, files are gzip CSV per
day (Hive `dt=` folders) holding exactly the history rows, steps are idempotent, jobs are the
requester's own, and every start and every hand-out of links is access-logged with the purpose."""

from __future__ import annotations

import csv
import gzip
import io
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain import exports
from chalicelib.domain.contact_schemas import ContactIn
from chalicelib.domain.errors import NotFound, RuleViolation, Unavailable
from chalicelib.domain.exports import ExportIn, ExportStep
from chalicelib.domain.history import CSV_COLUMNS, HistoryQuery
from chalicelib.ports import QueueUnavailable
from chalicelib.usecases import contacts as contact_cases
from chalicelib.usecases import exports as usecase
from chalicelib.usecases import history as history_cases
from tests.scenes import Scene

pytestmark = pytest.mark.no_database


class Steps:
    """An export queue that keeps the steps (the worker runs them when the test says)."""

    def __init__(self) -> None:
        self.sent: list[ExportStep] = []
        self.refuse = False

    def send(self, step: ExportStep) -> None:
        if self.refuse:
            raise QueueUnavailable("refused")
        self.sent.append(step)


def _log(scene: Scene, at: datetime, **overrides: Any) -> str:
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(at),
                            "topic": "burglary", "outcome": "advice_given", "notes": "SECRET NOTE",
                            "location": {"lat": 51.5014, "lon": -0.1419}, "setting": "patrol", **overrides}
    officer = scene.staff("officer", sub="pc-77")
    contact_cases.create_contact(scene.svc, officer, msgspec.json.decode(json.dumps(body), type=ContactIn))
    return str(body["id"])


def _scene() -> tuple[Scene, Steps]:
    steps = Steps()
    return Scene(export_queue=steps), steps


def _body(start: date, end: date) -> ExportIn:
    return ExportIn(from_=start, to=end, purpose="quarterly burglary review")


def _drain(scene: Scene, steps: Steps, rows_per_part: int = exports.ROWS_PER_PART) -> int:
    ran = 0
    while steps.sent:
        usecase.run_step(scene.svc, steps.sent.pop(0), rows_per_part)
        ran += 1
    return ran


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(body).decode("utf-8"))))


def test_a_job_writes_one_gzip_csv_per_day_holding_exactly_the_history_rows() -> None:
    scene, steps = _scene()
    now = scene.fakes.clock()
    today, yesterday = now.date(), now.date() - timedelta(days=1)
    for hours in (1, 2, 30):
        _log(scene, now - timedelta(hours=hours))
    analyst = scene.staff("analyst", team="")

    job = usecase.start(scene.svc, analyst, _body(yesterday - timedelta(days=1), today))
    assert job.status == "queued" and job.files == []
    assert [s.day for s in steps.sent] == [(yesterday - timedelta(days=1)).isoformat()]  # off the request path
    assert _drain(scene, steps) == 3  # one step per day: an empty day writes no file

    done = usecase.get(scene.svc, analyst, job.id)
    assert done.status == "done" and done.through == today.isoformat()
    assert [(f.day, f.key) for f in done.files] == [
        (yesterday.isoformat(), f"exports/{job.id}/data/dt={yesterday.isoformat()}/part-00000.csv.gz"),
        (today.isoformat(), f"exports/{job.id}/data/dt={today.isoformat()}/part-00000.csv.gz")]
    exported = [row for f in done.files for row in _csv(scene.fakes.exports.objects[f.key][0])]
    page = history_cases.contacts(scene.svc, analyst, HistoryQuery(
        from_=now - timedelta(days=3), to=now, purpose="compare", limit=200)).items
    expected = [{c: "" if getattr(r, c) is None else str(getattr(r, c)) for c in CSV_COLUMNS} for r in page]
    assert sorted(exported, key=lambda r: r["row"]) == sorted(expected, key=lambda r: r["row"])
    assert list(exported[0]) == list(CSV_COLUMNS)
    assert all("SECRET" not in body.decode("latin-1") for body, _ in scene.fakes.exports.objects.values())


def test_a_day_with_more_rows_than_a_part_continues_in_the_next_part() -> None:
    scene, steps = _scene()
    now = scene.fakes.clock()
    for minutes in range(7):
        _log(scene, now - timedelta(minutes=5 + minutes))
    job = usecase.start(scene.svc, scene.staff("admin", team=""), _body(now.date(), now.date()))
    usecase.run_step(scene.svc, steps.sent.pop(), rows_per_part=3)
    assert [(s.day, s.part) for s in steps.sent] == [(now.date().isoformat(), 1)] and steps.sent[0].position
    _drain(scene, steps, rows_per_part=3)
    files = usecase.get(scene.svc, scene.staff("admin", team=""), job.id).files
    assert [f.key.rsplit("/", 1)[-1] for f in files] == ["part-00000.csv.gz", "part-00001.csv.gz", "part-00002.csv.gz"]
    assert sum(len(_csv(scene.fakes.exports.objects[f.key][0])) for f in files) == 7


def test_a_redelivered_step_writes_the_same_bytes_and_a_finished_job_ignores_steps() -> None:
    scene, steps = _scene()
    now = scene.fakes.clock()
    _log(scene, now - timedelta(hours=1))
    job = usecase.start(scene.svc, scene.staff("analyst", team=""), _body(now.date(), now.date()))
    step = steps.sent.pop()
    usecase.run_step(scene.svc, step)
    before = dict(scene.fakes.exports.objects)
    usecase.run_step(scene.svc, step)  # SQS delivered it again: the job is done, nothing changes
    assert scene.fakes.exports.objects == before and steps.sent == []
    key = exports.part_key(job.id, now.date().isoformat(), 0)
    job_doc = exports.decode_job(before[exports.job_key(job.id)][0])
    job_doc.status = "running"  # as if the duplicate had raced the last step
    scene.fakes.exports.put(exports.job_key(job.id), exports.encode_job(job_doc), "application/json")
    usecase.run_step(scene.svc, step)
    assert scene.fakes.exports.objects[key] == before[key]  # same rows, same bytes (gzip mtime 0)


def test_jobs_are_their_requesters_own_and_links_are_logged_with_the_purpose() -> None:
    scene, steps = _scene()
    now = scene.fakes.clock()
    _log(scene, now - timedelta(hours=1))
    owner, other = scene.staff("analyst", sub="an-1", team=""), scene.staff("analyst", sub="an-2", team="")
    job = usecase.start(scene.svc, owner, _body(now.date(), now.date()))
    _drain(scene, steps)
    with pytest.raises(NotFound):
        usecase.get(scene.svc, other, job.id)
    for unknown in (str(uuid.uuid4()), "../../etc/passwd", "x" * 40):
        with pytest.raises(NotFound):
            usecase.get(scene.svc, owner, unknown)
    assert len(usecase.get(scene.svc, scene.staff("admin", team=""), job.id).files) == 1  # admins see every job
    usecase.get(scene.svc, owner, job.id)
    logged = [e for e in scene.fakes.db.access if e.action.startswith("history.bulk_export")]
    assert [(e.action, e.actor, e.purpose) for e in logged] == [
        ("history.bulk_export", "an-1", "quarterly burglary review"),
        ("history.bulk_export.links", logged[1].actor, "quarterly burglary review"),
        ("history.bulk_export.links", "an-1", "quarterly burglary review")]
    assert json.loads(json.dumps(logged[0].query)) == {"from": job.from_, "to": job.to, "format": "csv", "job": job.id}
    stored = exports.decode_job(scene.fakes.exports.objects[exports.job_key(job.id)][0])
    assert "an-1" not in stored.owner and stored.owner.startswith("usr_")  # the requester only as a pseudonym


def test_bad_ranges_are_refused_before_anything_is_written_and_a_refused_queue_fails_the_job() -> None:
    scene, steps = _scene()
    analyst = scene.staff("analyst", team="")
    day = date(2026, 11, 1)
    for start, end in ((day, day - timedelta(days=1)), (day - timedelta(days=367), day)):
        with pytest.raises(RuleViolation):
            usecase.start(scene.svc, analyst, _body(start, end))
    assert scene.fakes.exports.objects == {} and steps.sent == []
    steps.refuse = True
    with pytest.raises(Unavailable):
        usecase.start(scene.svc, analyst, _body(day, day))
    [(raw, _)] = scene.fakes.exports.objects.values()
    assert exports.decode_job(raw).status == "failed"


def test_sqs_records_report_only_the_failed_step() -> None:
    scene, steps = _scene()
    now = scene.fakes.clock()
    job = usecase.start(scene.svc, scene.staff("analyst", team=""), _body(now.date(), now.date()))
    good = exports.encode_step(steps.sent.pop())
    result = usecase.handle_sqs_records(scene.svc, [("m-1", good), ("m-2", "{not json")])
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert usecase.get(scene.svc, scene.staff("admin", team=""), job.id).status == "done"
