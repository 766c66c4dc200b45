"""Bulk exports of history rows (analysts, admins): start a job, read it back, and the worker's step.

Starting a job writes the job next to where its files will go, logs the request with its purpose
(like every history read) and queues its first step; the worker (`export_worker` in app.py, or the
in-process queue locally) writes one part of one day per step and queues the next. The rows are
exactly `GET /v1/history/contacts`'s (`usecases.history.pseudonymised_row`), force-wide.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import exports
from chalicelib.domain.errors import NotFound, Unavailable
from chalicelib.domain.exports import ExportFile, ExportIn, ExportJob, ExportOut, ExportStep
from chalicelib.ports import QueueUnavailable
from chalicelib.usecases.export_worker import load_job, save_job

if TYPE_CHECKING:
    from chalicelib.services import Services

JSON = "application/json"


def _save(svc: Services, job: ExportJob) -> None:
    save_job(svc.exports, job)


def _load(svc: Services, job_id: str) -> ExportJob | None:
    return load_job(svc.exports, job_id)


def start(svc: Services, ctx: RequestContext, body: ExportIn) -> ExportOut:
    """202: the job is queued; its first step runs off the request path."""
    exports.check_range(body)
    now = to_rfc3339(ctx.now)
    job = ExportJob(id=str(uuid.uuid4()), status="queued", owner=svc.pseudonyms.caller(ctx.caller.sub),
                    from_=body.from_.isoformat(), to=body.to.isoformat(), format=body.format, purpose=body.purpose,
                    created_at=now, updated_at=now)
    _save(svc, job)
    filters = {"from": job.from_, "to": job.to, "format": job.format, "job": job.id}
    svc.store.access_log.append(ctx.audit("history.bulk_export", query=filters, row_count=0, purpose=body.purpose))
    try:
        svc.export_queue.send(ExportStep(job=job.id, day=job.from_))
    except QueueUnavailable:
        job.status, job.updated_at = "failed", now
        _save(svc, job)
        raise Unavailable("The export could not be queued; try again.") from None
    return exports.to_out(job, svc.exports.location(exports.data_prefix(job.id)), [])


def get(svc: Services, ctx: RequestContext, job_id: str) -> ExportOut:
    """The job and its files so far (links that expire). Another analyst's job is 404, as an
    unknown one: ids are not an oracle. Handing out the links is logged with the job's purpose."""
    job = _load(svc, job_id)
    mine = job is not None and (job.owner == svc.pseudonyms.caller(ctx.caller.sub) or "admin" in ctx.caller.roles)
    if job is None or not mine:
        raise NotFound("No such export.")
    files = [ExportFile(day=exports.day_of(f.key), key=f.key, url=svc.exports.link(f.key), bytes=f.size)
             for f in svc.exports.files(exports.data_prefix(job.id))]
    svc.store.access_log.append(ctx.audit("history.bulk_export.links", query={"job": job.id},
                                          row_count=len(files), purpose=job.purpose))
    return exports.to_out(job, svc.exports.location(exports.data_prefix(job.id)), files)


def run_step(svc: Services, step: ExportStep, rows_per_part: int = exports.ROWS_PER_PART) -> None:
    """The worker's step on these services (usecases/export_worker.py)."""
    svc.export_worker(rows_per_part).run_step(step)


def handle_sqs_records(svc: Services, records: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    return svc.export_worker().handle_sqs_records(records)
