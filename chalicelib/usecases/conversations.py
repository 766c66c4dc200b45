"""Conversations: residents and their neighbourhood team (start, read, list, message, close,
figures), the alert-reply entry point, and erasure of a resident's words.

Talks only to `svc.*` objects (the repository `svc.store.conversations`, `svc.fanout`, `svc.pseudonyms`,
`svc.cursors`) and pure domain code. Every staff read of a conversation is access-logged; the
resident's own reads are not (not the force consulting personal data: docs/data-protection.md).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from chalicelib.auth.principal import Principal
from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import conversations as rules
from chalicelib.domain import engagement, history, stats_keys
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.contacts import RESIDENT_ROLE, RESIDENTS_AUTHOR, ContactRecord
from chalicelib.domain.conversations import (
    CloseIn,
    Conversation,
    ConversationIn,
    ConversationOut,
    ConversationPage,
    ConversationQuery,
    FiguresOut,
    FiguresQuery,
    Message,
    MessageIn,
    MessageOut,
    MyConversationsQuery,
    TeamQueueQuery,
    WaitingOut,
    WaitingQuery,
)
from chalicelib.domain.cursors import query_fingerprint
from chalicelib.domain.emergency import EmergencyNumbers, danger_languages, guidance
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    RuleViolation,
    StateForbids,
    Unauthenticated,
)
from chalicelib.domain.geo import contact_cell
from chalicelib.domain.results import Created, Resent
from chalicelib.domain.subscribers import ConversationInboxItem, SubscriberRecord, reaches
from chalicelib.domain.team_queue import QueuePage
from chalicelib.ports import (
    AnswerPush,
    ConversationExists,
    ConversationStore,
    InboxCopy,
    MessageExists,
    QueueUnavailable,
    ResidentGone,
    VersionChanged,
    WordHolder,
    Write,
)

if TYPE_CHECKING:
    from chalicelib.services import Services

LOG = logging.getLogger("beatline.conversations")
RESPONDER = RESIDENTS_AUTHOR  # author of inbound contacts (author_role `resident`); the resident is a pseudonym
RETRIES = 8  # optimistic retries when another message or a close lands between read and write
FORCE_ROLES = frozenset({"analyst", "admin", "leader"})  # figures only for leaders (permissions)


def _repo(svc: Services) -> ConversationStore:
    return svc.store.conversations


# -- who is asking ---------------------------------------------------------------------------

def _resident_actor(svc: Services, subscriber: SubscriberRecord) -> str:
    """How the access log names a resident: `res_`, keyed by the subscriber's own secret."""
    from chalicelib.usecases.residents import resident_name

    return resident_name(svc, subscriber)


def _resident_handle(svc: Services, subscriber: SubscriberRecord, purpose: str = "reply") -> str:
    """How an inbound contact names a resident (`rsp_`; other purposes alike): unrecomputable
    once erased."""
    from chalicelib.usecases.residents import resident_name

    return resident_name(svc, subscriber, purpose)


MESSAGES = "messages"  # word-index ref prefix of a conversation message: messages#<conversation>/<message>


def _words(svc: Services, ctx: RequestContext, message: Message) -> WordHolder | None:
    """A resident message is indexed as holding the resident's words (store.words, erasure)."""
    if message.sender != "resident":
        return None

    return WordHolder(subscriber_id=ctx.resident.id, owner=_resident_actor(svc, ctx.resident), table=MESSAGES,
                      record_id=f"{message.conversation_id}/{message.id}", expires_at=message.expires_at)


def _audit(svc: Services, ctx: RequestContext, action: str, **fields: Any) -> AccessRecord:
    if ctx.caller.kind == "resident":
        return AccessRecord(actor=_resident_actor(svc, ctx.resident), role="resident", action=action,
                            at=ctx.now, request_id=ctx.request_id, **fields)
    return ctx.audit(action, **fields)


