"""GeoJSON shapes (RFC 7946 Polygon/MultiPolygon) and the contract's Circle: schemas, checks,
planar-on-sphere measures and H3 coverage. h3 is imported lazily (cold start).
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated

from msgspec import Meta, Struct

from chalicelib.errors import FieldError, bad_request

EARTH_RADIUS_M = 6_371_008.8
MAX_VERTICES = 1_000
MAX_AREA_KM2 = 2_500.0  # a large rural police area; bigger shapes are almost certainly a mistake
MIN_CIRCLE_RADIUS_M = 50
MAX_CIRCLE_RADIUS_M = 20_000

Position = Annotated[list[float], Meta(min_length=2, max_length=3)]
Ring = Annotated[list[Position], Meta(min_length=4, max_length=MAX_VERTICES + 1)]


class LatLon(Struct, forbid_unknown_fields=True):
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]


class Polygon(Struct, tag="Polygon", tag_field="type", forbid_unknown_fields=True):
    coordinates: Annotated[list[Ring], Meta(min_length=1, max_length=50)]


class MultiPolygon(Struct, tag="MultiPolygon", tag_field="type", forbid_unknown_fields=True):
    coordinates: Annotated[list[Annotated[list[Ring], Meta(min_length=1, max_length=50)]], Meta(min_length=1, max_length=50)]


class Circle(Struct, tag="Circle", tag_field="type", forbid_unknown_fields=True):
    center: LatLon
    radius_m: Annotated[float, Meta(ge=MIN_CIRCLE_RADIUS_M, le=MAX_CIRCLE_RADIUS_M)]


AreaGeometry = Polygon | MultiPolygon
Shape = Polygon | MultiPolygon | Circle


def polygons_of(shape: Polygon | MultiPolygon) -> list[list[list[list[float]]]]:
    return [shape.coordinates] if isinstance(shape, Polygon) else shape.coordinates


def _ring_area_m2(ring: list[list[float]]) -> float:
    """Spherical excess approximation (as used by GeoJSON tooling); sign ignored."""
    total = 0.0
    for (lon1, lat1, *_), (lon2, lat2, *_) in itertools.pairwise(ring):
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return abs(total * EARTH_RADIUS_M**2 / 2)


def area_km2(shape: Shape) -> float:
    if isinstance(shape, Circle):
        return math.pi * (shape.radius_m / 1000) ** 2
    total = 0.0
    for polygon in polygons_of(shape):
        outer, *holes = polygon
        total += _ring_area_m2(outer) - sum(_ring_area_m2(h) for h in holes)
    return total / 1e6


def validate_shape(shape: Shape, field: str = "geometry") -> None:
    """Beyond the schema: positions in range, rings closed, vertex and size limits."""
    if isinstance(shape, Circle):
        return
    errors: list[FieldError] = []
    vertices = 0
    for p_index, polygon in enumerate(polygons_of(shape)):
        for r_index, ring in enumerate(polygon):
            path = f"{field}.coordinates[{r_index}]" if isinstance(shape, Polygon) else f"{field}.coordinates[{p_index}][{r_index}]"
            vertices += len(ring) - 1
            for position in ring:
                lon, lat = position[0], position[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    errors.append(FieldError(path, f"position {position} is out of range (lon, lat)"))
                    break
            if ring[0][:2] != ring[-1][:2]:
                errors.append(FieldError(path, "ring is not closed (first and last positions differ)"))
            if len({(p[0], p[1]) for p in ring}) < 3:
                errors.append(FieldError(path, "ring needs at least 3 distinct positions"))
    if vertices > MAX_VERTICES:
        errors.append(FieldError(field, f"has {vertices} vertices; the limit is {MAX_VERTICES}"))
    if not errors:
        size = area_km2(shape)
        if size > MAX_AREA_KM2:
            errors.append(FieldError(field, f"covers {size:.0f} km²; the limit is {MAX_AREA_KM2:.0f} km²"))
        if size <= 0:
            errors.append(FieldError(field, "has no area"))
    if errors:
        raise bad_request("The shape is invalid or too large.", errors)


def to_geojson(shape: Polygon | MultiPolygon) -> dict:
    return {"type": type(shape).__name__, "coordinates": shape.coordinates}


def cells_covering(shape: Polygon | MultiPolygon, resolution: int) -> set[str]:
    """Every H3 cell at `resolution` that overlaps the shape (not just cells whose centre is in it)."""
    import h3

    return set(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(to_geojson(shape)), resolution, contain="overlap"))


def cells_with_centre_inside(shape: Polygon | MultiPolygon, resolution: int) -> set[str]:
    import h3

    return set(h3.geo_to_cells(to_geojson(shape), resolution))
