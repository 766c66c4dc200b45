"""The export worker (the `export_worker` function; in-process locally): one step of a bulk export
per queue message. Its dependencies are explicit (like the fan-out worker's), built by
`Services.export_worker()`; starting and reading jobs is `usecases/exports.py`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.clock import Clock, to_rfc3339
from chalicelib.domain import exports, history
from chalicelib.domain.exports import ExportJob, ExportStep
from chalicelib.domain.pseudonyms import Pseudonymizer
from chalicelib.ports import ExportQueue, ExportSink, HistoryRepository
from chalicelib.usecases.batches import partial_batch_response

LOG = logging.getLogger("beatline.exports")
JSON = "application/json"
FORCE_WIDE = history.plan(team=None, area_id=None, kind=None, platform=None, topic=None)


def save_job(sink: ExportSink, job: ExportJob) -> None:
    sink.put(exports.job_key(job.id), exports.encode_job(job), JSON)


def load_job(sink: ExportSink, job_id: str) -> ExportJob | None:
    """The job, None for an unknown id or one this service never makes (never a storage key)."""
    if not exports.check_job_id(job_id):
        return None
    raw = sink.get(exports.job_key(job_id))
    return exports.decode_job(raw) if raw is not None else None


class ExportWorker:
    def __init__(self, *, sink: ExportSink, queue: Callable[[], ExportQueue], history_rows: HistoryRepository,
                 pseudonyms: Callable[[], Pseudonymizer], clock: Clock,
                 rows_per_part: int = exports.ROWS_PER_PART) -> None:
        self._sink = sink
        self._queue = queue
        self._history = history_rows
        self._pseudonyms = pseudonyms
        self._clock = clock
        self._rows_per_part = rows_per_part

    def run_step(self, step: ExportStep) -> None:
        """One part of one day, then the next step queued (or the job marked done). Idempotent: a
        redelivered step rewrites the same part with the same rows; a finished job ignores it."""
        job = load_job(self._sink, step.job)
        if job is None or job.status in ("done", "failed"):
            LOG.info("export step for %s dropped (%s)", step.job, job.status if job else "no such job")
            return
        occurred_from, occurred_to = exports.day_bounds(step.day)
        page = self._history.contacts_page(FORCE_WIDE, months=[step.day[:7]], occurred_from=occurred_from,
                                           occurred_to=occurred_to, limit=self._rows_per_part, position=step.position)
        if page.rows:
            names = self._pseudonyms()
            rows = [history.pseudonymised_row(stored, names) for stored in page.rows]
            self._sink.put(exports.part_key(job.id, step.day, step.part), exports.gzip_csv(rows), "application/gzip")
        following = exports.after(job, step, page.position)
        job.status = "running" if following is not None else "done"
        if page.position is None:
            job.through = max(job.through or step.day, step.day)
        job.updated_at = to_rfc3339(self._clock())
        save_job(self._sink, job)
        if following is not None:
            self._queue().send(following)

    def handle_sqs_records(self, records: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
        """(messageId, body) pairs -> SQS's partial batch response: a failed step is redelivered."""
        return partial_batch_response(records, lambda body: self.run_step(exports.decode_step(body)),
                                      "export step", LOG)
