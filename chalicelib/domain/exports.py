"""Bulk exports of analysts' history rows (issue 21): the request, the job, where its files go and
the step a worker takes next. Pure, no I/O.

A job writes the pseudonymised history rows (exactly `GET /v1/history/contacts`'s, force-wide) of
whole UTC days as gzip CSV files, one folder per day in Hive style so Athena partitions by day:

    exports/<job>/job.json                                    the job (status, request)
    exports/<job>/data/dt=2026-11-03/part-00000.csv.gz        rows of that day (up to ROWS_PER_PART)

The worker takes one step per queue message: one part of one day (a Query page walk of at most
ROWS_PER_PART rows), then enqueues the next step (the same day from where it stopped, the next
day, or nothing: the job is done). Every step is idempotent (the same message writes the same part
at the same key), so a redelivered message changes nothing.
"""

from __future__ import annotations

import gzip
import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from chalicelib.domain.errors import FieldError, RuleViolation
from chalicelib.domain.history import MAX_RANGE_DAYS, HistoryRow, Purpose, to_csv

ROWS_PER_PART = 5000  # ~100 KB gzip; one step stays well inside a worker's time budget
PREFIX = "exports"
JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
Status = Literal["queued", "running", "done", "failed"]


class ExportIn(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: Annotated[date, Meta(description="First UTC day (YYYY-MM-DD), inclusive.")] = msgspec.field(name="from")
    to: Annotated[date, Meta(description=f"Last UTC day, inclusive; at most {MAX_RANGE_DAYS} days after `from`.")]
    format: Annotated[Literal["csv"], Meta(description="gzip CSV (RFC 4180, a header line per file).")] = "csv"
    purpose: Purpose


class ExportJob(Struct, kw_only=True, omit_defaults=True):
    """The job as kept next to its files (`exports/<job>/job.json`)."""

    id: str
    status: Status
    owner: str  # the requester as a keyed caller pseudonym (`usr_`): who may read it back
    from_: str = msgspec.field(name="from")
    to: str
    format: str
    purpose: str
    created_at: str
    updated_at: str
    through: str | None = None  # the last day whose rows are all written


class ExportFile(Struct, kw_only=True):
    day: str
    key: Annotated[str, Meta(description="Object key (S3) or path (local) of the file.")]
    url: Annotated[str, Meta(description="Where to fetch it: a presigned S3 URL (short-lived) or a local file URI.")]
    bytes: int


class ExportOut(Struct, kw_only=True):
    id: str
    status: Status
    from_: str = msgspec.field(name="from")
    to: str
    format: str
    created_at: str
    updated_at: str
    through: Annotated[str | None, Meta(description="The last day whose rows are all written.")] = None
    location: Annotated[str, Meta(description=(
        "The table's data location (`s3://bucket/exports/<job>/data/` in AWS): point Athena's LOCATION "
        "at it (docs/history.md has the DDL)."))]
    files: Annotated[list[ExportFile], Meta(description="Written so far; complete when `status` is `done`.")]


class ExportStep(Struct, kw_only=True, tag="export", tag_field="type"):
    """One queue message: write part `part` of `day`, continuing from `position`."""

    job: str
    day: str
    part: int = 0
    position: dict[str, Any] | None = None


def check_range(body: ExportIn) -> None:
    if body.from_ > body.to:
        raise RuleViolation("`from` is after `to`.", [FieldError("from", "must not be after `to`")])
    if body.to - body.from_ > timedelta(days=MAX_RANGE_DAYS):
        raise RuleViolation(f"The range is longer than {MAX_RANGE_DAYS} days.",
                            [FieldError("to", f"at most {MAX_RANGE_DAYS} days after `from`")])


def check_job_id(job_id: str) -> bool:
    """Only ids this service makes (UUID 4): anything else never reaches a storage key."""
    return bool(JOB_ID.match(job_id))


def job_key(job_id: str) -> str:
    return f"{PREFIX}/{job_id}/job.json"


def data_prefix(job_id: str) -> str:
    return f"{PREFIX}/{job_id}/data/"


def part_key(job_id: str, day: str, part: int) -> str:
    return f"{data_prefix(job_id)}dt={day}/part-{part:05d}.csv.gz"


def day_of(key: str) -> str:
    """`.../dt=2026-11-03/part-00000.csv.gz` -> `2026-11-03`."""
    return key.rsplit("/dt=", 1)[-1].split("/", 1)[0]


def day_bounds(day: str) -> tuple[str, str]:
    """The `occurred_at` range of one UTC day (stored times are whole seconds, `Z`)."""
    return f"{day}T00:00:00Z", f"{day}T23:59:59Z"


def next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def after(job: ExportJob, step: ExportStep, position: dict[str, Any] | None) -> ExportStep | None:
    """The step after `step` stopped at `position`: more of the day, the next day, or None (done)."""
    if position is not None:
        return ExportStep(job=job.id, day=step.day, part=step.part + 1, position=position)
    if step.day < job.to:
        return ExportStep(job=job.id, day=next_day(step.day))
    return None


def gzip_csv(rows: list[HistoryRow]) -> bytes:
    """The rows as the CSV route writes them, gzip'd (mtime 0: the same rows give the same bytes)."""
    return gzip.compress(to_csv(rows).encode("utf-8"), mtime=0)


def encode_step(step: ExportStep) -> str:
    return msgspec.json.encode(step).decode()


def decode_step(body: str | bytes) -> ExportStep:
    return msgspec.json.decode(body, type=ExportStep)


def encode_job(job: ExportJob) -> bytes:
    return msgspec.json.encode(job)


def decode_job(raw: bytes) -> ExportJob:
    return msgspec.json.decode(raw, type=ExportJob)


def to_out(job: ExportJob, location: str, files: list[ExportFile]) -> ExportOut:
    return ExportOut(id=job.id, status=job.status, from_=job.from_, to=job.to, format=job.format,
                     created_at=job.created_at, updated_at=job.updated_at, through=job.through,
                     location=location, files=files)
