"""Residents' trust: a one-tap rating of a team answer, and the figures (docs/history.md
"Residents' trust"). Answers are kept as counts only (domain/trust.py). The confidence pulse is
usecases/pulses.py."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import trust as rules
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.conversations import MESSAGES_PAGE_MAX
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, StateForbids
from chalicelib.domain.trust import Rating, RatingIn, RatingOut, TrustOut, TrustQuery
from chalicelib.usecases.neighbourhood_access import uuid_or_404

if TYPE_CHECKING:
    from chalicelib.domain.subscribers import SubscriberRecord
    from chalicelib.services import Services

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
                    satisfaction=body.satisfaction, rated_at=rated_at, team=conv.team, area_id=conv.area_id)
    audit = _resident_audit(svc, ctx, record, "conversation.rate", conv.id)
    if not svc.store.trust.rate(rating, conv.expires_at, audit):  # its counts follow from the stream
        raise Conflict("You have rated this answer already.")
    return rating.to_out()


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
