"""The access-log archiver: DynamoDB stream records -> an S3 bucket with Object Lock (moto S3).

Records are built from the real model's serialisation (what DynamoDB puts in NEW_IMAGE)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.audit_archive import S3Sink, archive_batch, handle_stream_event
from chalicelib.domain.access import AccessRecord
from chalicelib.store.access_log import to_model

BUCKET = "beatline-test-audit-archive"
AT = datetime(2026, 11, 30, 9, 15, 0, tzinfo=UTC)
_sequence = iter(range(10**20, 10**21))


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"},
                             ObjectLockEnabledForBucket=True)
        client.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}})
        yield client


def entry(**changes: Any) -> AccessRecord:
    fields: dict[str, Any] = {"actor": "usr_abc", "role": "analyst", "action": "history.contacts", "at": AT,
                              "request_id": "req-1", "query": {"team": "north"}, "row_count": 3, "purpose": "audit"}
    fields.update(changes)
    return AccessRecord(**fields)


def stream_record(record: AccessRecord, event: str = "INSERT", *, ttl: bool = False) -> dict[str, Any]:
    image = to_model(record).serialize()
    keys = {"day": image["day"], "at_id": image["at_id"]}
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795000000, "Keys": keys,
        "SequenceNumber": str(next(_sequence)), "SizeBytes": 300, "StreamViewType": "NEW_IMAGE",
    }
    if event != "REMOVE":
        dynamodb["NewImage"] = image
    out: dict[str, Any] = {
        "eventID": f"evt-{dynamodb['SequenceNumber']}", "eventName": event, "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "eu-west-2", "dynamodb": dynamodb,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-2:123456789012:table/beatline-dev-access-log/stream/2026",
    }
    if ttl:
        out["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return out


def objects(s3: Any) -> dict[str, list[dict[str, Any]]]:
    versions = s3.list_object_versions(Bucket=BUCKET).get("Versions", [])
    found: dict[str, list[dict[str, Any]]] = {}
    for version in versions:
        body = s3.get_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
        found.setdefault(version["Key"], []).append(json.loads(body))
    return found


def test_insert_is_archived_with_the_item_and_is_locked(s3: Any) -> None:
    record = entry()
    result = handle_stream_event([stream_record(record)], S3Sink(s3, BUCKET))
    assert result == {"batchItemFailures": []}
    key = f"access-log/2026-11-30/{record.at_id}.json"
    stored = objects(s3)
    assert list(stored) == [key]
    item = stored[key][0]["item"]
    assert item["actor"] == "usr_abc" and item["query"] == '{"team": "north"}' and item["row_count"] == 3
    assert item["expires_at"] == int((AT + timedelta(days=2190)).timestamp())
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    version = s3.list_object_versions(Bucket=BUCKET)["Versions"][0]["VersionId"]
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)


def test_redelivered_batch_writes_each_entry_once(s3: Any) -> None:
    batch = [stream_record(entry()), stream_record(entry(action="contact.read", record_id="c-1"))]
    sink = S3Sink(s3, BUCKET)
    first = archive_batch(sink, batch)
    again = archive_batch(sink, batch)
    assert (first["archived"], first["duplicate"]) == (2, 0)
    assert (again["archived"], again["duplicate"], again["batchItemFailures"]) == (0, 2, [])
    assert all(len(versions) == 1 for versions in objects(s3).values())
    assert len(objects(s3)) == 2


def test_ttl_removals_are_ignored_and_other_changes_kept_as_evidence(s3: Any) -> None:
    record = entry()
    sink = S3Sink(s3, BUCKET)
    archive_batch(sink, [stream_record(record)])
    result = archive_batch(sink, [
        stream_record(record, "REMOVE", ttl=True),  # TTL expiry: the archive keeps its copy
        stream_record(entry(request_id="req-1", actor="usr_forged", entry_id=record.entry_id), "MODIFY"),
        stream_record(record, "REMOVE"),  # a delete by a principal, not by TTL
    ])
    assert (result["ignored"], result["flagged"], result["batchItemFailures"]) == (1, 2, [])
    stored = objects(s3)
    original = stored[f"access-log/2026-11-30/{record.at_id}.json"]
    assert [o["item"]["actor"] for o in original] == ["usr_abc"], "the original is untouched"
    evidence = sorted(k for k in stored if ".MODIFY." in k or ".REMOVE." in k)
    assert len(evidence) == 2
    modify = next(v[0] for k, v in stored.items() if ".MODIFY." in k)
    assert modify["event"] == "MODIFY" and modify["item"]["actor"] == "usr_forged"


@pytest.mark.parametrize("breakage", [
    {"day": {"S": "../../etc"}},
    {"day": {"S": "2026-11-30/../x"}},
    {"at_id": {"S": "2026-11-30T09:15:00Z#not-a-uuid/.."}},
    {"at_id": {"N": "1"}},
    {"day": {"BOGUS": "x"}},
])
def test_a_bad_record_is_reported_and_later_ones_wait(s3: Any, breakage: dict[str, Any]) -> None:
    """Stream order: the first bad record is the failure Lambda retries (then bisects, then sends
    to the on-failure queue); records after it are not archived in this attempt."""
    good, bad, after = stream_record(entry()), stream_record(entry()), stream_record(entry())
    bad["dynamodb"]["Keys"].update(breakage)
    result = archive_batch(S3Sink(s3, BUCKET), [good, bad, after])
    assert result["batchItemFailures"] == [{"itemIdentifier": bad["dynamodb"]["SequenceNumber"]}]
    assert list(objects(s3)) == [f"access-log/2026-11-30/{good['dynamodb']['Keys']['at_id']['S']}.json"]


def test_insert_without_new_image_and_unknown_events_fail(s3: Any) -> None:
    no_image = stream_record(entry())
    del no_image["dynamodb"]["NewImage"]
    unknown = stream_record(entry())
    unknown["eventName"] = "TRUNCATE"
    for record in (no_image, unknown):
        result = archive_batch(S3Sink(s3, BUCKET), [record])
        assert result["batchItemFailures"] == [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
    assert objects(s3) == {}


def test_s3_failure_is_a_batch_item_failure(s3: Any) -> None:
    """No such bucket (or no permission): reported, not swallowed."""
    record = stream_record(entry())
    result = handle_stream_event([record], S3Sink(s3, "beatline-test-missing-bucket"))
    assert result == {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}


def test_app_wires_the_archiver_to_the_access_log_stream(app: Any) -> None:
    from chalicelib.settings import SETTINGS

    handler = app.event_sources
    stream = [s for s in handler if getattr(s, "name", "") == "access_log_archiver"]
    assert len(stream) == 1
    assert f"table/{SETTINGS.table_name('access-log')}/stream/" in stream[0].stream_arn
    assert stream[0].starting_position == "TRIM_HORIZON"
