"""The access log's unalterable copy: DynamoDB stream records -> one S3 object per entry.

The roles that append to the access log hold `dynamodb:PutItem`, which IAM cannot restrict to new
items, so the table alone is append-only in code only. Every INSERT on its stream is written here
to a bucket with S3 Object Lock in compliance mode: no role, root included, can change or delete
an archived object before its retention ends.

- INSERT -> `access-log/<day>/<at_id>.json` (the item as written, plus stream metadata).
  Written with `If-None-Match: *`: a redelivered batch finds the object and counts it as done, so
  each entry has exactly one version.
- REMOVE by DynamoDB's TTL (userIdentity dynamodb.amazonaws.com) is ignored: expiry in the table
  is intended, and the archive keeps its copy for its own retention.
- Anything else (MODIFY, a REMOVE not by TTL) should not happen (no code path does it): it is
  archived as evidence under `access-log/<day>/<at_id>.<EVENT>.<sequence>.json` and logged.

Returns Lambda's partial batch response: the first record that could not be archived and, by
Lambda's rules for streams, everything after it is retried.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # boto3-stubs (dev only)

LOG = logging.getLogger("beatline.audit_archive")
PREFIX = "access-log"
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
# Key parts come from the item; anything outside this alphabet (or a path step) is refused.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AT_ID = re.compile(r"^[0-9A-Za-z:.+\-]{10,40}#[0-9a-f-]{36}$")


class ArchiveSink(Protocol):
    def put_new(self, key: str, body: bytes) -> bool:
        """Store `body` at `key` unless an object is already there; False if it was."""


class BadRecord(ValueError):
    """A stream record that cannot be archived (malformed keys or image)."""


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _image(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    try:
        return {name: _plain(deserializer.deserialize(value)) for name, value in (raw or {}).items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadRecord(f"undecodable image: {exc}") from exc


def _is_ttl_removal(record: Mapping[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return (record.get("eventName") == "REMOVE" and identity.get("type") == "Service"
            and identity.get("principalId") == TTL_PRINCIPAL)


def object_key(record: Mapping[str, Any]) -> str:
    """Where a record goes; refuses keys that are not the log's own (no path tricks)."""
    dynamodb = record.get("dynamodb") or {}
    keys = _image(dynamodb.get("Keys"))
    day, at_id = keys.get("day"), keys.get("at_id")
    if not (isinstance(day, str) and _DAY.match(day) and isinstance(at_id, str) and _AT_ID.match(at_id)):
        raise BadRecord("keys are not an access-log day/at_id")
    if record.get("eventName") == "INSERT":
        return f"{PREFIX}/{day}/{at_id}.json"
    sequence = str(dynamodb.get("SequenceNumber", ""))
    if not sequence.isdigit():
        raise BadRecord("no sequence number")
    return f"{PREFIX}/{day}/{at_id}.{record.get('eventName')}.{sequence}.json"


def document(record: Mapping[str, Any]) -> bytes:
    """The archived JSON: the new image as plain values plus where it came from in the stream."""
    dynamodb = record.get("dynamodb") or {}
    body = {
        "event": record.get("eventName"),
        "event_id": record.get("eventID"),
        "sequence_number": dynamodb.get("SequenceNumber"),
        "approximate_creation": _plain(dynamodb.get("ApproximateCreationDateTime")),
        "user_identity": record.get("userIdentity"),
        "keys": _image(dynamodb.get("Keys")),
        "item": _image(dynamodb.get("NewImage")) if "NewImage" in dynamodb else None,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def archive_record(sink: ArchiveSink, record: Mapping[str, Any]) -> str:
    """Archive one record; returns what happened: archived, duplicate, ignored or flagged."""
    if _is_ttl_removal(record):
        return "ignored"
    name = record.get("eventName")
    if name not in ("INSERT", "MODIFY", "REMOVE"):
        raise BadRecord(f"unknown event {name!r}")
    if name == "INSERT" and "NewImage" not in (record.get("dynamodb") or {}):
        raise BadRecord("INSERT without a new image (stream view type must be NEW_IMAGE)")
    key = object_key(record)
    created = sink.put_new(key, document(record))
    if name != "INSERT":
        LOG.warning("access log changed in place: %s archived as evidence at %s", name, key)
        return "flagged"
    return "archived" if created else "duplicate"


def archive_batch(sink: ArchiveSink, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Archive in stream order; stop at the first failure and report it (Lambda retries from it)."""
    counts = {"archived": 0, "duplicate": 0, "ignored": 0, "flagged": 0}
    for record in records:
        try:
            counts[archive_record(sink, record)] += 1
        except Exception:
            LOG.exception("access-log record %s not archived", record.get("eventID"))
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
            return {"batchItemFailures": [{"itemIdentifier": sequence}], **counts}
    return {"batchItemFailures": [], **counts}


class S3Sink:
    """The S3 adapter: PutObject with If-None-Match (one version per key) and a SHA-256 checksum
    (Object Lock buckets refuse uploads without an integrity checksum)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put_new(self, key: str, body: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, IfNoneMatch="*",
                ContentType="application/json", ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise
        return True


@lru_cache(maxsize=1)
def sink_from_settings(settings: Any) -> ArchiveSink:
    """One S3 client per warm Lambda."""
    if not settings.audit_archive_bucket:
        raise RuntimeError("BEATLINE_AUDIT_ARCHIVE_BUCKET is not set")
    import boto3

    return S3Sink(boto3.client("s3", region_name=settings.region), settings.audit_archive_bucket)


def handle_stream_event(records: list[Mapping[str, Any]], sink: ArchiveSink | None = None) -> dict[str, Any]:
    """The body of app.py's access_log_archiver (raw stream records in, partial batch response out)."""
    if sink is None:
        from chalicelib.settings import SETTINGS

        sink = sink_from_settings(SETTINGS)
    result = archive_batch(sink, records)
    LOG.info("archive batch: %s", {k: v for k, v in result.items() if k != "batchItemFailures"})
    return {"batchItemFailures": result["batchItemFailures"]}