def _parse_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("No such conversation.") from None


def _may_see(caller: Principal, subscriber: SubscriberRecord | None, conv: Conversation) -> bool:
    if caller.kind == "resident":
        return bool(conv.owner) and subscriber is not None and conv.owner == subscriber.id
    return bool(caller.roles & {"officer", "supervisor"}) and caller.team == conv.team


def _visible(svc: Services, ctx: RequestContext, conversation_id: str) -> Conversation:
    conv = _repo(svc).get(_parse_id(conversation_id))
    if conv is None or not _may_see(ctx.caller, ctx.subscriber, conv):
        raise NotFound("No such conversation.")
    return conv


STATE = "conversation-state"  # what a state token is sealed for (with the conversation id)


def _state_token(svc: Services, conv: Conversation) -> str | None:
    """The conversation's state, sealed (AES-GCM, like cursors) and bound to its id: a client that
    echoes it lets any container write without reading first. Opaque: it names nobody."""
    return svc.cursors.encode(conv.state(), query_fingerprint(STATE, conv.id, {}))


def _from_token(svc: Services, conversation_id: str, token: str | None) -> Conversation | None:
    """The state a client echoed (400 if changed or another conversation's; None if absent or
    from an older release's shape)."""
    raw = svc.cursors.decode(token, query_fingerprint(STATE, conversation_id, {}), field="state_token")
    return Conversation.from_state(raw) if raw else None


def _assumed_visible(svc: Services, ctx: RequestContext, conversation_id: str,
                     token: str | None = None) -> tuple[Conversation, bool]:
    """The state a change starts from, and whether it was read just now: the newer of the state
    token the client echoed and this container's hint (no read), else a read. The write is
    conditioned on that state and fails over to the current one. Team and owner never change to
    someone else, so either answers who may see the conversation as well as a read does; a refusal
    on its status is confirmed by a read first."""
    conversation_id = _parse_id(conversation_id)
    known = [c for c in (_from_token(svc, conversation_id, token), _repo(svc).last_seen(conversation_id)) if c]
    if not known:
        return _visible(svc, ctx, conversation_id), True
    conv = max(known, key=lambda c: c.version)
    if not _may_see(ctx.caller, ctx.subscriber, conv):
        raise NotFound("No such conversation.")
    return conv, False


def _current(svc: Services, ctx: RequestContext, changed: VersionChanged, conversation_id: str) -> Conversation:
    """After a failed condition: the state DynamoDB returned with it, or (none returned) a read."""
    conv = changed.current or _repo(svc).get(conversation_id)
    if conv is None or not _may_see(ctx.caller, ctx.subscriber, conv):
        raise NotFound("No such conversation.")
    return conv


def _staff_team(ctx: RequestContext) -> str:
    if not ctx.caller.team:
        raise Forbidden("Your token carries no team; conversations belong to a team.")
    return ctx.caller.team


# -- building the writes ---------------------------------------------------------------------

def _contact(svc: Services, ctx: RequestContext, conv: Conversation, message: Message, topic: str,
             reply: str | None = None) -> ContactRecord:
    """The engagement-log contact a message becomes. No text (the words stay in the message),
    except an alert reply's, kept in `notes` as alert replies always were."""
    stamp = message.sent_at
    team_side = message.sender == "team"
    return ContactRecord(
        id=message.contact_id, kind="online", occurred_at=stamp, topic=topic,
        outcome="advice_given" if team_side else "information_received",
        tags=("alert-response", "conversation") if reply is not None else ("conversation",), notes=reply,
        author=ctx.caller.sub if team_side else RESPONDER, team=conv.team, version=1, created_at=stamp,
        updated_at=stamp, expires_at=message.expires_at, content_digest=message.content_digest,
        platform="beatline", direction="outbound" if team_side else "inbound",
        thread_ref=conv.alert_id if reply is not None and conv.alert_id else conv.id,
        handle_pseudonym=None if team_side else _resident_handle(svc, ctx.resident), area_id=conv.area_id,
        author_role=engagement.author_role(ctx.caller.roles) if team_side else RESIDENT_ROLE,
        author_rank=ctx.caller.rank if team_side else None, conversation_id=conv.id, alert_id=conv.alert_id,
    )


