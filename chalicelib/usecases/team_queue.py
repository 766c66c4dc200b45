"""The team's queue for the team's app: previews on a page of the queue, claim and release.

A claim keeps two officers from answering the same resident: it is visible to the team
(`claimed_by`, a display pseudonym), lapses after `BEATLINE_CLAIM_MINUTES`, and ends when the
conversation stops waiting (an answer or a close). It is advisory: anyone of the team may still
answer. Talks to `svc.store.conversations` (reads) and `svc.store.team_queue` (previews, claims).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import conversations as rules
from chalicelib.domain import team_queue as view
from chalicelib.domain.conversations import Conversation
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, StateForbids
from chalicelib.domain.team_queue import ClaimOut, QueuePage

if TYPE_CHECKING:
    from chalicelib.services import Services


def my_display(svc: Services, staff_id: str) -> str:
    """The display pseudonym team messages name this officer by (`Officer 4F2K`)."""
    return rules.officer_display(svc.pseudonyms.subkey("officer-display"), staff_id)


def queue_page(svc: Services, ctx: RequestContext, items: list[Conversation], next_cursor: str | None) -> QueuePage:
    """A page of the team's queue with each conversation's preview (one BatchGetItem)."""
    texts = svc.store.team_queue.last_texts(items) if items else {}
    me = my_display(svc, ctx.caller.sub)
    return QueuePage(items=[view.queue_item(c, texts.get(c.id), now=ctx.now, my_display=me)
                            for c in items], next_cursor=next_cursor)


def _team_conversation(svc: Services, ctx: RequestContext, conversation_id: str) -> Conversation:
    team = ctx.caller.team
    if not team:
        raise Forbidden("Your token carries no team; conversations belong to a team.")
    try:
        conv_id = str(uuid.UUID(conversation_id))
    except ValueError:
        raise NotFound("No such conversation.") from None
    conv = svc.store.conversations.get(conv_id)
    if conv is None or conv.team != team:
        raise NotFound("No such conversation.")
    return conv


def _refusal(conv: Conversation, ctx: RequestContext, me: str) -> Exception:
    if conv.status != "waiting":
        return StateForbids("Only a waiting conversation can be claimed.")
    if not conv.owner:
        return StateForbids("The resident of this conversation no longer exists.")
    held = view.live_claim(conv, ctx.now)
    if held is not None and held[0] != me:
        return Conflict(f"{held[0]} holds a claim on this conversation until {held[1]}.")
    return Conflict("The conversation changed meanwhile; try again.")


def claim(svc: Services, ctx: RequestContext, conversation_id: str) -> ClaimOut:
    """200 with the claim (a repeat by the holder renews it); 409 while another officer's claim
    is live; 422 unless the conversation waits for the team. One conditional write decides."""
    conv = _team_conversation(svc, ctx, conversation_id)
    me = my_display(svc, ctx.caller.sub)
    expires = to_rfc3339(ctx.now + timedelta(minutes=svc.settings.claim_minutes))
    claimed = svc.store.team_queue.claim(
        conv.id, team=conv.team, staff=ctx.caller.sub, display=me, expires_at=expires,
        now_text=to_rfc3339(ctx.now), audit=ctx.audit("conversation.claim", record_id=conv.id))
    if claimed:
        return view.claim_out(conv.id, me, expires, me)
    current = svc.store.conversations.get(conv.id) or conv
    raise _refusal(current, ctx, me)


def release(svc: Services, ctx: RequestContext, conversation_id: str) -> ClaimOut:
    """The holder (or a supervisor of the team) ends a claim; 200 also when none is held; 409
    when another officer holds it and the caller is not a supervisor."""
    conv = _team_conversation(svc, ctx, conversation_id)
    me = my_display(svc, ctx.caller.sub)
    supervisor = ctx.caller.has("supervisor")
    released = svc.store.team_queue.release(
        conv.id, team=conv.team, staff=None if supervisor else ctx.caller.sub,
        audit=ctx.audit("conversation.release", record_id=conv.id))
    if released:
        return view.claim_out(conv.id, None, None, me)
    current = svc.store.conversations.get(conv.id) or conv
    held = view.live_claim(current, ctx.now)
    if held is not None and held[0] != me:
        raise Conflict(f"{held[0]} holds the claim; only they or a supervisor may release it.")
    return view.claim_out(conv.id, None, None, me)
