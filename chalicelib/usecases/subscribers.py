"""Residents: registration (rate limited), own record and preferences, areas, inbox, erasure.

Every change of a subscriber record is written to the access log; the resident's own reads are
not (a data subject reading their own data is not the force consulting it: docs/data-protection.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.alerts import InboxEntry, InboxItemOut, inbox_texts
from chalicelib.domain.contact_channels import ContactChannel, EmailChannelIn, SmsChannelIn
from chalicelib.domain.contact_channels import to_out as contact_out
from chalicelib.domain.cursors import query_fingerprint
from chalicelib.domain.errors import FieldError, RuleViolation, Unauthenticated, Unavailable
from chalicelib.domain.errors import NotFound as NoSuchRecord
from chalicelib.domain.pseudonyms import new_subscriber_secret
from chalicelib.domain.shapes import Circle, check_cover_cost, validate_shape
from chalicelib.domain.stats_keys import period_of
from chalicelib.domain.subscribers import (
    MAX_CELLS,
    MAX_SHAPE_KM2,
    SUBSCRIPTION_RESOLUTION,
    AreaOutItem,
    AreaRefIn,
    AreasIn,
    ChannelIn,
    ChannelOut,
    ConversationInboxItem,
    InboxItem,
    InboxPage,
    InboxQuery,
    MeetingReminderInboxItem,
    Preferences,
    PriorityActionInboxItem,
    PulseInboxItem,
    QuietHours,
    RegisterChannelIn,
    Registered,
    SignupIn,
    SnsChannelIn,
    SubscriberIn,
    SubscriberOut,
    SubscriberPatch,
    SubscriberRecord,
    WebPushChannelIn,
    WebPushKeyOut,
    valid_time_zone,
)
from chalicelib.ports import DestinationRefused, NotFound
from chalicelib.usecases import channel_confirmation
from chalicelib.usecases.fanout import deliver_in_force
from chalicelib.usecases.residents import resident_name

if TYPE_CHECKING:
    from chalicelib.services import Services

LOG = logging.getLogger("beatline.subscribers")


ERASURE_ACTOR = "system:erasure"


def own_audit(svc: Services, ctx: RequestContext, record: SubscriberRecord, action: str, **fields: Any) -> AccessRecord:
    """An access-log entry about the resident's own record: the resident is named only by `res_`."""
    name = resident_name(svc, record)
    return AccessRecord(actor=name, role="resident", action=action, at=ctx.now,
                        request_id=ctx.request_id, record_id=name, **fields)


def _check_quiet_hours(quiet: QuietHours | None) -> None:
    if quiet is not None and not valid_time_zone(quiet.tz):
        raise RuleViolation("Unknown time zone.", [FieldError("quiet_hours.tz", "is not an IANA time zone name")])


def _platform_app(svc: Services, platform: str) -> str | None:
    return svc.settings.sns_platform_app_fcm_arn if platform == "fcm" else svc.settings.sns_platform_app_apns_arn


def _stored_channel(svc: Services, channel: ChannelIn) -> dict[str, Any]:
    """The minimum needed to reach the device. In AWS an SNS token becomes a platform endpoint
    (the raw token is then not kept by Beatline)."""
    if isinstance(channel, SnsChannelIn):
        app_arn = _platform_app(svc, channel.platform)
        if app_arn:
            arn = svc.sns_endpoints.create(app_arn, channel.token)
            return {"type": "sns", "platform": channel.platform, "endpoint_arn": arn}
        return {"type": "sns", "platform": channel.platform, "token": channel.token}
    if isinstance(channel, WebPushChannelIn):
        return {"type": "webpush", "subscription": _checked_push_subscription(svc, channel)}
    return {"type": "inbox"}


def _checked_push_subscription(svc: Services, channel: WebPushChannelIn) -> dict[str, Any]:
    """The worker will POST to the endpoint: it must be a public HTTPS push service (resolved and
    checked here and again at send time, chalicelib/notify/egress.py), and the keys usable."""
    sub = channel.subscription
    stored = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.keys.p256dh, "auth": sub.keys.auth}}
    try:
        svc.push_guard.check(sub.endpoint)
    except DestinationRefused as refused:
        raise RuleViolation("The push endpoint cannot be used.",
                          [FieldError("channel.subscription.endpoint", refused.reason)]) from None
    problem = svc.push_subscription_problem(stored)
    if problem:
        raise RuleViolation("The push subscription cannot be used.", [FieldError("channel.subscription", problem)])
    return stored


