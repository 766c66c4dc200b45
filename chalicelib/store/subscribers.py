"""Subscribers, their cell index entries and their inbox. Erasure removes all of it (plus the
delivery records, see store.deliveries.erase_subscriber)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.domain.contact_channels import ContactChannel
from chalicelib.domain.subscribers import Preferences, QuietHours, SubscriberRecord
from chalicelib.ports import InboxCopy, NotFound
from chalicelib.store.errors import error_code, translate_store_errors, update_if
from chalicelib.store.models import InboxModel, SubscriberModel, SubscriptionModel


def _to_model(record: SubscriberRecord) -> SubscriberModel:
    prefs = record.preferences
    return SubscriberModel(
        id=record.id, channel=json.dumps(record.channel, separators=(",", ":")),
        language=prefs.language, categories=list(prefs.categories) if prefs.categories else None,
        min_severity=prefs.min_severity,
        quiet_hours=msgspec.json.encode(prefs.quiet_hours).decode() if prefs.quiet_hours else None,
        areas=json.dumps(list(record.areas), separators=(",", ":")) if record.areas else None,
        cells=list(record.cells) or None, created_at=record.created_at, updated_at=record.updated_at,
        expires_at=record.expires_at, secret=record.secret, contacts=_contacts_json(record.contacts),
    )


def _contacts_json(contacts: tuple[ContactChannel, ...]) -> str | None:
    if not contacts:
        return None
    return json.dumps([dataclasses.asdict(c) for c in contacts], separators=(",", ":"))


def _contacts(text: str | None) -> tuple[ContactChannel, ...]:
    return tuple(ContactChannel(**c) for c in json.loads(text)) if text else ()


def from_model(model: SubscriberModel) -> SubscriberRecord:
    return SubscriberRecord(
        id=model.id, channel=json.loads(model.channel),
        preferences=Preferences(
            language=model.language, categories=tuple(model.categories) if model.categories else None,
            min_severity=model.min_severity,
            quiet_hours=msgspec.json.decode(model.quiet_hours, type=QuietHours) if model.quiet_hours else None,
        ),
        areas=tuple(json.loads(model.areas)) if model.areas else (), cells=tuple(model.cells or ()),
        created_at=model.created_at, updated_at=model.updated_at, expires_at=model.expires_at,
        secret=model.secret, contacts=_contacts(model.contacts),
    )


@translate_store_errors
def create(record: SubscriberRecord) -> None:
    _to_model(record).save(condition=SubscriberModel.id.does_not_exist())


@translate_store_errors
def get(subscriber_id: str) -> SubscriberRecord | None:
    try:
        return from_model(SubscriberModel.get(subscriber_id, consistent_read=True))
    except SubscriberModel.DoesNotExist:
        return None


@translate_store_errors
def save(record: SubscriberRecord) -> None:
    """Replace the record if it still exists (an erased subscriber is never resurrected)."""
    try:
        _to_model(record).save(condition=SubscriberModel.id.exists())
    except PutError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            raise NotFound() from exc
        raise


@translate_store_errors
def set_secret(subscriber_id: str, secret: str) -> bool:
    """Give a record made before secrets existed its secret; False if it has one (or is gone)."""
    return update_if(SubscriberModel(id=subscriber_id), [SubscriberModel.secret.set(secret)],
                     SubscriberModel.id.exists() & SubscriberModel.secret.does_not_exist())


@translate_store_errors
def mark_erasing(subscriber_id: str) -> None:
    """First step of erasure: from now on no transaction stores this resident's words
    (store.contacts.create checks `erasing` does not exist), so the word index is complete."""
    update_if(SubscriberModel(id=subscriber_id), [SubscriberModel.erasing.set("1")], SubscriberModel.id.exists())


def accepts_words_condition(subscriber_id: str) -> tuple[SubscriberModel, Condition]:
    """(item, condition) for a TransactWrite condition check: the subscriber exists and is not
    being erased."""
    return (SubscriberModel(id=subscriber_id),
            SubscriberModel.id.exists() & SubscriberModel.erasing.does_not_exist())


@translate_store_errors
def many(subscriber_ids: Iterable[str]) -> dict[str, SubscriberRecord]:
    """BatchGetItem (100 keys per call; PynamoDB retries unprocessed keys)."""
    ids = list(dict.fromkeys(subscriber_ids))
    if not ids:
        return {}
    return {m.id: from_model(m) for m in SubscriberModel.batch_get(ids)}


@translate_store_errors
def downgrade_to_inbox(subscriber_id: str, gone_type: str) -> None:
    """The push service said the endpoint is gone: keep the subscriber on its inbox only."""
    try:
        SubscriberModel(id=subscriber_id).update(
            actions=[SubscriberModel.channel.set(json.dumps({"type": "inbox", "gone": gone_type}))],
            condition=SubscriberModel.id.exists(),
        )
    except UpdateError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise


@translate_store_errors
def write_index(subscriber_id: str, cells: Iterable[str], shapes: list[dict[str, Any]], expires_at: Any) -> None:
    text = json.dumps(shapes, separators=(",", ":"))
    all_cells = sorted(cells)
    with SubscriptionModel.batch_write() as batch:
        for cell in all_cells:
            batch.save(SubscriptionModel(cell=cell, subscriber_id=subscriber_id, shapes=text, cells=all_cells,
                                         expires_at=expires_at))


@translate_store_errors
def delete_index(subscriber_id: str, cells: Iterable[str]) -> None:
    with SubscriptionModel.batch_write() as batch:
        for cell in cells:
            batch.delete(SubscriptionModel(cell=cell, subscriber_id=subscriber_id))


@translate_store_errors
def index_page(cell: str, limit: int, start: dict[str, Any] | None) -> tuple[list[tuple[str, list[dict[str, Any]], list[str]]], dict[str, Any] | None]:
    """One page of the cell index: (subscriber_id, shapes, cells) triples, and where to continue."""
    results = SubscriptionModel.query(cell, limit=limit, page_size=limit, last_evaluated_key=start)
    items = [(m.subscriber_id, json.loads(m.shapes), list(m.cells or [cell])) for m in results]
    return items, (results.last_evaluated_key if len(items) == limit else None)


@translate_store_errors
def put_inbox(entries: Iterable[InboxCopy]) -> None:
    """BatchWriteItem, 25 per call."""
    with InboxModel.batch_write() as batch:
        for copy in entries:
            batch.save(inbox_model(copy))


def inbox_model(copy: InboxCopy) -> InboxModel:
    return InboxModel(subscriber_id=copy.subscriber_id, sort_key=copy.sort_key, item=copy.item,
                      expires_at=copy.expires_at)


@translate_store_errors
def inbox_page(subscriber_id: str, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    results = InboxModel.query(subscriber_id, scan_index_forward=False, limit=limit, page_size=limit,
                               last_evaluated_key=start, consistent_read=True)
    items = [json.loads(m.item) for m in results]
    return items, (results.last_evaluated_key if len(items) == limit else None)


def _inbox_keys(subscriber_id: str) -> Iterator[InboxModel]:
    yield from InboxModel.query(subscriber_id, attributes_to_get=["subscriber_id", "sort_key"], consistent_read=True)


@translate_store_errors
def erase(record: SubscriberRecord) -> None:
    """Index entries, inbox, then the record itself (last, so an interrupted erasure can be retried
    with the same token)."""
    delete_index(record.id, record.cells)
    with InboxModel.batch_write() as batch:
        for model in _inbox_keys(record.id):
            batch.delete(model)
    SubscriberModel(id=record.id).delete()
