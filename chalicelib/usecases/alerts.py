"""The alert lifecycle (draft, approve, update, cancel; expiry is computed), staff reads, resident
receipts and responses, and the public outputs."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from chalicelib.auth import permissions
from chalicelib.auth.identity import same_person
from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.alerts import (
    ALERT_RESOLUTION,
    MAX_ALERT_DAYS,
    AlertIn,
    AlertListQuery,
    AlertOut,
    AlertPage,
    AlertRecord,
    AlertUpdateIn,
    Content,
    PendingUpdate,
    PublicAlert,
    PublicAlertList,
    ReceiptOut,
    ResponseIn,
    ResponseOut,
    StoredArea,
    apply_update,
    check_transition,
    propose,
    public_out,
    published,
    to_public,
)
from chalicelib.domain.cursors import query_fingerprint
from chalicelib.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PreconditionRequired,
    RuleViolation,
    StateForbids,
    Unavailable,
)
from chalicelib.domain.geometry import AreaMatcher
from chalicelib.domain.shapes import check_cover_cost, validate_shape
from chalicelib.domain.subscribers import SubscriberRecord
from chalicelib.ports import FanoutMessage, QueueUnavailable, StaleAlert
from chalicelib.usecases.residents import resident_name
from chalicelib.usecases.subscribers import current as current_subscriber

if TYPE_CHECKING:
    from chalicelib.services import Services

CELLS_PER_MESSAGE = 4  # fan-out messages per alert = cells / 4 (see docs/fanout.md)


def _team(ctx: RequestContext) -> str:
    if not ctx.caller.team:
        raise Forbidden("Your token carries no team; alerts belong to a team.")
    return ctx.caller.team


def _check_expiry(expires_at: datetime, ctx: RequestContext, field: str = "expires_at") -> str:
    if expires_at <= ctx.now:
        raise RuleViolation("The alert would already be expired.", [FieldError(field, "must be in the future")])
    if expires_at > ctx.now + timedelta(days=MAX_ALERT_DAYS):
        raise RuleViolation("The alert lasts too long.", [FieldError(field, f"must be within {MAX_ALERT_DAYS} days")])
    return to_rfc3339(expires_at)


def _area(svc: Services, body: AlertIn, team: str) -> StoredArea:
    from chalicelib.domain.shapes import Shape
    from chalicelib.domain.subscribers import AreaRefIn, decode_area_item

    area_in = decode_area_item(bytes(body.area), "area", Shape)
    if isinstance(area_in, AreaRefIn):
        try:
            area_id = str(uuid.UUID(area_in.area_id))
        except ValueError:
            raise RuleViolation("Unknown area.", [FieldError("area.area_id", "must be a UUID")]) from None
        area = svc.store.areas.get(area_id)
        if area is None:
            raise RuleViolation("Unknown area.", [FieldError("area.area_id", "no such area")])
        if area.team != team:
            raise Forbidden("That area belongs to another team.")
        check_cover_cost(area.geometry, "area.area_id", ALERT_RESOLUTION)  # areas stored before the checks
        return StoredArea(shape=area.geometry, name=area.name, area_id=area.id)
    validate_shape(area_in, "area")  # structure, size and covering cost, before anything is covered
    return StoredArea(shape=area_in, name="Custom area")


def _check_translations(language: str, translations: dict[str, Any] | None) -> None:
    if translations and language.lower() in {t.lower() for t in translations}:
        raise RuleViolation("A translation repeats the original language.",
                          [FieldError(f"translations.{language}", "is the alert's own language")])


def _reread(svc: Services, alert_id: str) -> AlertRecord:
    """The alert as stored after a write (counters and messages included)."""
    record = svc.store.alerts.get(alert_id)
    if record is None:  # deleted between the write and the read: nothing left to show
        raise NotFound("No such alert.")
    return record


def draft(svc: Services, ctx: RequestContext, body: AlertIn) -> AlertOut:
    team = _team(ctx)
    expires = _check_expiry(body.expires_at, ctx)
    _check_translations(body.language, body.translations)
    area = _area(svc, body, team)
    stamp = to_rfc3339(ctx.now)
    record = AlertRecord(
        id=str(uuid.uuid4()), team=team, author=ctx.caller.sub, status="draft", revision=0, msg_type="Alert",
        content=Content(
            headline=body.headline, description=body.description, instruction=body.instruction,
            category=body.category, severity=body.severity, urgency=body.urgency, certainty=body.certainty,
            language=body.language, translations=body.translations or {},
        ),
        area=area, cells=tuple(sorted(svc.cover(area.shape, ALERT_RESOLUTION))), expires=expires,
        created_at=stamp, updated_at=stamp,
    )
    svc.store.alerts.create(record)
    _awaiting_approval(svc, record, ctx.caller.sub)
    return record.to_out(ctx.now)


def _awaiting_approval(svc: Services, record: AlertRecord, by: str) -> None:
    """The team's supervisors other than the author are told (staff push, no content), once per
    device for the draft and once for each proposed update."""
    from chalicelib.usecases.staff_devices import notify_team

    occurrence = record.pending.id if record.pending else "draft"
    notify_team(svc, record.team, "alert_awaiting_approval", record.id, occurrence=occurrence, exclude=by,
                roles=("supervisor",))


def _visible(svc: Services, ctx: RequestContext, alert_id: str) -> AlertRecord:
    """Staff of the alert's team; everyone else gets a 404."""
    try:
        alert_id = str(uuid.UUID(alert_id))
    except ValueError:
        raise NotFound("No such alert.") from None
    record = svc.store.alerts.get(alert_id)
    if record is None or record.team != ctx.caller.team:
        raise NotFound("No such alert.")
    return record