def _new_message(svc: Services, ctx: RequestContext, conv_id: str, message_id: str, text: str, seq: int) -> Message:
    caller = ctx.caller
    team_side = caller.kind != "resident"
    sender_key = caller.sub if team_side else ctx.resident.id
    return Message(
        conversation_id=conv_id, id=message_id, seq=seq, sender="team" if team_side else "resident",
        text=text, sent_at=to_rfc3339(ctx.now),
        contact_id=rules.keyed_uuid(svc.pseudonyms.subkey("conversation-contact"), conv_id, message_id),
        content_digest=svc.pseudonyms.content_digest(f"msg|{conv_id}|{message_id}|{sender_key}|{text}".encode()),
        expires_at=ctx.now + svc.contact_rules.retention,
        author=caller.sub if team_side else None,
        officer=rules.officer_display(svc.pseudonyms.subkey("officer-display"), caller.sub) if team_side else None,
    )


def _inbox(conv: Conversation, message: Message) -> InboxCopy | None:
    if message.sender != "team":
        return None
    item = ConversationInboxItem(conversation_id=conv.id, message_id=message.id,
                                 text=message.text or "", officer=message.officer or "", sent_at=message.sent_at,
                                 expires_at=to_rfc3339(message.expires_at))
    return InboxCopy(subscriber_id=conv.owner, sort_key=f"{message.sent_at}#conv#{message.id}",
                     item=msgspec.json.encode(item).decode(), expires_at=message.expires_at)


def _with_guidance(svc: Services, ctx: RequestContext, conv: Conversation,
                   message: Message) -> tuple[Conversation, Message | None]:
    """A resident message whose words suggest immediate danger gets the emergency guidance as an
    automatic `system` message right after it (same transaction), in the message's language(s) and
    the resident's, and flags the conversation urgent. Not a team answer: no officer, no contact,
    no first response, no figure."""
    languages = danger_languages(message.text or "") if message.sender == "resident" else ()
    if not languages:
        return conv, None
    own = "cy" if str(getattr(ctx.subscriber, "language", None) or "").lower().startswith("cy") else "en"
    flagged = rules.after_guidance(conv)
    numbers = EmergencyNumbers(svc.settings.emergency_number, svc.settings.non_emergency_number)
    return flagged, Message(
        conversation_id=conv.id, seq=flagged.version, sender="system", text=guidance((*languages, own), numbers),
        id=rules.keyed_uuid(svc.pseudonyms.subkey("conversation-guidance"), conv.id, message.id),
        sent_at=message.sent_at, contact_id="none", content_digest="system", expires_at=message.expires_at)


def _write(svc: Services, ctx: RequestContext, new: Conversation, message: Message,
           action: str, reply: str | None = None, guidance_message: Message | None = None) -> Write:

    action = "alert.response" if reply is not None else action  # alert replies keep their log action
    contact = _contact(svc, ctx, new, message, new.topic, reply)
    return Write(
        contact=contact,
        audit=_audit(svc, ctx, action, record_id=new.id),
        inbox=_inbox(new, message),
        words=_words(svc, ctx, message),
        guidance=guidance_message,
    )


# -- use cases -------------------------------------------------------------------------------

def _where(svc: Services, body: ConversationIn) -> AreaRecord:
    """The named area of the place the resident names; 422 when no team's area covers it."""
    if (body.area_id is None) == (body.location is None):
        raise RuleViolation("Name the place once.", [FieldError("area_id", "give either `area_id` or `location`")])
    if body.area_id is not None:
        area_id: str | None = str(body.area_id)
    else:
        area_id = svc.store.areas.area_for_cell(contact_cell(body.location.lat, body.location.lon))  # type: ignore[union-attr]
    area = svc.store.areas.get(area_id) if area_id else None
    if area is None:
        raise StateForbids("No neighbourhood team covers this place.")
    return area


