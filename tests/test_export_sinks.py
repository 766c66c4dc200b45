"""The export sinks (ports.ExportSink): S3 on moto and the local folder, each running a whole job
through the use cases on fakes; the folder refuses keys outside itself."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import msgspec
import pytest
from moto import mock_aws

from chalicelib.clock import to_rfc3339
from chalicelib.domain.contact_schemas import ContactIn
from chalicelib.domain.exports import ExportIn
from chalicelib.ports import ExportSink
from chalicelib.store.export_files import FolderExportSink, S3ExportSink
from chalicelib.usecases import contacts as contact_cases
from chalicelib.usecases import exports as usecase
from tests.scenes import Scene

pytestmark = pytest.mark.no_database
BUCKET = "beatline-test-exports"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client


def _run_job(sink: ExportSink) -> tuple[Scene, Any]:
    scene = Scene(export_sink=sink)  # the in-process queue: the job runs to the end inside start()
    now = scene.fakes.clock()
    for hours in (1, 26):
        body = {"id": str(uuid.uuid4()), "kind": "online", "occurred_at": to_rfc3339(now - timedelta(hours=hours)),
                "topic": "youth", "outcome": "advice_given", "platform": "facebook", "direction": "inbound"}
        contact_cases.create_contact(scene.svc, scene.staff("officer"), msgspec.json.decode(json.dumps(body),
                                                                                             type=ContactIn))
    analyst = scene.staff("analyst", team="")
    job = usecase.start(scene.svc, analyst, ExportIn(from_=now.date() - timedelta(days=1), to=now.date(),
                                                     purpose="sink test"))
    return scene, usecase.get(scene.svc, analyst, job.id)


def test_s3_sink_runs_a_job_and_hands_out_presigned_links(s3: Any) -> None:
    _, job = _run_job(S3ExportSink(s3, BUCKET, link_seconds=300))
    assert job.status == "done" and len(job.files) == 2
    assert job.location == f"s3://{BUCKET}/exports/{job.id}/data/"
    for file in job.files:
        body = s3.get_object(Bucket=BUCKET, Key=file.key)["Body"].read()
        assert file.bytes == len(body) and gzip.decompress(body).startswith(b"row,occurred_at,")
        link = urlparse(file.url)
        assert unquote(link.path).endswith(file.key) and parse_qs(link.query)["X-Amz-Expires"] == ["300"]
    assert S3ExportSink(s3, BUCKET).get("exports/none/job.json") is None
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(keys) == sorted([f"exports/{job.id}/job.json", *(f.key for f in job.files)])


def test_folder_sink_runs_a_job_into_its_folder(tmp_path: Path) -> None:
    _, job = _run_job(FolderExportSink(tmp_path / "exports"))
    assert job.status == "done" and [f.day for f in job.files] == sorted(f.day for f in job.files)
    for file in job.files:
        path = tmp_path / "exports" / file.key
        assert file.url == path.as_uri() and gzip.decompress(path.read_bytes()).count(b"\r\n") == 2
    assert job.location == str(tmp_path / "exports" / "exports" / job.id / "data") + "/"
    assert not list((tmp_path / "exports").rglob("*.partial"))


def test_folder_sink_refuses_keys_outside_its_folder(tmp_path: Path) -> None:
    sink = FolderExportSink(tmp_path / "exports")
    for key in ("../escape.json", "exports/../../escape.json", "/etc/passwd"):
        with pytest.raises(ValueError):
            sink.put(key, b"x", "application/json")
    assert not (tmp_path / "escape.json").exists()
    assert sink.files("exports/none/") == [] and sink.get("exports/none/job.json") is None


@pytest.fixture(params=["fake", "folder", "s3"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExportSink]:
    """The port contract: the fake the rule tests use behaves like both adapters."""
    if request.param == "fake":
        from tests.fakes import FakeExportSink

        yield FakeExportSink()
    elif request.param == "folder":
        yield FolderExportSink(tmp_path / "exports")
    else:
        with mock_aws():
            client = boto3.client("s3", region_name="eu-west-2")
            client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
            yield S3ExportSink(client, BUCKET)


def test_port_contract_put_get_list_replace(sink: ExportSink) -> None:
    assert sink.get("exports/a/job.json") is None and sink.files("exports/a/") == []
    sink.put("exports/a/job.json", b'{"v":1}', "application/json")
    sink.put("exports/a/data/dt=2026-11-02/part-00000.csv.gz", b"xx", "application/gzip")
    sink.put("exports/a/data/dt=2026-11-01/part-00000.csv.gz", b"yyy", "application/gzip")
    sink.put("exports/ab/job.json", b"{}", "application/json")  # a sibling prefix is not listed
    sink.put("exports/a/job.json", b'{"v":2}', "application/json")  # replaced whole
    assert sink.get("exports/a/job.json") == b'{"v":2}'
    assert [(f.key, f.size) for f in sink.files("exports/a/data/")] == [
        ("exports/a/data/dt=2026-11-01/part-00000.csv.gz", 3), ("exports/a/data/dt=2026-11-02/part-00000.csv.gz", 2)]
    assert len(sink.files("exports/a/")) == 3
    assert sink.location("exports/a/data/").rstrip("/").endswith("exports/a/data")
    assert "exports/a/data/" in unquote(sink.link("exports/a/data/dt=2026-11-01/part-00000.csv.gz"))