def _drop_channel(svc: Services, channel: dict[str, Any]) -> None:
    arn = channel.get("endpoint_arn")
    if not arn:
        return
    try:
        svc.sns_endpoints.delete(arn)
    except Exception:  # the endpoint is useless without the record; SNS cleans disabled ones
        LOG.warning("could not delete SNS endpoint", exc_info=True)


def _signup_team(svc: Services, signup: SignupIn | None) -> str | None:
    """The team a door sign-up counts for (the area's); 400 for an area that does not exist."""
    if signup is None:
        return None
    area = svc.store.areas.get(str(signup.area_id))
    if area is None or not area.team:
        raise RuleViolation("No such area.", [FieldError("signup.area_id", "no named area has this id")])
    return area.team


def register(svc: Services, ctx: RequestContext, body: SubscriberIn) -> Registered:
    _check_quiet_hours(body.quiet_hours)
    if svc.resident_tokens is None:
        raise Unavailable("Resident registration is not configured.", retry_after=60)
    contact_in = body.channel if isinstance(body.channel, (EmailChannelIn, SmsChannelIn)) else None
    sender = channel_confirmation.sender_for(svc, channel_confirmation.address_of(contact_in)[0]) if contact_in else None
    subscriber_id = str(uuid.uuid4())
    token, expires = svc.resident_tokens.issue(subscriber_id, ctx.now)
    stamp = to_rfc3339(ctx.now)
    secret = new_subscriber_secret()
    contacts, carried = _first_contact(svc, subscriber_id, secret, contact_in, ctx)
    record = SubscriberRecord(
        id=subscriber_id,
        channel=_main_channel(svc, body.channel),
        preferences=Preferences(language=body.language, categories=tuple(body.categories) if body.categories else None,
                                min_severity=body.min_severity, quiet_hours=body.quiet_hours),
        areas=(), cells=(), created_at=stamp, updated_at=stamp,
        # Registered by email or phone only: the record lapses with its unconfirmed channel (TTL);
        # confirming gives it the token's full life (usecases/contact_channels.py).
        expires_at=_pending_life(contacts, expires), secret=secret, contacts=contacts,
    )
    team = _signup_team(svc, body.signup)
    svc.store.subscribers.create(record)
    svc.store.access_log.append(own_audit(svc, ctx, record, "subscriber.create"))
    if team is not None:
        day = stamp[:10]
        svc.store.staff.add_signup(team, {grain: period_of(day, grain) for grain in ("week", "month")})
    if sender is not None and contacts:
        channel_confirmation.send(sender, contacts[0], carried, body.language)
    return Registered(id=subscriber_id, token=token, expires_at=to_rfc3339(expires))


def _main_channel(svc: Services, channel: RegisterChannelIn) -> dict[str, Any]:
    """Registered by email or phone: the inbox is the main channel."""
    if isinstance(channel, (EmailChannelIn, SmsChannelIn)):
        return {"type": "inbox"}
    return _stored_channel(svc, channel)


def _first_contact(svc: Services, subscriber_id: str, secret: str, contact_in: EmailChannelIn | SmsChannelIn | None,
                   ctx: RequestContext) -> tuple[tuple[ContactChannel, ...], str]:
    if contact_in is None:
        return (), ""
    contact_type, address = channel_confirmation.address_of(contact_in)
    field = "channel.phone" if contact_type == "sms" else "channel.address"
    address = channel_confirmation.admit(svc, ctx, subscriber_id, contact_type, address, field)
    contact, carried = channel_confirmation.begin(subscriber_id, secret, contact_type, address, ctx.now, None)
    return (contact,), carried


def _pending_life(contacts: tuple[ContactChannel, ...], expires: datetime) -> datetime:
    if contacts and contacts[0].pending_until:
        return min(expires, datetime.fromisoformat(contacts[0].pending_until))
    return expires