def _replace(svc: Services, old: AlertRecord, new: AlertRecord) -> None:
    try:
        svc.store.alerts.replace(old, new)
    except StaleAlert:
        raise Conflict("The alert changed meanwhile; read it again.") from None


def _enqueue(svc: Services, messages: list[FanoutMessage]) -> None:
    """The state change is committed first (a worker must see the published alert). If the queue
    then refuses the messages, the caller gets 503; see docs/alerts.md (known limitation)."""
    try:
        svc.fanout.enqueue(messages)
    except QueueUnavailable:
        raise Unavailable("The alert changed state but its delivery could not be queued; an operator must "
                          "re-queue it.", retry_after=60) from None


def _enqueue_cells(svc: Services, record: AlertRecord) -> None:
    cells = list(record.cells)
    _enqueue(svc, [
        FanoutMessage(alert_id=record.id, revision=record.revision, mode="cells", cells=cells[i:i + CELLS_PER_MESSAGE])
        for i in range(0, len(cells), CELLS_PER_MESSAGE)
    ])


def approve(svc: Services, ctx: RequestContext, alert_id: str, proposal: str | None = None) -> AlertOut:
    """Publish a draft (Alert) or a published alert's pending update (Update). Two people see every
    word: the approver is never the draft's author nor the update's proposer (403)."""
    record = _visible(svc, ctx, alert_id)
    if not permissions.is_team_supervisor(ctx.caller, record.team):
        raise Forbidden("Only a supervisor of the alert's team may approve it.")
    check_transition(record, "approve", ctx.now)
    if record.pending is None:  # a draft (check_transition refused a published alert without one)
        return _approve_draft(svc, ctx, record, proposal)
    return _approve_update(svc, ctx, record, record.pending, proposal)


def _approve_draft(svc: Services, ctx: RequestContext, record: AlertRecord, proposal: str | None) -> AlertOut:
    if same_person(record.author, ctx.caller.sub, svc.settings.staff_issuer):
        raise Forbidden("The author of an alert may not approve it.")
    if proposal is not None:
        raise Conflict("A draft has no pending update; approve it without `proposal`.")
    new = published(record, now=ctx.now, msg_type="Alert", approved_by=ctx.caller.sub)
    _replace(svc, record, new)
    svc.store.alerts.put_cells(new.id, new.cells, new.expires)
    _enqueue_cells(svc, new)
    return _reread(svc, new.id).to_out(ctx.now)


def _check_proposal(svc: Services, ctx: RequestContext, pending: PendingUpdate, proposal: str | None) -> None:
    """The approver names the proposal they read (`?proposal=`): a proposal replaced since then is
    not the one they approve (409), and the store write is conditional on it as well. Identities
    are compared as people (auth/identity.py), not as strings."""
    if same_person(pending.proposed_by, ctx.caller.sub, svc.settings.staff_issuer):
        raise Forbidden("The proposer of an update may not approve it; another supervisor of the team must.")
    if proposal is None:
        raise PreconditionRequired("Name the proposal you approve: `?proposal=<pending_update.id>` from the "
                                   "alert you read.")
    if proposal != pending.id:
        raise Conflict("That proposal is no longer the pending one; read the alert again.")
    if parse_rfc3339(pending.expires) <= ctx.now:
        raise StateForbids("The proposed expiry has passed; propose the update again.")


