"""Residents' trust: a one-tap rating of a team answer, the confidence pulse, and the figures
(docs/history.md "Residents' trust"). Answers are kept as counts only (domain/trust.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import trust as rules
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.conversations import MESSAGES_PAGE_MAX
from chalicelib.domain.errors import Conflict, FieldError, Forbidden, NotFound, RuleViolation, StateForbids
from chalicelib.domain.notices import PULSE
from chalicelib.domain.subscribers import SUBSCRIPTION_RESOLUTION, PulseInboxItem
from chalicelib.domain.trust import (
    Pulse,
    PulseAnswerIn,
    PulseAnswerOut,
    PulseIn,
    PulseOut,
    PulseSent,
    Rating,
    RatingIn,
    RatingOut,
    TrustOut,
    TrustQuery,
)
from chalicelib.ports import InboxCopy
from chalicelib.usecases.neighbourhood_access import follows, uuid_or_404

if TYPE_CHECKING:
    from chalicelib.domain.subscribers import SubscriberRecord
    from chalicelib.services import Services

PULSE_DAYS = 30  # a pulse stays in the inbox, answerable, this long (its sent items expire then)
INDEX_PAGE = 500
FORCE_ROLES = frozenset({"analyst", "admin", "leader"})


def _resident_audit(svc: Services, ctx: RequestContext, record: SubscriberRecord, action: str,
                    record_id: str) -> AccessRecord:
    from chalicelib.usecases.residents import resident_name

    return AccessRecord(actor=resident_name(svc, record), role="resident", action=action, at=ctx.now,
                        request_id=ctx.request_id, record_id=record_id)


# -- ratings -------------------------------------------------------------------------------------

def _latest_team_answer(svc: Services, conversation_id: str) -> str | None:
    messages, _ = svc.store.conversations.message_page(conversation_id, MESSAGES_PAGE_MAX, None)
    answers = [m.id for m in messages if m.sender == "team"]
    return answers[-1] if answers else None


def rate(svc: Services, ctx: RequestContext, conversation_id: str, body: RatingIn) -> RatingOut:
    """The owner rates the conversation's latest team answer (or a close without any answer),
    once: 409 for a second rating of the same answer, 422 when there is nothing to rate yet."""
    from chalicelib.usecases.subscribers import current

    record = current(svc, ctx)
    conv = svc.store.conversations.get(uuid_or_404(conversation_id, "conversation"))
    if conv is None or not conv.owner or conv.owner != record.id:
        raise NotFound("No such conversation.")
    target = rules.rating_target(_latest_team_answer(svc, conv.id), conv.status, conv.last_message_at)
    if target is None:
        raise StateForbids("There is no team answer to rate yet (nor a close).")
    rated_at = to_rfc3339(ctx.now)
    rating = Rating(conversation_id=conv.id, target=target, subscriber_id=record.id, answered=body.answered,
                    satisfaction=body.satisfaction, rated_at=rated_at)
    counts = rules.count_keys({"answered": body.answered, "satisfaction": str(body.satisfaction)}, team=conv.team,
                              area_id=conv.area_id, day=rated_at[:10], shard=rules.shard_of(f"{conv.id}|{target}"))
    audit = _resident_audit(svc, ctx, record, "conversation.rate", conv.id)
    if not svc.store.trust.rate(rating, conv.expires_at, counts, audit):
        raise Conflict("You have rated this answer already.")
    return rating.to_out()


# -- pulses --------------------------------------------------------------------------------------

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


def _followers(svc: Services, area: AreaRecord) -> list[SubscriberRecord]:
    """Residents following the named area. Its followers are indexed under every cell of its cover
    (their shape is the area's), so one cell's index partition holds them all: one paged Query,
    then the records (BatchGetItem) to keep those who follow the area by id."""
    cells = sorted(svc.cover(area.geometry, SUBSCRIPTION_RESOLUTION))
    if not cells:
        return []
    candidates: list[str] = []
    start = None
    while True:
        page, start = svc.store.subscribers.index_page(cells[0], INDEX_PAGE, start)
        candidates += [subscriber_id for subscriber_id, _shapes, _cells in page]
        if start is None:
            break
    records = svc.store.subscribers.many(candidates)
    return [records[sid] for sid in sorted(records) if follows(records[sid], area.id)]


def _audience(svc: Services, pulse: Pulse, areas: list[AreaRecord]) -> list[PulseSent]:
    """Followers of the pulse's areas (each counted under the first of its areas they follow),
    sampled by keyed hash; the same residents on every retry."""
    key = svc.pseudonyms.subkey("pulse-sample")
    inbox_key = f"{pulse.created_at}#pulse#{pulse.id}"
    chosen: dict[str, PulseSent] = {}
    for area in areas:
        for record in _followers(svc, area):
            if record.id not in chosen and rules.sampled(key, pulse.id, record.id, pulse.sample):
                chosen[record.id] = PulseSent(subscriber_id=record.id, area_id=area.id, team=area.team,
                                              inbox_key=inbox_key)
    return list(chosen.values())


def _inbox_copy(pulse: Pulse, sent: PulseSent, answered: bool = False) -> InboxCopy:
    expires = pulse_expiry(pulse)
    item = PulseInboxItem(pulse_id=pulse.id, question=pulse.question, area_id=sent.area_id,
                                sent_at=pulse.created_at, expires_at=to_rfc3339(expires), answered=answered)
    return InboxCopy(sent.subscriber_id, sent.inbox_key, msgspec.json.encode(item).decode(), expires)


def pulse_expiry(pulse: Pulse) -> datetime:
    return parse_rfc3339(pulse.created_at) + timedelta(days=PULSE_DAYS)


def _deliver(svc: Services, pulse: Pulse, areas: list[AreaRecord]) -> int:
    """Inbox copies first, then the sent items, then the pushes: a retry of a delivery cut short
    completes it (residents already reached are skipped; nobody is pushed twice)."""
    from chalicelib.usecases.priorities import enqueue_notices

    audience = _audience(svc, pulse, areas)
    new = set(svc.store.trust.unsent(pulse.id, [s.subscriber_id for s in audience]))
    reach = [s for s in audience if s.subscriber_id in new]
    svc.store.subscribers.put_inbox(_inbox_copy(pulse, s) for s in reach)
    svc.store.trust.mark_sent(pulse.id, reach, to_rfc3339(svc.clock()), pulse_expiry(pulse))
    enqueue_notices(svc, PULSE, pulse.id, sorted(s.subscriber_id for s in reach))
    return len(reach)


def create_pulse(svc: Services, ctx: RequestContext, body: PulseIn) -> tuple[bool, PulseOut]:
    """An admin asks the residents following `areas` (or a sample) the confidence question.
    Idempotent on `id` (a retry completes a delivery cut short; 409 for other content)."""
    areas = _areas(svc, body)
    pulse = Pulse(id=str(body.id), question=body.question, areas=tuple(a.id for a in areas), sample=body.sample,
                  created_at=to_rfc3339(ctx.now))
    existing = svc.store.trust.create_pulse(pulse)
    if existing is not None and not existing.same_request(body):
        raise Conflict("A pulse with this id exists with other content.")
    stored = existing or pulse
    sent = stored.sent + _deliver(svc, stored, areas)
    svc.store.trust.set_pulse_sent(stored.id, sent)
    svc.store.access_log.append(ctx.audit("pulse.create", record_id=stored.id, row_count=sent))
    return existing is None, PulseOut(id=stored.id, question=stored.question, areas=list(stored.areas),
                                      sample=stored.sample, created_at=stored.created_at, sent=sent)


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
                                           lambda sent: _inbox_copy(pulse, sent, answered=True), at)
    if outcome == "not_sent":
        raise NotFound("No such pulse among the questions sent to you.")
    if outcome == "already":
        raise Conflict("You have answered this question already.")
    return PulseAnswerOut(pulse_id=pulse.id, answered=True)


# -- figures -------------------------------------------------------------------------------------

def _scope(svc: Services, ctx: RequestContext, query: TrustQuery) -> str | None:
    """The team the read is held to (None: the force). Supervisors: their own team only; an
    `area_id` selects its team's partition (404 for an unknown area)."""
    caller = ctx.caller
    team = query.team
    if query.area_id is not None:
        area = svc.store.areas.get(uuid_or_404(query.area_id, "area"))
        if area is None or (team is not None and area.team != team):
            raise NotFound("No such area (in that team).")
        team = area.team
    if caller.roles & FORCE_ROLES:
        return team
    if not caller.team or (team is not None and team != caller.team):
        raise Forbidden("Supervisors may query their own team only.")
    return caller.team


def _whole_months(day_from: date, day_to: date) -> tuple[date, date]:
    """The range a month-grain read covers: from the first day of `from`'s month to the last of
    `to`'s (counters are per whole month, so a range that clips a month reads all of it)."""
    first = day_from.replace(day=1)
    after = (day_to.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, after - timedelta(days=1)


def figures(svc: Services, ctx: RequestContext, query: TrustQuery) -> TrustOut:
    """One Query on the monthly counters (the team's partition, or the force's); whole calendar
    months only (`rules.published_grain`), and only those that have ended and settled at the
    request's time (`rules.publication`): the others are not read, only listed."""
    from chalicelib.domain import history, stats_keys

    grain = rules.published_grain(query.group_by)
    day_from, day_to = _whole_months(*history.day_range(query.from_, query.to))
    team = _scope(svc, ctx, query)
    first = stats_keys.period_of(day_from.isoformat(), grain)
    shown = rules.publication(first, stats_keys.period_of(day_to.isoformat(), grain), ctx.now)
    counters = ([] if shown.read_to is None else
                svc.store.trust.counts(rules.counter_pk(team, grain), f"{first}|", f"{shown.read_to}|\uffff"))
    area = str(uuid.UUID(query.area_id)) if query.area_id else None
    buckets = rules.figures(rules.tally(counters), area)
    filters = {"from": day_from.isoformat(), "to": day_to.isoformat(), "group_by": grain, "team": team,
               "area_id": area, "published_through": shown.published_through}
    svc.store.access_log.append(ctx.audit("history.trust", query=filters, row_count=len(buckets), purpose=query.purpose))
    return TrustOut(buckets=buckets, published_through=shown.published_through, unpublished=shown.unpublished)
