"""The engagement log: create (single and offline batch), read, amend, list."""

from __future__ import annotations

import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

import msgspec

from chalicelib.auth import permissions
from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import engagement
from chalicelib.domain.contact_schemas import (
    AmendmentList,
    AmendmentOut,
    BatchOut,
    BatchResult,
    Change,
    ContactIn,
    ContactListQuery,
    ContactOut,
    ContactPage,
    ContactPatch,
    OnlineContactIn,
    StreetContactIn,
)
from chalicelib.domain.contacts import ContactRecord, apply_patch, new_record
from chalicelib.domain.cursors import query_fingerprint
from chalicelib.domain.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, RuleViolation
from chalicelib.domain.results import Created, Resent
from chalicelib.domain.validation import decode_json
from chalicelib.ports import ConditionFailed, StoreUnavailable

if TYPE_CHECKING:
    from chalicelib.services import Services


def _author_team(ctx: RequestContext) -> tuple[str, str]:
    caller = ctx.caller
    if not caller.team:
        raise Forbidden("Your token carries no team; contacts are logged against a team.")
    return caller.sub, caller.team


def create_contact(svc: Services, ctx: RequestContext, item: ContactIn) -> Created[ContactOut] | Resent[ContactOut]:
    """Created for a new id; Resent for an identical retry; Conflict for the same id with other content."""
    author, team = _author_team(ctx)
    record = new_record(
        item, author=author, team=team, now=ctx.now, rules=svc.contact_rules,
        pseudonyms=svc.pseudonyms, area_for_cell=svc.store.areas.area_for_cell,
        author_role=engagement.author_role(ctx.caller.roles), author_rank=ctx.caller.rank,
    )
    try:
        svc.store.contacts.create(record, ctx.audit("contact.create", record_id=record.id))
        return Created(record.to_out())
    except ConditionFailed as failed:
        # The cancellation reason carries the existing item; read it only if a store ever omits it.
        existing = failed.existing or svc.store.contacts.get(record.id)
    if existing is None or existing.content_digest != record.content_digest:
        raise Conflict("A different contact with this id already exists.")
    # An identical retry (offline sync resending) writes nothing: the caller is the author (the
    # digest is keyed by author) getting back what it sent, whose creation is already logged.
    # Once amended, the stored contact holds someone else's changes: that read is logged.
    if existing.version > 1:
        svc.store.access_log.append(ctx.audit("contact.read", record_id=existing.id))
    return Resent(existing.to_out())


def _item_id(raw: bytes) -> str | None:
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    item_id = value.get("id") if isinstance(value, dict) else None
    return item_id if isinstance(item_id, str) else None


def refusal_errors(refused: DomainError) -> list[dict[str, str]]:
    return [e.to_dict() for e in refused.errors] or [{"field": "(body)", "message": refused.detail}]


def _under(prefix: str, errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """Field paths relative to the batch body: rule errors (time window, conflict) name the item's
    own fields; schema errors already carry the prefix."""
    out = []
    for error in errors:
        name = error["field"]
        if name == "(body)":
            name = prefix
        elif not name.startswith(prefix):
            name = f"{prefix}.{name}"
        out.append({**error, "field": name})
    return out


def sync_batch(svc: Services, ctx: RequestContext, raw_items: list[msgspec.Raw]) -> BatchOut:
    """Each item is created independently (one transaction each); one bad item never blocks the rest.

    Items run on a small thread pool; items sharing an id run in order on one thread, so a
    duplicate inside a batch is answered like a retry. If the store is unavailable for any item,
    the whole batch answers 503 after the others finish: retrying it is safe (idempotent ids).
    """
    _author_team(ctx)
    results: list[BatchResult | None] = [None] * len(raw_items)
    unavailable: list[StoreUnavailable] = []

    def one(index: int) -> None:
        raw = bytes(raw_items[index])
        item_id = _item_id(raw)
        prefix = f"contacts[{index}]"
        try:
            item: StreetContactIn | OnlineContactIn = decode_json(
                raw, cast("type[StreetContactIn | OnlineContactIn]", ContactIn),
                limit=svc.settings.max_body_bytes, prefix=prefix)
            saved = create_contact(svc, ctx, item)
            # The per-item status is part of the batch body's contract (201 new, 200 identical retry).
            results[index] = BatchResult(id=str(item.id), status=201 if isinstance(saved, Created) else 200)
        except DomainError as refused:
            # Per-item statuses are 201|200|409|400 by contract: an oversized item is bad input.
            status = 409 if isinstance(refused, Conflict) else 400
            results[index] = BatchResult(id=item_id, status=status, errors=_under(prefix, refusal_errors(refused)))
        except StoreUnavailable as exc:
            unavailable.append(exc)

    groups: dict[str, list[int]] = defaultdict(list)
    for index, raw in enumerate(raw_items):
        groups[_item_id(bytes(raw)) or f"#{index}"].append(index)

    def run_group(indices: list[int]) -> None:
        for index in indices:
            one(index)

    workers = min(svc.settings.batch_workers, len(groups))
    if workers <= 1:
        for indices in groups.values():
            run_group(indices)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run_group, groups.values()))
    if unavailable:
        raise unavailable[0]
    return BatchOut(results=[r for r in results if r is not None])