def start(svc: Services, ctx: RequestContext, body: ConversationIn) -> Created[ConversationOut] | Resent[ConversationOut]:
    """Created; Resent for an identical resend (same resident, same content); Conflict otherwise."""
    area = _where(svc, body)
    area_id, team = area.id, area.team
    conv_id = str(body.id)
    digest = svc.pseudonyms.content_digest(
        f"conv|{conv_id}|{ctx.resident.id}|{body.topic}|{area_id}|{body.text}".encode())
    return _open(svc, ctx, conv_id, team=team, area_id=area_id, alert_id=None, topic=body.topic,
                 text=body.text, digest=digest, first_message_id=None, context=(area.name, {}))


def _open(svc: Services, ctx: RequestContext, conv_id: str, *, team: str, area_id: str | None, alert_id: str | None,
          topic: str, text: str, digest: str, first_message_id: str | None,
          context: tuple[str | None, dict[str, str]] = (None, {}),
          reply: str | None = None) -> Created[ConversationOut] | Resent[ConversationOut]:
    """`context`: the area's name and (opened by an alert reply) the alert's headlines by language."""
    stamp = to_rfc3339(ctx.now)
    conv = Conversation(
        id=conv_id, team=team, owner=ctx.resident.id, area_id=area_id, alert_id=alert_id, topic=topic,
        status="waiting", created_at=stamp, last_message_at=stamp, version=1, content_digest=digest,
        expires_at=ctx.now + svc.contact_rules.retention, waiting_since=stamp,
        respond_by=rules.respond_by_for(stamp, _standard(svc)),
        area_name=context[0], alert_headlines=context[1], changed_at=stamp,
    )
    message_id = first_message_id or rules.keyed_uuid(svc.pseudonyms.subkey("conversation-first"), conv_id)
    message = _new_message(svc, ctx, conv_id, message_id, text, 1)
    conv, auto = _with_guidance(svc, ctx, conv, message)
    try:
        _repo(svc).start(conv, message, _write(svc, ctx, conv, message, "conversation.start", reply, auto))
    except ResidentGone:
        raise Unauthenticated("This subscriber no longer exists; register again.") from None
    except ConversationExists as exists:
        old = exists.existing
        if old is None or old.owner != ctx.resident.id or old.content_digest != digest:
            raise Conflict("A conversation with this id exists with other content.") from None
        return Resent(old.to_out(_repo(svc).messages(old.id), state_token=_state_token(svc, old)))
    _tell_team(svc, conv.team, conv.id, occurrence=message.id)
    return Created(conv.to_out([message, *([auto] if auto else [])], state_token=_state_token(svc, conv)))


def _tell_team(svc: Services, team: str, conversation_id: str, kind: str = "conversation_waiting", *,
               occurrence: str) -> None:
    """A new wait for the team (or one at two thirds of its standard, from the clock): its
    members' devices get a staff push (no words), once per device for each `occurrence` (the
    message that began the wait; for the clock, the wait's start)."""
    from chalicelib.usecases.staff_devices import notify_team

    notify_team(svc, team, kind, conversation_id, occurrence=occurrence)


