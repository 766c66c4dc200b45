"""Named areas (neighbourhoods / beats): schemas and the cell -> area index built from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from msgspec import Meta, Struct

from chalicelib.domain.geo import CONTACT_CELL_RESOLUTION
from chalicelib.domain.names import DisplayName
from chalicelib.domain.shapes import AreaGeometry, MultiPolygon, Polygon, cells_with_centre_inside

TeamId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]


class AreaIn(Struct, forbid_unknown_fields=True):
    name: DisplayName
    team: TeamId
    geometry: AreaGeometry


class AreaOut(Struct):
    id: str
    name: str
    team: str
    geometry: Polygon | MultiPolygon
    updated_at: str


class AreaList(Struct):
    items: list[AreaOut]
    next_cursor: str | None = None


class AreaListQuery(Struct, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=100)] = 25
    cursor: Annotated[str, Meta(max_length=2048)] | None = None


@dataclass(frozen=True)
class AreaRecord:
    id: str
    name: str
    team: str
    geometry: Polygon | MultiPolygon
    updated_at: str

    def to_out(self) -> AreaOut:
        return AreaOut(id=self.id, name=self.name, team=self.team, geometry=self.geometry, updated_at=self.updated_at)


class CellAreaIndex:
    """Which named area a contact cell (H3 res 9) falls in.

    Membership is by cell centre (~175 m cells): a contact within half a cell of a boundary may
    be tagged with the neighbouring area; that is the documented precision. Where areas overlap,
    the lowest area id wins so tagging is deterministic.
    """

    def __init__(self, areas: Iterable[AreaRecord]) -> None:
        self._cell_to_area: dict[str, str] = {}
        for area in sorted(areas, key=lambda a: a.id, reverse=True):
            for cell in cells_with_centre_inside(area.geometry, CONTACT_CELL_RESOLUTION):
                self._cell_to_area[cell] = area.id

    def area_for_cell(self, cell: str) -> str | None:
        return self._cell_to_area.get(cell)

    def __len__(self) -> int:
        return len(self._cell_to_area)
