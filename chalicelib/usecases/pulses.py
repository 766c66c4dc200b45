"""The confidence pulse (docs/history.md "Residents' trust"): an admin writes it, the pulse worker
(usecases/pulse_worker.py) delivers it off the request path, residents answer it once (kept as
counts only). `create_pulse` validates, writes the pulse (`queued`) and enqueues its first step
(domain/pulses.py); the reply does not wait for the delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import pulses as steps
from chalicelib.domain import trust as rules
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.errors import Conflict, FieldError, NotFound, RuleViolation, StateForbids, Unavailable
from chalicelib.domain.pulses import QUEUED, SENT, PulseStep
from chalicelib.domain.trust import Pulse, PulseAnswerIn, PulseAnswerOut, PulseIn, PulseOut, PulseSent
from chalicelib.ports import QueueUnavailable
from chalicelib.usecases.neighbourhood_access import uuid_or_404
from chalicelib.usecases.pulse_worker import inbox_copy, pulse_expiry

if TYPE_CHECKING:
    from chalicelib.services import Services

RETRY_AFTER = 60  # seconds: a pulse whose first step could not be queued is resumed by a retry after this


# -- the request ---------------------------------------------------------------------------------

def _areas(svc: Services, body: PulseIn) -> list[AreaRecord]:
    found = []
    for index, area_id in enumerate(body.areas):
        area = svc.store.areas.get(str(area_id))
        if area is None:
            raise RuleViolation("Unknown area.", [FieldError(f"areas[{index}]", "no named area has this id")])
        found.append(area)
    if len({a.id for a in found}) != len(found):
        raise RuleViolation("An area is listed twice.", [FieldError("areas", "each area once")])
    return found


def stalled(pulse: Pulse, now: datetime) -> bool:
    """Not sent and without progress for a while: its chain of steps broke (a first step never
    queued, a step in the dead-letter queue), so an identical POST starts it again. A healthy
    chain moves `updated_at` on every step (each well under a minute)."""
    if pulse.state == SENT:
        return False
    quiet = now - parse_rfc3339(pulse.updated_at or pulse.created_at)
    limit = timedelta(seconds=RETRY_AFTER) if pulse.state == QUEUED else timedelta(minutes=steps.STALLED_MINUTES)
    return quiet >= limit


def create_pulse(svc: Services, ctx: RequestContext, body: PulseIn) -> tuple[bool, PulseOut]:
    """An admin asks the residents following `areas` (or a sample) the confidence question: the
    pulse is written (`queued`) and its delivery queued; the reply does not wait for it.
    Idempotent on `id` (an identical retry resumes a stalled delivery; 409 for other content)."""
    areas = _areas(svc, body)
    now = to_rfc3339(ctx.now)
    pulse = Pulse(id=str(body.id), question=body.question, areas=tuple(a.id for a in areas), sample=body.sample,
                  created_at=now, state=QUEUED, updated_at=now)
    existing = svc.store.trust.create_pulse(pulse)
    if existing is not None and not existing.same_request(body):
        raise Conflict("A pulse with this id exists with other content.")
    stored = existing or pulse
    svc.store.access_log.append(ctx.audit("pulse.create", record_id=stored.id, row_count=stored.sent))
    if existing is None or stalled(existing, ctx.now):
        try:
            svc.pulse_queue.send(PulseStep(pulse=stored.id))
        except QueueUnavailable:
            raise Unavailable("The pulse is saved but its delivery could not be queued; send the same request "
                              "again.", retry_after=RETRY_AFTER) from None
    return existing is None, stored.to_out()


def get_pulse(svc: Services, ctx: RequestContext, pulse_id: str) -> PulseOut:
    """The pulse and its delivery (`state`, `sent` so far); one GetItem."""
    pulse = svc.store.trust.get_pulse(uuid_or_404(pulse_id, "pulse"))
    if pulse is None:
        raise NotFound("No such pulse.")
    return pulse.to_out()


# -- the worker (usecases/pulse_worker.py) -------------------------------------------------------

def run_step(svc: Services, step: PulseStep, *, page_size: int | None = None, budget: int | None = None) -> int:
    """The worker's step on these services: the residents it reached."""
    return svc.pulse_worker(page_size=page_size, budget=budget).run_step(step)


def handle_sqs_records(svc: Services, records: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    return svc.pulse_worker().handle_sqs_records(records)


# -- answers -------------------------------------------------------------------------------------

def answer_pulse(svc: Services, ctx: RequestContext, pulse_id: str, body: PulseAnswerIn) -> PulseAnswerOut:
    """Once per resident the pulse reached (404 for anyone else, 409 a second time, 422 once it
    expired); counted, never stored with the resident."""
    from chalicelib.usecases.subscribers import current

    record = current(svc, ctx)
    pulse = svc.store.trust.get_pulse(uuid_or_404(pulse_id, "pulse"))
    if pulse is None:
        raise NotFound("No such pulse.")
    if ctx.now >= pulse_expiry(pulse):
        raise StateForbids("This question has closed.")
    at = to_rfc3339(ctx.now)

    def counts(sent: PulseSent) -> Mapping[tuple[str, str], int]:
        return rules.count_keys({"confidence": body.answer}, team=sent.team, area_id=sent.area_id, day=at[:10],
                                shard=rules.shard_of(f"{pulse.id}|{uuid.uuid4()}"))

    outcome = svc.store.trust.answer_pulse(pulse.id, record.id, counts,
                                           lambda sent: inbox_copy(pulse, sent, answered=True), at)
    if outcome == "not_sent":
        raise NotFound("No such pulse among the questions sent to you.")
    if outcome == "already":
        raise Conflict("You have answered this question already.")
    return PulseAnswerOut(pulse_id=pulse.id, answered=True)
