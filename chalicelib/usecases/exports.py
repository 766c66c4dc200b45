"""Bulk exports of history rows (analysts, admins): start a job, read it back, and the worker's step.

Starting a job writes the job next to where its files will go, logs the request with its purpose
(like every history read) and queues its first step; the worker (`export_worker` in app.py, or the
in-process queue locally) writes one part of one day per step and queues the next. The rows are
exactly `GET /v1/history/contacts`'s (`usecases.history.pseudonymised_row`), force-wide.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import exports, history
from chalicelib.domain.errors import NotFound, Unavailable
from chalicelib.domain.exports import ExportFile, ExportIn, ExportJob, ExportOut, ExportStep
from chalicelib.ports import QueueUnavailable
from chalicelib.usecases.history import pseudonymised_row

if TYPE_CHECKING:
    from chalicelib.services import Services

LOG = logging.getLogger("beatline.exports")
JSON = "application/json"


def _save(svc: Services, job: ExportJob) -> None:
    svc.exports.put(exports.job_key(job.id), exports.encode_job(job), JSON)


def _load(svc: Services, job_id: str) -> ExportJob | None:
    if not exports.check_job_id(job_id):
        return None
    raw = svc.exports.get(exports.job_key(job_id))
    return exports.decode_job(raw) if raw is not None else None


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
    """One part of one day, then the next step queued (or the job marked done). Idempotent: a
    redelivered step rewrites the same part with the same rows."""
    job = _load(svc, step.job)
    if job is None or job.status in ("done", "failed"):
        LOG.info("export step for %s dropped (%s)", step.job, job.status if job else "no such job")
        return
    occurred_from, occurred_to = exports.day_bounds(step.day)
    page = svc.store.history.contacts_page(
        history.plan(team=None, area_id=None, kind=None, platform=None, topic=None), months=[step.day[:7]],
        occurred_from=occurred_from, occurred_to=occurred_to, limit=rows_per_part, position=step.position)
    if page.rows:
        rows = [pseudonymised_row(svc, stored) for stored in page.rows]
        svc.exports.put(exports.part_key(job.id, step.day, step.part), exports.gzip_csv(rows), "application/gzip")
    following = exports.after(job, step, page.position)
    job.status = "running" if following is not None else "done"
    if page.position is None:
        job.through = max(job.through or step.day, step.day)
    job.updated_at = to_rfc3339(svc.clock())
    _save(svc, job)
    if following is not None:
        svc.export_queue.send(following)


def handle_sqs_records(svc: Services, records: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """(messageId, body) pairs -> SQS's partial batch response: a failed step is redelivered."""
    failures = []
    for message_id, body in records:
        try:
            run_step(svc, exports.decode_step(body))
        except Exception:
            LOG.exception("export step %s failed", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
