"""The access log: append-only. This module has no update or delete function, by design
(tests/test_history.py checks that), only `append` and newest-first reads."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.domain.access import AccessEntryOut, AccessRecord
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import AccessLogModel
from chalicelib.store.paging import walk_partitions

# How long an entry is kept (TTL): BEATLINE_ACCESS_LOG_RETENTION_DAYS, set by `bind` (the bootstrap).
_binding: dict[str, timedelta] = {"retention": timedelta(days=2190)}


def bind(retention: timedelta) -> None:
    _binding["retention"] = retention


def to_model(record: AccessRecord, retention: timedelta | None = None) -> AccessLogModel:
    """The item; it expires (TTL) `retention` (default: the bound setting) after the access."""
    kept = retention if retention is not None else _binding["retention"]
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
        expires_at=record.at + kept,
    )


def append_condition() -> Condition:
    """Puts never overwrite an existing entry."""
    return AccessLogModel.at_id.does_not_exist()


@translate_store_errors
def append(record: AccessRecord) -> None:
    to_model(record).save(condition=append_condition())


def _entry(model: AccessLogModel) -> AccessEntryOut:
    return AccessEntryOut(
        at=model.at, actor=model.actor, role=model.role, action=model.action,
        request_id=model.request_id, record_id=model.record_id,
        query=json.loads(model.filters) if model.filters else None,
        row_count=int(model.row_count) if model.row_count is not None else None,
        purpose=model.purpose,
    )


@translate_store_errors
def entries_by_actor(
    actor: str, *, at_from: str, at_to: str, limit: int, position: dict[str, Any] | None
) -> tuple[list[AccessEntryOut], dict[str, Any] | None]:
    """One actor's entries in [at_from, at_to], newest first (GSI by_actor)."""
    results = AccessLogModel.by_actor.query(
        actor,
        range_key_condition=AccessLogModel.at_id.between(at_from, at_to + "#~"),
        scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=position,
    )
    entries = [_entry(m) for m in results]
    return entries, results.last_evaluated_key if len(entries) >= limit else None


@translate_store_errors
def entries_by_day(
    days: list[str], *, at_from: str, at_to: str, limit: int, position: dict[str, Any] | None,
    max_days: int,
) -> tuple[list[AccessEntryOut], dict[str, Any] | None]:
    """Entries in [at_from, at_to], newest first, walking day partitions (`days` newest first).

    Walks at most `max_days` partitions per call, so an empty stretch costs a bounded number of
    reads; the page may then be short with a position to continue from.
    """
    condition = AccessLogModel.at_id.between(at_from, at_to + "#~")

    def query_day(day: str, wanted: int, start_key: dict[str, Any] | None) -> Any:
        return AccessLogModel.query(day, range_key_condition=condition, scan_index_forward=False,
                                    limit=wanted, page_size=wanted, last_evaluated_key=start_key)

    return walk_partitions(days, position, limit, query_day, _entry, max_partitions=max_days, key="d")
