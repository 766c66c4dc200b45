"""Named areas, and a per-container cached cell -> area index for tagging contacts at write time.

The index is rebuilt from a Query of all areas at most every INDEX_TTL_SECONDS (and at once in
the container that wrote an area), so tagging a contact costs no extra round trip.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import msgspec
from pynamodb.exceptions import PutError

from chalicelib.domain.areas import AreaRecord, CellAreaIndex
from chalicelib.domain.shapes import AreaGeometry
from chalicelib.store.errors import error_code, translate_store_errors
from chalicelib.store.models import AreaModel

SCOPE = "force"
INDEX_TTL_SECONDS = 60.0


def _from_model(model: AreaModel) -> AreaRecord:
    return AreaRecord(
        id=model.id, name=model.name, team=model.team,
        geometry=msgspec.json.decode(model.geometry, type=AreaGeometry), updated_at=model.updated_at,
    )


@translate_store_errors
def put(record: AreaRecord) -> bool:
    """Create or replace; True when the area is new (one round trip when it is)."""
    model = AreaModel(
        scope=SCOPE, id=record.id, name=record.name, team=record.team,
        geometry=msgspec.json.encode(record.geometry).decode(), updated_at=record.updated_at,
    )
    try:
        model.save(condition=AreaModel.id.does_not_exist())
        created = True
    except PutError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        model.save()
        created = False
    _cache.invalidate()
    return created


@translate_store_errors
def get(area_id: str) -> AreaRecord | None:
    try:
        return _from_model(AreaModel.get(SCOPE, area_id))
    except AreaModel.DoesNotExist:
        return None


@translate_store_errors
def page(limit: int, position: dict[str, Any] | None) -> tuple[list[AreaRecord], dict[str, Any] | None]:
    results = AreaModel.query(SCOPE, limit=limit, page_size=limit, last_evaluated_key=position)
    records = [_from_model(m) for m in results]
    return records, results.last_evaluated_key if len(records) == limit else None


@translate_store_errors
def all_areas() -> list[AreaRecord]:
    return [_from_model(m) for m in AreaModel.query(SCOPE)]


class _IndexCache:
    def __init__(self) -> None:
        self._index: CellAreaIndex | None = None
        self._built_at = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._index = None

    def get(self) -> CellAreaIndex:
        with self._lock:
            if self._index is None or time.monotonic() - self._built_at > INDEX_TTL_SECONDS:
                self._index = CellAreaIndex(all_areas())
                self._built_at = time.monotonic()
            return self._index


_cache = _IndexCache()


def area_for_cell(cell: str) -> str | None:
    """The named area a res-9 contact cell belongs to (cached; see module docstring)."""
    return _cache.get().area_for_cell(cell)


def invalidate_index() -> None:
    _cache.invalidate()