def get(svc: Services, ctx: RequestContext, conversation_id: str, query: ConversationQuery | None = None) -> ConversationOut:
    """The latest `limit` messages (or those before the `before` cursor, bound to this caller,
    conversation and limit), oldest first."""
    query = query or ConversationQuery()
    conv = _visible(svc, ctx, conversation_id)
    reader = ctx.caller.sub if ctx.caller.kind != "resident" else ctx.resident.id
    fingerprint = query_fingerprint("conversation.messages", reader, {"id": conv.id, "limit": query.limit})
    messages, earlier = _repo(svc).message_page(conv.id, query.limit, svc.cursors.decode(query.before, fingerprint))
    out = conv.to_out(messages, svc.cursors.encode(earlier, fingerprint), _state_token(svc, conv))
    if ctx.caller.kind == "resident":  # their own ratings here (the app offers a rating once); not logged
        return msgspec.structs.replace(out, ratings=[r.to_out() for r in svc.store.trust.ratings(conv.id, ctx.resident.id)])
    svc.store.access_log.append(_audit(svc, ctx, "conversation.read", record_id=conv.id, row_count=len(messages)))
    owner = svc.store.subscribers.get(conv.owner) if conv.owner else None  # one GetItem: channel types only
    return msgspec.structs.replace(out, reaches=reaches(owner))


def team_queue(svc: Services, ctx: RequestContext, query: TeamQueueQuery) -> QueuePage:
    """The team's queue with previews, claims and response times (usecases/team_queue.py)."""
    from chalicelib.usecases.team_queue import queue_page

    team = _staff_team(ctx)
    if query.status == "escalated" and not ctx.caller.has("supervisor"):
        raise Forbidden("The escalated conversations are the supervisors' view.")
    filters = {"status": query.status, "limit": query.limit, "team": team}
    fingerprint = query_fingerprint("conversations.team", ctx.caller.sub, filters)
    items, position = _repo(svc).team_page(team, query.status, query.limit,
                                           svc.cursors.decode(query.cursor, fingerprint))
    svc.store.access_log.append(_audit(svc, ctx, "conversation.list", query=filters, row_count=len(items)))
    return queue_page(svc, ctx, items, svc.cursors.encode(position, fingerprint))


def mine(svc: Services, ctx: RequestContext, query: MyConversationsQuery) -> ConversationPage:
    owner = ctx.resident.id
    fingerprint = query_fingerprint("conversations.mine", owner, {"limit": query.limit})
    items, position = _repo(svc).owner_page(owner, query.limit, svc.cursors.decode(query.cursor, fingerprint))
    return ConversationPage(items=[c.summary() for c in items], next_cursor=svc.cursors.encode(position, fingerprint))


def post_message(svc: Services, ctx: RequestContext, conversation_id: str,
                 body: MessageIn) -> Created[MessageOut] | Resent[MessageOut]:
    """Created; Resent (identical resend); Conflict (same id, other content); StateForbids (a team
    message on a closed conversation).
    One round trip when this container has seen the conversation (see `_assumed_visible`)."""
    conv, confirmed = _assumed_visible(svc, ctx, conversation_id, body.state_token)
    return _append(svc, ctx, conv, str(body.id), body.text, confirmed=confirmed)


def _after_message(svc: Services, ctx: RequestContext, conv: Conversation) -> Conversation:
    """The conversation after the caller's message; StateForbids when it may not take one."""
    team_side = ctx.caller.kind != "resident"
    if team_side and not conv.owner:
        raise StateForbids("The resident of this conversation no longer exists.")
    return replace(rules.after_message(conv, "team" if team_side else "resident", to_rfc3339(ctx.now),
                                       _standard(svc)),
                   expires_at=ctx.now + svc.contact_rules.retention)


def _standard(svc: Services) -> timedelta:
    """The response standard (BEATLINE_RESPONSE_STANDARD_HOURS): a new wait's `respond_by`."""
    return timedelta(hours=svc.settings.response_standard_hours)


