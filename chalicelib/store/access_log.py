"""The access log: append-only. This module has no update or delete function, by design."""

from __future__ import annotations

from chalicelib.domain.access import AccessRecord
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import AccessLogModel


def to_model(record: AccessRecord) -> AccessLogModel:
    return AccessLogModel(
        day=record.day,
        at_id=record.at_id,
        at=record.at_text,
        actor=record.actor,
        role=record.role,
        action=record.action,
        record_id=record.record_id,
        filters=record.query_json(),
        row_count=record.row_count,
        purpose=record.purpose,
        request_id=record.request_id,
    )


def append_condition():
    """Puts never overwrite an existing entry."""
    return AccessLogModel.at_id.does_not_exist()


@translate_store_errors
def append(record: AccessRecord) -> None:
    to_model(record).save(condition=append_condition())