def _approve_update(svc: Services, ctx: RequestContext, record: AlertRecord, pending: PendingUpdate,
                    proposal: str | None) -> AlertOut:
    _check_proposal(svc, ctx, pending, proposal)
    new = published(record, now=ctx.now, msg_type="Update", content=pending.content, expires=pending.expires,
                    approved_by=ctx.caller.sub)
    _replace(svc, record, new)
    if new.expires != record.expires:
        svc.store.alerts.put_cells(new.id, new.cells, new.expires)
    _enqueue(svc, _audience_messages(svc, new))
    return _reread(svc, new.id).to_out(ctx.now)


def update(svc: Services, ctx: RequestContext, alert_id: str, body: AlertUpdateIn) -> AlertOut:
    """Propose new content for a published alert (202). It replaces any earlier proposal and reaches
    nobody until another supervisor of the team approves it."""
    record = _visible(svc, ctx, alert_id)
    check_transition(record, "update", ctx.now)
    if not any(getattr(body, f) is not msgspec.UNSET for f in body.__struct_fields__):
        raise RuleViolation("Nothing to update.", [FieldError("(body)", "give at least one field")])
    expires = record.expires
    if body.expires_at is not msgspec.UNSET:
        expires = _check_expiry(body.expires_at, ctx)
    content = apply_update(record, body)
    _check_translations(content.language, content.translations)
    new = propose(record, proposal_id=str(uuid.uuid4()), content=content, expires=expires, by=ctx.caller.sub,
                  now=ctx.now)
    _replace(svc, record, new)
    _awaiting_approval(svc, new, ctx.caller.sub)
    return new.to_out(ctx.now)


def _audience_messages(svc: Services, record: AlertRecord) -> list[FanoutMessage]:
    """One message per delivery shard: an Update/Cancel goes to the original audience in parallel."""
    return [FanoutMessage(alert_id=record.id, revision=record.revision, mode="audience", shard=shard)
            for shard in range(svc.store.deliveries.DELIVERY_SHARDS)]


def cancel(svc: Services, ctx: RequestContext, alert_id: str) -> AlertOut:
    record = _visible(svc, ctx, alert_id)
    check_transition(record, "cancel", ctx.now)
    if record.status == "draft":  # withdrawn before publication: nobody to tell
        from dataclasses import replace

        new = replace(record, status="cancelled", updated_at=to_rfc3339(ctx.now))
        _replace(svc, record, new)
    else:
        new = published(record, now=ctx.now, msg_type="Cancel")
        _replace(svc, record, new)
        svc.store.alerts.delete_cells(new.id, new.cells)
        _enqueue(svc, _audience_messages(svc, new))
    return _reread(svc, new.id).to_out(ctx.now)


def get_alert(svc: Services, ctx: RequestContext, alert_id: str) -> AlertOut:
    return _visible(svc, ctx, alert_id).to_out(ctx.now)


def list_alerts(svc: Services, ctx: RequestContext, query: AlertListQuery) -> AlertPage:
    team = _team(ctx)
    filters = {"status": query.status, "limit": query.limit, "team": team}
    fingerprint = query_fingerprint("alerts.list", ctx.caller.sub, filters)
    records, position = svc.store.alerts.team_page(
        team, status=query.status, now_text=to_rfc3339(ctx.now),
        limit=query.limit, start=svc.cursors.decode(query.cursor, fingerprint),
    )
    return AlertPage(items=[r.to_out(ctx.now) for r in records], next_cursor=svc.cursors.encode(position, fingerprint))


# -- residents -------------------------------------------------------------------------------

def _delivered(svc: Services, ctx: RequestContext, alert_id: str) -> tuple[str, SubscriberRecord]:
    """(alert id, subscriber) when this alert was delivered to the calling resident; else 404."""
    subscriber = current_subscriber(svc, ctx)
    try:
        alert_id = str(uuid.UUID(alert_id))
    except ValueError:
        raise NotFound("No such alert.") from None
    if svc.store.deliveries.get(alert_id, subscriber.id) is None:
        raise NotFound("No such alert.")
    return alert_id, subscriber


def _resident_audit(svc: Services, ctx: RequestContext, subscriber: SubscriberRecord, action: str,
                    record_id: str) -> AccessRecord:
    """The resident is named by its `res_` pseudonym only (unrecomputable once erased)."""
    return AccessRecord(actor=resident_name(svc, subscriber), role="resident", action=action, at=ctx.now,
                        request_id=ctx.request_id, record_id=record_id)


def read_receipt(svc: Services, ctx: RequestContext, alert_id: str) -> ReceiptOut:
    alert_id, subscriber = _delivered(svc, ctx, alert_id)
    now_text = to_rfc3339(ctx.now)
    if not svc.store.deliveries.receipt(alert_id, subscriber.id, now_text):
        existing = svc.store.deliveries.get(alert_id, subscriber.id)
        now_text = existing.read_at if existing and existing.read_at else now_text
    svc.store.access_log.append(_resident_audit(svc, ctx, subscriber, "subscriber.receipt", alert_id))
    return ReceiptOut(alert_id=alert_id, read_at=now_text)