def _append(svc: Services, ctx: RequestContext, conv: Conversation, message_id: str, text: str,
            reply: str | None = None, confirmed: bool = True) -> Created[MessageOut] | Resent[MessageOut]:
    """`confirmed`: `conv` was read just now (else it is a hint, and a refusal re-reads first)."""
    for _ in range(RETRIES):
        try:
            new = _after_message(svc, ctx, conv)
        except StateForbids as refusal:
            if confirmed:
                return _resend_or_refuse(svc, ctx, conv, message_id, text, refusal)
            conv, confirmed = _visible(svc, ctx, conv.id), True
            continue
        message = _new_message(svc, ctx, conv.id, message_id, text, new.version)
        new, auto = _with_guidance(svc, ctx, new, message)
        try:
            _repo(svc).append(conv, new, message, _write(svc, ctx, new, message, "conversation.message", reply, auto))
        except ResidentGone:
            raise Unauthenticated("This subscriber no longer exists; register again.") from None
        except MessageExists as exists:
            return _resent(exists.existing, message)
        except VersionChanged as changed:
            conv, confirmed = _current(svc, ctx, changed, conv.id), True
            continue
        if message.sender == "team":
            _push(svc, conv.id, message.id)
        elif conv.status != "waiting":  # a new wait (answered or closed before)
            _tell_team(svc, conv.team, conv.id, occurrence=message.id)
        return Created(msgspec.structs.replace(message.to_out(), state_token=_state_token(svc, new)))
    raise Conflict("The conversation is changing too fast; retry.")


def _resend_or_refuse(svc: Services, ctx: RequestContext, conv: Conversation, message_id: str, text: str,
                      refusal: StateForbids) -> Resent[MessageOut]:
    """The conversation refuses a new message (closed; the resident erased). An offline app's
    resend of a message that landed before that is still Resent, not refused."""
    existing = _repo(svc).get_message(conv.id, message_id)
    if existing is None:
        raise refusal
    return _resent(existing, _new_message(svc, ctx, conv.id, message_id, text, conv.version))


def _resent(existing: Message | None, attempted: Message) -> Resent[MessageOut]:
    if existing is None or existing.content_digest != attempted.content_digest:
        raise Conflict("A message with this id exists with other content.")
    return Resent(existing.to_out())


def _push(svc: Services, conversation_id: str, message_id: str) -> None:
    """The inbox copy is already written (same transaction); the push goes through the push queue
    as an AnswerPush (usecases/conversation_push.py claims (message, subscriber) before sending
    and honours quiet hours)."""

    try:
        svc.fanout.enqueue([AnswerPush(conversation_id=conversation_id, message_id=message_id)])
    except QueueUnavailable:
        LOG.warning("conversation push not enqueued (the inbox has it)")


def close(svc: Services, ctx: RequestContext, conversation_id: str, body: CloseIn) -> ConversationOut:
    """Exactly one close lands; a repeat with the same outcome answers the closed conversation."""

    conv, confirmed = _assumed_visible(svc, ctx, conversation_id, body.state_token)
    for _ in range(RETRIES):
        if conv.status == "closed" and not confirmed:  # a hint may miss a reopening: read
            conv, confirmed = _visible(svc, ctx, conv.id), True
        if conv.status == "closed":
            if conv.outcome != body.outcome:
                raise Conflict("The conversation was already closed with another outcome.")
            return conv.to_out([], state_token=_state_token(svc, conv))
        # Its figures (a close as abuse leaves `opened` where it was counted: flood robustness)
        # follow from the conversations stream: rules.stream_deltas.
        new = rules.after_close(conv, body.outcome, to_rfc3339(ctx.now))
        try:
            _repo(svc).close(conv, new, _audit(svc, ctx, "conversation.close", record_id=conv.id))
            return new.to_out([], state_token=_state_token(svc, new))
        except VersionChanged as changed:
            conv, confirmed = _current(svc, ctx, changed, conv.id), True
    raise Conflict("The conversation is changing too fast; retry.")