def _visible(svc: Services, ctx: RequestContext, contact_id: str) -> ContactRecord:
    try:
        contact_id = str(uuid.UUID(contact_id))
    except ValueError:
        raise NotFound("No such contact.") from None
    record = svc.store.contacts.get(contact_id)
    if record is None or not permissions.may_see_contact(ctx.caller, record.author, record.team):
        raise NotFound("No such contact.")
    return record


def get_contact(svc: Services, ctx: RequestContext, contact_id: str) -> ContactOut:
    record = _visible(svc, ctx, contact_id)
    svc.store.access_log.append(ctx.audit("contact.read", record_id=record.id))
    return record.to_out()


def amend_contact(svc: Services, ctx: RequestContext, contact_id: str, patch: ContactPatch) -> ContactOut:
    record = _visible(svc, ctx, contact_id)
    if patch.version != record.version:
        raise Conflict(f"Stale version {patch.version}; the contact is at version {record.version}.")
    amended, changes = apply_patch(
        record, patch, now=ctx.now, rules=svc.contact_rules, pseudonyms=svc.pseudonyms,
        area_for_cell=svc.store.areas.area_for_cell,
    )
    if not changes:
        svc.store.access_log.append(ctx.audit("contact.read", record_id=record.id))
        return record.to_out()
    try:
        # Counters move from the contacts stream (old image -1, new image +1): issue 23.
        svc.store.contacts.amend(record, amended, changes, ctx.audit("contact.amend", record_id=record.id))
    except ConditionFailed:
        raise Conflict("The contact was amended meanwhile; read it again and retry.") from None
    return amended.to_out()


def list_amendments(svc: Services, ctx: RequestContext, contact_id: str) -> AmendmentList:
    record = _visible(svc, ctx, contact_id)
    items = [
        AmendmentOut(
            version=a["version"], at=a["at"], by=a["by"], by_role=a["by_role"],
            changes=[Change(field=c["field"], old=c["old"], new=c["new"]) for c in a["changes"]],
        )
        for a in svc.store.contacts.amendments(record.id)
    ]
    svc.store.access_log.append(ctx.audit("contact.amendments.read", record_id=record.id))
    return AmendmentList(items=items)


def _team_view(ctx: RequestContext, query: ContactListQuery) -> bool:
    """`team=mine`: a supervisor's view of the team's contacts (403 for others, or without a team)."""
    if query.from_ and query.to and query.from_ > query.to:
        raise RuleViolation("`from` is after `to`.", [FieldError("from", "must not be after `to`")])
    if query.team != "mine":
        return False
    permissions.require(ctx.caller, "contacts:list-team")
    if not ctx.caller.team:
        raise Forbidden("Your token carries no team.")
    return True


def list_contacts(svc: Services, ctx: RequestContext, query: ContactListQuery) -> ContactPage:
    caller = ctx.caller
    team_view = _team_view(ctx, query)
    filters: dict[str, Any] = {
        "from": to_rfc3339(query.from_) if query.from_ else None,
        "to": to_rfc3339(query.to) if query.to else None,
        "kind": query.kind,
        "team": caller.team if team_view else None,
        "limit": query.limit,
    }
    fingerprint = query_fingerprint("contacts.list", caller.sub, filters)
    page = svc.store.contacts.list_contacts(
        author=None if team_view else caller.sub,
        team=caller.team if team_view else None,
        occurred_from=filters["from"],
        occurred_to=filters["to"],
        kind=query.kind,
        limit=query.limit,
        position=svc.cursors.decode(query.cursor, fingerprint),
    )
    svc.store.access_log.append(ctx.audit("contact.list", query=filters, row_count=len(page.records)))
    return ContactPage(
        items=[r.to_out() for r in page.records],
        next_cursor=svc.cursors.encode(page.position, fingerprint),
    )