def current(svc: Services, ctx: RequestContext) -> SubscriberRecord:
    """The calling resident's record; 401 once it is erased (or expired), whatever the token says."""
    if ctx.subscriber is not None:
        known: SubscriberRecord = ctx.subscriber
        return known
    caller = ctx.caller
    if caller.kind != "resident":
        raise Unauthenticated("A resident token is required.")
    record = svc.store.subscribers.get(caller.sub)
    if record is None or record.expires_at <= ctx.now:
        raise Unauthenticated("This subscriber no longer exists; register again.")
    return _with_secret(svc, record)


def _with_secret(svc: Services, record: SubscriberRecord) -> SubscriberRecord:
    """Records registered before per-subscriber secrets get one on first use."""
    if record.secret is not None:
        return record
    svc.store.subscribers.set_secret(record.id, new_subscriber_secret())
    again = svc.store.subscribers.get(record.id)
    if again is None or again.secret is None:
        raise Unauthenticated("This subscriber no longer exists; register again.")
    return again


def _channel_out(channel: dict[str, Any]) -> ChannelOut:
    endpoint = channel.get("subscription", {}).get("endpoint")
    host = endpoint.split("/")[2] if endpoint and endpoint.count("/") >= 2 else None
    return ChannelOut(type=channel["type"], platform=channel.get("platform"), endpoint_host=host)


def to_out(record: SubscriberRecord) -> SubscriberOut:
    prefs = record.preferences
    return SubscriberOut(
        id=record.id, channel=_channel_out(record.channel), created_at=record.created_at,
        updated_at=record.updated_at, expires_at=to_rfc3339(record.expires_at),
        areas=[msgspec.convert(a, AreaOutItem) for a in record.areas], cells=len(record.cells),
        language=prefs.language, categories=list(prefs.categories) if prefs.categories else None,
        min_severity=prefs.min_severity, quiet_hours=prefs.quiet_hours,
        contacts=[contact_out(c) for c in record.contacts] or None,
    )


def get_me(svc: Services, ctx: RequestContext) -> SubscriberOut:
    return to_out(current(svc, ctx))  # a self-read: not access-logged (module docstring)


def save(svc: Services, record: SubscriberRecord) -> None:
    try:
        svc.store.subscribers.save(record)
    except NotFound:
        raise Unauthenticated("This subscriber no longer exists; register again.") from None


def patch_me(svc: Services, ctx: RequestContext, patch: SubscriberPatch) -> SubscriberOut:
    record = current(svc, ctx)
    prefs = record.preferences
    updates: dict[str, Any] = {}
    for name in ("language", "min_severity", "quiet_hours"):
        value = getattr(patch, name)
        if value is not UNSET:
            updates[name] = value
    if patch.categories is not UNSET:
        updates["categories"] = tuple(patch.categories) if patch.categories else None
    _check_quiet_hours(updates.get("quiet_hours"))
    channel = record.channel
    if patch.channel is not UNSET:
        channel = _stored_channel(svc, patch.channel)
    new = SubscriberRecord(
        id=record.id, channel=channel, preferences=Preferences(**{**prefs.__dict__, **updates}),
        areas=record.areas, cells=record.cells, created_at=record.created_at,
        updated_at=to_rfc3339(ctx.now), expires_at=record.expires_at, secret=record.secret,
        contacts=record.contacts,
    )
    save(svc, new)
    if channel is not record.channel:
        _drop_channel(svc, record.channel)
    svc.store.access_log.append(own_audit(svc, ctx, record, "subscriber.update"))
    return to_out(new)