def escalate(svc: Services, ctx: RequestContext, conversation_id: str) -> ConversationOut:
    """The resident owner escalates a wait past its `respond_by` (else StateForbids: 422): the
    conversation gets `escalated_at` and leads the team's queue and the supervisors' view
    (`status=escalated`); counted once per wait (a repeat answers the escalated conversation).
    Conditioned on the state it starts from, like a close (hints or a read, never trusted)."""
    conv, confirmed = _assumed_visible(svc, ctx, conversation_id)
    for _ in range(RETRIES):
        stamp = to_rfc3339(ctx.now)
        try:
            new = rules.after_escalation(conv, stamp)
        except StateForbids:
            if not confirmed:  # a hint never decides a refusal
                conv, confirmed = _visible(svc, ctx, conv.id), True
                continue
            raise
        if new is None:
            return conv.to_out([], state_token=_state_token(svc, conv))
        try:  # counted in `escalated` by the conversations stream (rules.stream_deltas)
            _repo(svc).escalate(conv, new, _audit(svc, ctx, "conversation.escalate", record_id=conv.id))
            return new.to_out([], state_token=_state_token(svc, new))
        except VersionChanged as changed:
            conv, confirmed = _current(svc, ctx, changed, conv.id), True
    raise Conflict("The conversation is changing too fast; retry.")


def figures(svc: Services, ctx: RequestContext, query: FiguresQuery) -> FiguresOut:
    """Read from counters derived from the conversations stream: one Query, whatever the table
    holds; `as_of` (read first) says which changes they include at least."""
    as_of = svc.store.conversation_stream.as_of()
    caller = ctx.caller
    day_from, day_to = history.day_range(query.from_, query.to)
    team = _figures_team(caller, query.team)
    first = stats_keys.period_of(day_from.isoformat(), query.group_by)
    last = stats_keys.period_of(day_to.isoformat(), query.group_by)
    counters = _repo(svc).figures(rules.figures_pk(team, query.group_by), f"{first}|", f"{last}|\uffff")
    buckets = rules.figures_buckets(counters)
    filters = {"from": day_from.isoformat(), "to": day_to.isoformat(), "group_by": query.group_by, "team": team}
    svc.store.access_log.append(ctx.audit("history.conversations", query=filters, row_count=len(buckets),
                                    purpose=query.purpose))
    return FiguresOut(buckets=buckets, as_of=as_of)


def waiting(svc: Services, ctx: RequestContext, query: WaitingQuery) -> WaitingOut:
    """Waits open now and the day the oldest began, from the open-wait gauge (`rules.wait_gauge`):
    one Query of at most a counter per day and team over the look-back, whatever the tables hold."""
    team = _figures_team(ctx.caller, query.team)
    counted_as_of = svc.store.conversation_stream.as_of()
    now = svc.clock()
    first = (now - timedelta(days=rules.WAITING_LOOKBACK_DAYS)).date().isoformat()
    counters = _repo(svc).figures(rules.waits_pk(team), f"{first}|", f"{now.date().isoformat()}|\uffff")
    out = msgspec.structs.replace(rules.waiting_now(counters, to_rfc3339(now)), counted_as_of=counted_as_of)
    svc.store.access_log.append(ctx.audit("history.waiting", query={"team": team}, row_count=len(out.teams),
                                          purpose=query.purpose))
    return out


def _figures_team(caller: Principal, wanted: str | None) -> str | None:
    """The team a figures read covers: any (or the force) for force roles, else the caller's own."""
    if caller.roles & FORCE_ROLES:
        return wanted
    if not caller.team or (wanted is not None and wanted != caller.team):
        raise Forbidden("Supervisors may query their own team only.")
    return caller.team


# -- the clock: waits passing 24 hours and the response standard --------------------------------

OVERDUE_LOOKBACK_DAYS = 7  # due days the clock looks at, so missed runs are caught up
OVERDUE_PER_RUN = 500  # waits one run counts (about 10 s of transactions); the next run goes on


