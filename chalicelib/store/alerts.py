"""Alerts, their live delivery counters and the public cell index of published alerts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.clock import parse_rfc3339
from chalicelib.domain.alerts import AlertRecord, Content, PendingUpdate, StoredArea
from chalicelib.ports import StaleAlert
from chalicelib.store.errors import error_code, translate_store_errors
from chalicelib.store.models import AlertCellModel, AlertModel
from chalicelib.store.paging import walk_partitions

RETENTION = timedelta(days=730)  # alert items (not personal data) are kept two years after expiry
PUBLIC_SCOPE = "force"
PUBLIC_STATUSES = ("published", "cancelled")  # in the feed's sparse GSI until `expires`
FIGURES = ("targeted", "sent", "failed", "read", "responses")


def _to_model(record: AlertRecord) -> AlertModel:
    published_at = record.messages[0][1] if record.messages else None  # the first (Alert) message
    return AlertModel(
        id=record.id, team=record.team, author=record.author, status=record.status,
        revision=record.revision, msg_type=record.msg_type,
        content=msgspec.json.encode(record.content).decode(),
        area=msgspec.json.encode(record.area).decode(), cells=list(record.cells), expires=record.expires,
        created_at=record.created_at, updated_at=record.updated_at, approved_by=record.approved_by,
        messages=json.dumps([list(m) for m in record.messages]),
        expires_at=parse_rfc3339(record.expires) + RETENTION,
        # A withdrawn draft (cancelled, never sent) has no message and stays out of the feed.
        public_scope=PUBLIC_SCOPE if record.status in PUBLIC_STATUSES and record.messages else None,
        area_id=record.area.area_id,
        published_month=published_at[:7] if published_at else None,
        published_key=f"{published_at}#{record.id}" if published_at else None,
        pending=msgspec.json.encode(record.pending).decode() if record.pending else None,
        pending_id=record.pending.id if record.pending else None,
    )


def from_model(model: AlertModel) -> AlertRecord:
    return AlertRecord(
        id=model.id, team=model.team, author=model.author, status=model.status,
        revision=int(model.revision), msg_type=model.msg_type,
        content=msgspec.json.decode(model.content, type=Content),
        area=msgspec.json.decode(model.area, type=StoredArea), cells=tuple(model.cells or ()),
        expires=model.expires, created_at=model.created_at, updated_at=model.updated_at,
        approved_by=model.approved_by, messages=tuple(tuple(m) for m in json.loads(model.messages or "[]")),
        figures={name: int(getattr(model, name) or 0) for name in FIGURES},
        pending=msgspec.json.decode(model.pending, type=PendingUpdate) if model.pending else None,
    )


@translate_store_errors
def create(record: AlertRecord) -> None:
    _to_model(record).save(condition=AlertModel.id.does_not_exist())


@translate_store_errors
def get(alert_id: str) -> AlertRecord | None:
    try:
        return from_model(AlertModel.get(alert_id, consistent_read=True))
    except AlertModel.DoesNotExist:
        return None


def _optional(attribute: Any, value: Any) -> Any:
    return attribute.set(value) if value is not None else attribute.remove()


def _unchanged(old: AlertRecord) -> Any:
    """The condition of every state change: the alert is in the state `old` was read in, pending
    proposal included (an approval is bound to the exact proposal it read)."""
    pending = AlertModel.pending_id == old.pending.id if old.pending else AlertModel.pending_id.does_not_exist()
    return ((AlertModel.status == old.status) & (AlertModel.revision == old.revision)
            & (AlertModel.updated_at == old.updated_at) & pending)


@translate_store_errors
def replace(old: AlertRecord, new: AlertRecord) -> None:
    """Write the new state if the alert is still in the state `old` was read in. Counters are kept
    (they are only ever changed with ADD)."""
    model = _to_model(new)
    actions = [getattr(AlertModel, name).set(getattr(model, name)) for name in (
        "status", "revision", "msg_type", "content", "expires", "updated_at", "approved_by", "messages", "expires_at",
        "published_month", "published_key",
    ) if getattr(model, name) is not None]
    actions += [_optional(AlertModel.public_scope, model.public_scope), _optional(AlertModel.pending, model.pending),
                _optional(AlertModel.pending_id, model.pending_id)]
    try:
        AlertModel(id=new.id).update(actions=actions, condition=_unchanged(old))
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            raise StaleAlert() from exc
        raise


@translate_store_errors
def published_page(
    months: list[str], published_from: str, published_to: str, position: dict[str, Any] | None, limit: int
) -> tuple[list[AlertRecord], dict[str, Any] | None]:
    """Alerts first published in [from, to], newest first, walking month partitions (newest first)."""
    key_range = AlertModel.published_key.between(published_from, published_to + "#~")

    def query_month(month: str, wanted: int, start_key: dict[str, Any] | None) -> Any:
        return AlertModel.by_published.query(month, key_range, scan_index_forward=False, limit=wanted,
                                             page_size=wanted, last_evaluated_key=start_key)

    return walk_partitions(months, position, limit, query_month, from_model)


@translate_store_errors
def add_figures(alert_id: str, deltas: Mapping[str, int]) -> None:
    actions = [getattr(AlertModel, name).add(n) for name, n in deltas.items() if n and name in FIGURES]
    if actions:
        AlertModel(id=alert_id).update(actions=actions)


@translate_store_errors
def team_page(team: str, *, status: str | None, now_text: str, limit: int,
              start: dict[str, Any] | None) -> tuple[list[AlertRecord], dict[str, Any] | None]:
    """A team's alerts, newest first, with the `status` AlertRecord.status_at gives them (when given;
    a filter expression: PynamoDB reads on until `limit` items pass it)."""
    results = AlertModel.by_team.query(team, scan_index_forward=False, filter_condition=status_condition(status, now_text),
                                       limit=limit, page_size=limit, last_evaluated_key=start)
    records = [from_model(m) for m in results]
    return records, (results.last_evaluated_key if len(records) == limit else None)


def status_condition(status: str | None, now_text: str) -> Condition | None:
    """The `?status=` filter (AlertRecord.status_at as a filter expression): expired is computed
    from `expires`."""
    if status is None:
        return None
    condition: Condition
    if status == "expired":
        condition = AlertModel.status.is_in("draft", "published") & (AlertModel.expires <= now_text)
    elif status == "cancelled":
        condition = AlertModel.status == "cancelled"
    else:
        condition = (AlertModel.status == status) & (AlertModel.expires > now_text)
    return condition


@translate_store_errors
def many(alert_ids: Iterable[str]) -> list[AlertRecord]:
    ids = list(dict.fromkeys(alert_ids))
    return [from_model(m) for m in AlertModel.batch_get(ids)] if ids else []


@translate_store_errors
def put_cells(alert_id: str, cells: Iterable[str], expires: str) -> None:
    expires_at = parse_rfc3339(expires) + timedelta(days=1)
    with AlertCellModel.batch_write() as batch:
        for cell in cells:
            batch.save(AlertCellModel(cell=cell, alert_id=alert_id, expires=expires, expires_at=expires_at))


@translate_store_errors
def delete_cells(alert_id: str, cells: Iterable[str]) -> None:
    with AlertCellModel.batch_write() as batch:
        for cell in cells:
            batch.delete(AlertCellModel(cell=cell, alert_id=alert_id))


@translate_store_errors
def alerts_in_cell(cell: str, now: datetime) -> list[str]:
    from chalicelib.clock import to_rfc3339

    return [m.alert_id for m in AlertCellModel.query(cell, filter_condition=AlertCellModel.expires > to_rfc3339(now))]


@translate_store_errors
def public_live(now: datetime, area_id: str | None, limit: int = 100) -> list[AlertRecord]:
    """Published and cancelled alerts that have not (or would not have) expired: one Query of the
    sparse `by_public` GSI, so the cost grows with the feed, never with the table."""
    from chalicelib.clock import to_rfc3339

    results = AlertModel.by_public.query(
        PUBLIC_SCOPE, AlertModel.expires > to_rfc3339(now),
        filter_condition=(AlertModel.area_id == area_id) if area_id else None, limit=limit,
    )
    return [from_model(m) for m in results]