def _erase_words(svc: Services, ctx: RequestContext, owner: str) -> int:
    """Redact every record the word index lists for `owner`, then drop the index entries.
    Each redaction is logged by the system (`contact.erase_words`), naming only the record."""
    redacted = 0
    done: list[str] = []
    for ref in svc.store.words.refs(owner):
        table, record_id = svc.store.words.split_ref(ref)
        if table == "messages":  # a conversation message (issue 11): its text, then its contact
            from chalicelib.usecases.conversations import erase_message_words

            table, record_id = svc.store.words.CONTACTS, erase_message_words(svc, record_id) or ""
        if table == svc.store.words.CONTACTS and record_id:
            audit = AccessRecord(actor=ERASURE_ACTOR, role="system", action="contact.erase_words", at=ctx.now,
                                 request_id=ctx.request_id, record_id=record_id)
            digest = svc.pseudonyms.content_digest(f"{record_id}|erased".encode())
            redacted += svc.store.contacts.redact_words(record_id, digest, audit)
        done.append(ref)
    svc.store.words.forget(owner, done)
    return redacted


def erase_me(svc: Services, ctx: RequestContext) -> None:
    """Erasure, in an order that survives interruption (the same token retries it until the
    record, deleted last, is gone): stop new words, redact kept words, delete deliveries, index
    entries, inbox and the record with its secret. See docs/data-protection.md."""
    record = current(svc, ctx)
    svc.store.subscribers.mark_erasing(record.id)
    from chalicelib.usecases.conversations import erase_resident

    erase_resident(svc, record.id)  # conversations forget the resident (issue 11)
    svc.store.priorities.erase_subscriber(record.id)  # supports and attendances (counts stay)
    redacted = _erase_words(svc, ctx, resident_name(svc, record))
    # Logged before the secret goes: the entry names the resident by a pseudonym nobody can
    # recompute afterwards.
    svc.store.access_log.append(own_audit(svc, ctx, record, "subscriber.erase", row_count=redacted))
    svc.store.deliveries.erase_subscriber(record.id)
    for contact in record.contacts:
        channel_confirmation.forget(svc, record.id, contact)  # the STOP index entry of a number
    svc.store.subscribers.erase(record)
    _drop_channel(svc, record.channel)


def _resolve(svc: Services, index: int, item: Any) -> dict[str, Any]:
    field = f"areas[{index}]"
    if isinstance(item, AreaRefIn):
        try:
            area_id = str(uuid.UUID(item.area_id))
        except ValueError:
            raise RuleViolation("Unknown area.", [FieldError(f"{field}.area_id", "must be a UUID")]) from None
        area = svc.store.areas.get(area_id)
        if area is None:
            raise RuleViolation("Unknown area.", [FieldError(f"{field}.area_id", "no such area")])
        check_cover_cost(area.geometry, f"{field}.area_id", SUBSCRIPTION_RESOLUTION)  # areas stored before the checks
        return {"shape": msgspec.to_builtins(area.geometry), "area_id": area.id}
    # Structure, size (polygons: MAX_SHAPE_KM2; circles: bounded by their radius) and covering cost.
    validate_shape(item, field, **({} if isinstance(item, Circle) else {"max_area_km2": MAX_SHAPE_KM2}))
    return {"shape": msgspec.to_builtins(item)}


def put_areas(svc: Services, ctx: RequestContext, body: AreasIn) -> SubscriberOut:
    record = current(svc, ctx)
    from chalicelib.domain.shapes import Polygon, Shape
    from chalicelib.domain.subscribers import decode_area_item

    items = [decode_area_item(bytes(raw), f"areas[{i}]", Polygon | Circle) for i, raw in enumerate(body.areas)]
    areas = [_resolve(svc, i, item) for i, item in enumerate(items)]

    cells: set[str] = set()
    for index, area in enumerate(areas):
        cells |= svc.cover(msgspec.convert(area["shape"], Shape), SUBSCRIPTION_RESOLUTION)
        if len(cells) > MAX_CELLS:
            raise RuleViolation("The areas are too large together.", [FieldError(
                f"areas[{index}]", f"the areas cover more than {MAX_CELLS} index cells (H3 res {SUBSCRIPTION_RESOLUTION}, ~5 km² each)")])
    ordered = tuple(sorted(cells))
    new = SubscriberRecord(
        id=record.id, channel=record.channel, preferences=record.preferences, areas=tuple(areas),
        cells=ordered, created_at=record.created_at, updated_at=to_rfc3339(ctx.now), expires_at=record.expires_at,
        secret=record.secret, contacts=record.contacts,
    )
    # New index entries first, then the record, then drop the cells no longer covered: the worker
    # ignores entries for cells the record no longer lists, so no half-state sends anything wrong.
    svc.store.subscribers.write_index(record.id, ordered, [a["shape"] for a in areas], record.expires_at)
    save(svc, new)
    svc.store.subscribers.delete_index(record.id, set(record.cells) - cells)
    # Alerts already in force over the newly followed cells reach the inbox too (inbox only).
    deliver_in_force(svc.store, new, cells - set(record.cells), ctx.now, base_url=svc.settings.public_base_url)
    svc.store.access_log.append(own_audit(svc, ctx, record, "subscriber.areas.replace", row_count=len(areas)))
    return to_out(new)