def count_overdue(svc: Services, now: datetime, per_run: int = OVERDUE_PER_RUN) -> int:
    """Flag every open wait that has passed 24 h or its `respond_by`; the conversations stream
    counts it in the UTC period it passed it (scheduled every 5 minutes: the `conversation_clock`
    function). Each wait counts once per
    mark: an answer or a close that ends it counts it instead if it comes first
    (`rules.figure_events`). A wait past its standard also counts in `past_standard_now` until it
    ends (`rules.figure_deltas` takes it out). The number of waits flagged."""
    now_text = to_rfc3339(now)
    days = [(now - timedelta(days=back)).date().isoformat() for back in range(OVERDUE_LOOKBACK_DAYS, -1, -1)]
    counted = 0
    for conv in _repo(svc).overdue(days, now_text, per_run):
        new = rules.after_overdue(conv, now_text)
        if new is None:
            continue  # the index lags: no longer due
        try:
            _repo(svc).count_overdue(conv, new)  # counted by the conversations stream (rules.overdue_keys)
            counted += 1
        except VersionChanged:
            continue  # changed since the index saw it: the next run looks again if still due
        if rules.tell_nearing(conv, new):  # two thirds of the standard: the team's devices, once
            _tell_team(svc, conv.team, conv.id, "wait_nearing_standard", occurrence=conv.waiting_since or "")
    return counted


# -- entry points used by other use cases ----------------------------------------------------

def reply_to_alert(svc: Services, ctx: RequestContext, *, alert_id: str, team: str, area_id: str | None,
                   text: str, context: tuple[str | None, dict[str, str]] = (None, {})) -> tuple[str, str]:
    """A resident's reply to an alert opens (or continues) its conversation about that alert.
    Returns (conversation id, contact id). The conversation id is keyed on (resident, alert), the
    resident by a name keyed with its own secret: once erased, nobody can recompute the id from
    the subscriber id (a service-keyed digest of the id would outlive the erasure)."""
    owner_key = _resident_handle(svc, ctx.resident, "alert-conversation")
    conv_id = rules.keyed_uuid(svc.pseudonyms.subkey("alert-conversation"), owner_key, alert_id)
    message_id = str(uuid.uuid4())
    conv = _repo(svc).get(conv_id)
    if conv is None:
        digest = svc.pseudonyms.content_digest(f"alert-conv|{conv_id}|{message_id}".encode())
        try:
            _open(svc, ctx, conv_id, team=team, area_id=area_id, alert_id=alert_id, topic="other", text=text,
                  digest=digest, first_message_id=message_id, context=context, reply=text)
            return conv_id, rules.keyed_uuid(svc.pseudonyms.subkey("conversation-contact"), conv_id, message_id)
        except DomainError:
            conv = _repo(svc).get(conv_id)  # opened concurrently: continue it
            if conv is None:
                raise
    _append(svc, ctx, conv, message_id, text, reply=text)
    return conv_id, rules.keyed_uuid(svc.pseudonyms.subkey("conversation-contact"), conv_id, message_id)


def erase_message_words(svc: Services, record_id: str) -> str | None:
    """Word-index erasure of one message (`<conversation>/<message>`): its text goes. Returns the
    contact it became, which the caller redacts like any reply contact (notes, pseudonym, amendments)."""
    conversation_id, _, message_id = record_id.partition("/")
    return _repo(svc).erase_message_words(conversation_id, message_id)


def erase_resident(svc: Services, subscriber_id: str) -> int:
    """Erasure, conversation side: each conversation forgets its owner (team messages and counts
    stay). The words go through the word index (usecases.subscribers._erase_words)."""
    owned = _repo(svc).owned(subscriber_id)
    for conv in owned:
        # Its content digest was keyed on the subscriber id and the first words: replaced too.
        _repo(svc).forget_owner(conv.id, svc.pseudonyms.content_digest(f"{conv.id}|erased".encode()))
        current = _repo(svc).get(conv.id)
        if current is not None:
            svc.store.team_queue.leave_queue(current)  # a wait for an erased resident leaves the queue
    return len(owned)
