"""Neighbourhood priorities and "you said, we did" (docs/guarantee.md).

Staff of the area's team propose, set, review, close and act on priorities; residents who follow
the area support proposals; every action reaches the supporters and the residents whose
conversations were linked to the priority (inbox and push), and is public.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import priorities as rules
from chalicelib.domain.errors import Conflict, NotFound, StateForbids
from chalicelib.domain.notices import PRIORITY_ACTION, chunks
from chalicelib.domain.priorities import (
    ActionIn,
    ActionOut,
    LinkIn,
    Priority,
    PriorityIn,
    PriorityList,
    PriorityOut,
    PriorityPatch,
    SupportOut,
)
from chalicelib.ports import InboxCopy, NoticePush, QueueUnavailable
from chalicelib.usecases.neighbourhood_access import area_or_404, follows, require_team_member, uuid_or_404

if TYPE_CHECKING:
    from chalicelib.services import Services

INBOX_DAYS = 90  # how long a "we did" item stays in a resident's inbox
LOG = logging.getLogger("beatline.priorities")


def _load(svc: Services, priority_id: str) -> tuple[Priority, int]:
    found = svc.store.priorities.get(uuid_or_404(priority_id, "priority"))
    if found is None:
        raise NotFound("No such priority.")
    return found


def _out(svc: Services, ctx: RequestContext, priority: Priority, supporters: int) -> PriorityOut:
    return priority.to_out(ctx.now, supporters, svc.store.priorities.actions(priority.id))


def propose(svc: Services, ctx: RequestContext, area_id: str, body: PriorityIn) -> tuple[bool, PriorityOut]:
    """A supervisor of the area's team proposes (or directly sets) a priority; idempotent on `id`."""
    area = area_or_404(svc, area_id)
    require_team_member(ctx, area.team, supervisor=True)
    priority = rules.propose(body, area.id, area.team, ctx.now)
    existing = svc.store.priorities.create(priority)
    if existing is not None:
        if not existing.same_request(body, area.id):
            raise Conflict("A priority with this id already exists with other content.")
        return False, _out(svc, ctx, *_load(svc, existing.id))
    return True, priority.to_out(ctx.now, 0, [])


def list_for_area(svc: Services, ctx: RequestContext, area_id: str) -> PriorityList:
    """Public: the neighbourhood's priorities with their support counts and actions."""
    area = area_or_404(svc, area_id)
    rows = svc.store.priorities.of_area(area.id)
    return PriorityList(items=[_out(svc, ctx, p, count) for p, count in rows])


def _change(svc: Services, ctx: RequestContext, priority_id: str, change: Any) -> PriorityOut:
    """Apply `change(priority) -> Priority` under the condition that nothing changed meanwhile."""
    priority, supporters = _load(svc, priority_id)
    require_team_member(ctx, priority.team, supervisor=True)
    new = change(priority)
    if new != priority and not svc.store.priorities.replace(priority, new):
        raise Conflict("The priority changed meanwhile; read it again.")
    return _out(svc, ctx, new, supporters)


def patch(svc: Services, ctx: RequestContext, priority_id: str, body: PriorityPatch) -> PriorityOut:
    return _change(svc, ctx, priority_id, lambda p: rules.patched(p, body, ctx.now))


def review(svc: Services, ctx: RequestContext, priority_id: str) -> PriorityOut:
    return _change(svc, ctx, priority_id, lambda p: rules.reviewed(p, ctx.now))


def close(svc: Services, ctx: RequestContext, priority_id: str) -> PriorityOut:
    return _change(svc, ctx, priority_id, lambda p: rules.closed(p, ctx.now))