def respond(svc: Services, ctx: RequestContext, alert_id: str, body: ResponseIn) -> ResponseOut:
    """The reply becomes an inbound online contact (platform `beatline`) in the alert team's log.
    Its author is the fixed id RESIDENTS_AUTHOR (author_role `resident`); the resident appears only as a pseudonym keyed by
    its own secret (`handle_pseudonym` = `rsp_...`), so replies from one resident can be linked
    while it exists, and by nobody after erasure. It is also a message of the resident's conversation with the
    team about the alert (issue 11); the word index records it in the same transaction."""
    alert_id, _ = _delivered(svc, ctx, alert_id)
    alert = svc.store.alerts.get(alert_id)
    if alert is None:
        raise NotFound("No such alert.")
    stamp = to_rfc3339(ctx.now)
    # Issue 11: the reply is a message of the resident's conversation with the team about this
    # alert (opened on the first reply); its contact is written in the message's transaction.
    from chalicelib.usecases.conversations import reply_to_alert

    headlines = {info.language: info.headline for info in alert.infos()}  # titles the conversation
    conversation_id, contact_id = reply_to_alert(svc, ctx, alert_id=alert_id, team=alert.team,
                                                 area_id=alert.area.area_id, text=body.message,
                                                 context=(alert.area.name, headlines))
    svc.store.alerts.add_figures(alert_id, {"responses": 1})
    return ResponseOut(id=contact_id, alert_id=alert_id, received_at=stamp, conversation_id=conversation_id)


# -- public ----------------------------------------------------------------------------------

def public_alerts(svc: Services, ctx: RequestContext, lat: float, lon: float) -> PublicAlertList:
    import h3

    cell = h3.latlng_to_cell(lat, lon, ALERT_RESOLUTION)
    records = svc.store.alerts.many(svc.store.alerts.alerts_in_cell(cell, ctx.now))
    live = [r for r in records if r.live_at(ctx.now) and AreaMatcher(r.area.shape).contains_point(lat, lon)]
    live.sort(key=lambda r: r.updated_at, reverse=True)
    return PublicAlertList(items=[public_out(r, base_url=svc.settings.public_base_url) for r in live])


CAP_FILE = re.compile(r"^(?P<id>[0-9a-fA-F-]{36})\.cap$")


def public_alert(svc: Services, ctx: RequestContext, file: str) -> PublicAlert:
    """The PublicAlert behind `/v1/public/alerts/<uuid>.cap`: published or cancelled (its Cancel
    message), not draft, not expired; anything else is a 404."""
    match = CAP_FILE.match(file)
    if not match:
        raise NotFound("No such alert document.")
    try:
        alert_id = str(uuid.UUID(match.group("id")))
    except ValueError:
        raise NotFound("No such alert document.") from None
    record = svc.store.alerts.get(alert_id)
    if record is None or not record.messages or record.status_at(ctx.now) not in ("published", "cancelled"):
        raise NotFound("No such alert document.")
    return to_public(record, sender=svc.settings.alert_sender, now=ctx.now)


def cap_document(svc: Services, ctx: RequestContext, file: str) -> bytes:
    from chalicelib.domain.cap import render_cap

    return render_cap(public_alert(svc, ctx, file))


def feed(svc: Services, ctx: RequestContext, area_id: str | None) -> bytes:
    if area_id is not None:
        try:
            area_id = str(uuid.UUID(area_id))
        except ValueError:
            raise NotFound("No such area.") from None
        area = svc.store.areas.get(area_id)
        if area is None:
            raise NotFound("No such area.")
        title = f"Beatline alerts: {area.name}"
    else:
        title = "Beatline alerts"
    # Published alerts and the Cancel of cancelled ones, until they (would have) expired.
    records = [r for r in svc.store.alerts.public_live(ctx.now, area_id) if r.status_at(ctx.now) in ("published", "cancelled")]
    records.sort(key=lambda r: r.updated_at, reverse=True)
    alerts = [to_public(r, sender=svc.settings.alert_sender, now=ctx.now) for r in records]
    base = svc.settings.public_base_url
    self_url = f"{base}/v1/public/feed.atom" + (f"?area_id={area_id}" if area_id else "")
    from chalicelib.domain.atom import render_feed

    updated = max((a.sent_at for a in alerts), default=to_rfc3339(ctx.now))
    return render_feed(alerts, feed_id=self_url, title=title, self_url=self_url, updated=updated,
                       cap_url=lambda alert_id: f"{base}/v1/public/alerts/{alert_id}.cap")