INBOX_KINDS: dict[str, type[InboxItem]] = {
    "conversation": ConversationInboxItem, "priority_action": PriorityActionInboxItem,
    "meeting_reminder": MeetingReminderInboxItem, "pulse": PulseInboxItem,
}


def _inbox_item(item: dict[str, Any]) -> InboxItem:
    """An inbox copy as shown: a team answer, an action on a priority, a meeting reminder, or an alert."""
    kind = INBOX_KINDS.get(str(item.get("kind")))
    if kind is not None:
        return msgspec.convert(item, kind)
    return msgspec.convert(item, InboxItemOut)


def inbox(svc: Services, ctx: RequestContext, query: InboxQuery) -> InboxPage:
    record = current(svc, ctx)
    fingerprint = query_fingerprint("subscribers.inbox", record.id, {"limit": query.limit})
    items, position = svc.store.subscribers.inbox_page(record.id, query.limit, svc.cursors.decode(query.cursor, fingerprint))
    now_text = to_rfc3339(ctx.now)
    # Expired alerts stop showing anywhere (their inbox copies expire by TTL later).
    visible = [_inbox_item(i) for i in items if i.get("expires_at", "") > now_text]  # a self-read: not logged
    return InboxPage(items=_with_context(svc, record, visible), next_cursor=svc.cursors.encode(position, fingerprint))


def _with_context(svc: Services, record: SubscriberRecord, items: list[InboxItem]) -> list[InboxItem]:
    """Team answers say which conversation (topic, area, alert: one BatchGetItem per page, so
    answers received before the context existed have it too); alert copies from before copies
    carried every language get them from the alert while it still says the same message."""
    answers = {i.conversation_id for i in items if isinstance(i, ConversationInboxItem)}
    convs = svc.store.conversations.many(answers) if answers else {}
    older = {i.alert_id for i in items if isinstance(i, InboxItemOut) and i.translations is None}
    alerts = {a.id: a for a in svc.store.alerts.many(older)} if older else {}
    return [_contextual(item, convs, alerts, record) for item in items]


def _contextual(item: InboxItem, convs: Mapping[str, Any], alerts: Mapping[str, Any], record: SubscriberRecord) -> InboxItem:
    if isinstance(item, ConversationInboxItem):
        return _answer_context(item, convs, record)
    if isinstance(item, InboxItemOut):
        return _alert_texts(item, alerts)
    return item


def _answer_context(item: ConversationInboxItem, convs: Mapping[str, Any], record: SubscriberRecord) -> InboxItem:
    conv = convs.get(item.conversation_id)
    if conv is None or conv.owner != record.id:
        return item
    return msgspec.structs.replace(item, topic=conv.topic, area_name=conv.area_name, alert_id=conv.alert_id,
                                   alert_headlines=dict(conv.alert_headlines) or None)


def _alert_texts(item: InboxItemOut, alerts: Mapping[str, Any]) -> InboxItem:
    alert = alerts.get(item.alert_id)
    if alert is None or not InboxEntry.sort_key(alert).startswith(item.sent_at):
        return item
    return msgspec.structs.replace(item, translations=inbox_texts(alert.infos()))


def webpush_key(svc: Services, ctx: RequestContext) -> WebPushKeyOut:
    """The VAPID public key browsers subscribe with; 404 where Web Push is not configured."""
    key = svc.vapid_public_key()
    if key is None:
        raise NoSuchRecord("Web Push is not configured on this stage.")
    return WebPushKeyOut(application_server_key=key)