def support(svc: Services, ctx: RequestContext, priority_id: str) -> tuple[bool, SupportOut]:
    """A resident who follows the neighbourhood supports a proposal, once (a repeat answers 200)."""
    from chalicelib.usecases.subscribers import current

    record = current(svc, ctx)
    priority, supporters = _load(svc, priority_id)
    if not follows(record, priority.area_id):
        raise NotFound("No such priority among the neighbourhoods you follow.")
    rules.check_supportable(priority, ctx.now)
    added = svc.store.priorities.support(priority.id, record.id, to_rfc3339(ctx.now), record.expires_at)
    return added, SupportOut(priority_id=priority.id, supported=True, supporters=supporters + (1 if added else 0))


def link(svc: Services, ctx: RequestContext, priority_id: str, body: LinkIn) -> PriorityOut:
    """A team member links one of the team's conversations: its resident hears of every action."""
    priority, supporters = _load(svc, priority_id)
    require_team_member(ctx, priority.team, supervisor=False)
    rules.check_open(priority)
    conversation = svc.store.conversations.get(body.conversation_id.lower())
    if conversation is None or conversation.team != priority.team:
        raise NotFound("No such conversation in your team.")
    svc.store.priorities.link(priority.id, conversation.id, to_rfc3339(ctx.now))
    return _out(svc, ctx, priority, supporters)


def _audience(svc: Services, priority_id: str) -> set[str]:
    """Supporters, and the residents of linked conversations (erased ones have no owner)."""
    audience = set(svc.store.priorities.supporters(priority_id))
    for conversation_id in svc.store.priorities.links(priority_id):
        conversation = svc.store.conversations.get(conversation_id)
        if conversation is not None and conversation.owner:
            audience.add(conversation.owner)
    return audience


def _deliver(svc: Services, priority: Priority, action: ActionOut) -> int:
    """One inbox item per resident, keyed by the action's posting time: a retry rewrites the same items."""
    sent_at = action.posted_at
    expires = parse_rfc3339(sent_at) + timedelta(days=INBOX_DAYS)
    item = msgspec.json.encode({
        "kind": "priority_action", "priority_id": priority.id, "area_id": priority.area_id, "issue": priority.issue,
        "action_id": action.id, "text": action.text, "at": action.at, "sent_at": sent_at,
        "expires_at": to_rfc3339(expires),
    }).decode()
    audience = sorted(_audience(svc, priority.id))
    svc.store.subscribers.put_inbox(InboxCopy(sid, f"{sent_at}#priority#{action.id}", item, expires) for sid in audience)
    enqueue_notices(svc, PRIORITY_ACTION, f"{priority.id}:{action.id}", audience)
    return len(audience)


def enqueue_notices(svc: Services, kind: str, ref: str, audience: list[str]) -> None:
    """The push of a notice whose inbox copies are written: NoticePush messages of at most 50
    residents (usecases/notice_push.py claims (notice, resident) before sending, so a repeat
    pushes nothing twice)."""
    messages = [NoticePush(kind=kind, ref=ref, subscribers=chunk) for chunk in chunks(audience)]
    if not messages:
        return
    try:
        svc.fanout.enqueue(messages)
    except QueueUnavailable:
        LOG.warning("%s push not enqueued (the inbox has it)", kind)


def post_action(svc: Services, ctx: RequestContext, priority_id: str, body: ActionIn) -> tuple[bool, PriorityOut]:
    """What was done, and when: public on the priority, and in the inbox of everyone who raised
    it (supporters, linked conversations). Idempotent on the action's `id`."""
    priority, supporters = _load(svc, priority_id)
    require_team_member(ctx, priority.team, supervisor=False)
    if priority.status == "closed":
        raise StateForbids("This priority is closed.")
    action = ActionOut(id=body.id.lower(), text=body.text, at=to_rfc3339(body.at), posted_at=to_rfc3339(ctx.now))
    existing = svc.store.priorities.add_action(priority.id, action)
    retry = rules.check_action_retry(existing, body)
    _deliver(svc, priority, existing or action)  # again on a retry: a delivery cut short completes
    return not retry, _out(svc, ctx, priority, supporters)
