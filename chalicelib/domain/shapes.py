"""GeoJSON shapes (RFC 7946 Polygon/MultiPolygon) and the contract's Circle: schemas, checks,
planar-on-sphere measures and H3 coverage. h3 is imported lazily (cold start).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Annotated, Any

from msgspec import Meta, Struct

from chalicelib.domain import rings
from chalicelib.domain.errors import FieldError, RuleViolation

EARTH_RADIUS_M = 6_371_008.8
MAX_VERTICES = 1_000
MAX_AREA_KM2 = 2_500.0  # a large rural police area; bigger shapes are almost certainly a mistake
MIN_CIRCLE_RADIUS_M = 50
MAX_CIRCLE_RADIUS_M = 20_000
# Shapes stay within ±85° latitude (where lon/lat-straight and great-circle edges still agree
# closely) and within one side of the antimeridian (RFC 7946 3.1.9: cut them there).
MAX_ABS_LAT = 85.0
# The bounding box bounds H3's own work (it sizes its search by the box): 10x the area limit still
# fits any plausible elongated beat, and refuses members spread far apart.
MAX_BBOX_KM2 = 25_000.0
# The H3 resolution shapes are covered at (alert cells, the subscription index) and the most cells
# a covering may need, by estimate (Measure.cells), checked before covering: resolution 7 for alerts
# and subscriptions (a 2,500 km² square needs ~600), resolution 9 for the named-area cell index.
COVER_RESOLUTION = 7
MAX_COVER_CELLS = {7: 2_000, 9: 40_000}
# H3's average cell area (km²) and edge length (km, also the cell's circumradius) per resolution.
H3_CELL_KM = {7: (5.161293359717191, 1.406475763), 9: (0.1053325134272067, 0.200786148)}

# The rules in words, for the OpenAPI descriptions of every operation that takes a shape.
SHAPE_RULES = (
    "Polygons (RFC 7946): rings closed, at least 3 distinct positions, at most 50 rings and 1,000 "
    "vertices in all; no ring crosses or touches itself or another ring; each hole lies inside its "
    "outer ring and outside the other holes; MultiPolygon members do not overlap. Positions within "
    f"latitude ±{MAX_ABS_LAT:.0f}°; no shape crosses the antimeridian. Size is what the shape covers "
    f"(outer rings minus their holes, summed over members); its bounding box at most {MAX_BBOX_KM2:,.0f} km²; "
    f"the H3 resolution-{COVER_RESOLUTION} cells its covering needs, estimated before covering, at most "
    f"{MAX_COVER_CELLS[COVER_RESOLUTION]:,}. A broken rule is a 400 naming the ring (e.g. `area.coordinates[1]`)."
)

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


def _ring_length_km(ring: list[list[float]]) -> float:
    """Great-circle length (haversine) of a ring's edges."""
    total = 0.0
    for (lon1, lat1, *_), (lon2, lat2, *_) in itertools.pairwise(ring):
        p1, p2 = math.radians(lat1), math.radians(lat2)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
        total += 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
    return total / 1000


def area_km2(shape: Shape) -> float:
    """What the shape covers. Only meaningful for a shape validate_shape accepted: there holes lie
    inside their ring and members do not overlap, so no part is subtracted or counted twice."""
    if isinstance(shape, Circle):
        return math.pi * (shape.radius_m / 1000) ** 2
    total = 0.0
    for polygon in polygons_of(shape):
        outer, *holes = polygon
        total += _ring_area_m2(outer) - sum(_ring_area_m2(h) for h in holes)
    return total / 1e6


@dataclass(frozen=True)
class Measure:
    """Size figures of a shape, enough to bound the cost of covering it before doing so."""

    area_km2: float
    perimeter_km: float  # every ring, holes included (cells along a hole's edge are covered too)
    rings: int
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

    @property
    def lon_span(self) -> float:
        return self.bbox[2] - self.bbox[0]

    def bbox_km(self) -> tuple[float, float]:
        """The bounding box's width (on its parallel nearest the equator) and height."""
        nearest = 0.0 if self.bbox[1] <= 0 <= self.bbox[3] else min(abs(self.bbox[1]), abs(self.bbox[3]))
        km_per_degree = math.pi / 180 * EARTH_RADIUS_M / 1000
        return self.lon_span * km_per_degree * math.cos(math.radians(nearest)), (self.bbox[3] - self.bbox[1]) * km_per_degree

    @property
    def bbox_km2(self) -> float:
        width, height = self.bbox_km()
        return width * height

    def cells(self, resolution: int) -> int:
        """Estimated H3 cells at `resolution` that overlap the shape: those whose centre lies within
        one cell radius R of it, i.e. in the area plus a band 2R wide along every edge and a disc
        per ring, or in the bounding box grown by R, whichever is smaller."""
        cell_km2, radius_km = H3_CELL_KM[resolution]
        band = 2 * radius_km * self.perimeter_km + self.rings * math.pi * radius_km**2
        width, height = self.bbox_km()
        box = (width + 2 * radius_km) * (height + 2 * radius_km)
        return math.ceil(min(self.area_km2 + band, box) / cell_km2)


def _circle_bbox(circle: Circle) -> tuple[float, float, float, float]:
    km_per_degree = math.pi / 180 * EARTH_RADIUS_M / 1000
    r_km = circle.radius_m / 1000
    dlat = r_km / km_per_degree
    dlon = r_km / (km_per_degree * max(math.cos(math.radians(abs(circle.center.lat) + dlat)), 1e-9))
    lat, lon = circle.center.lat, circle.center.lon
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def measure(shape: Shape) -> Measure:
    if isinstance(shape, Circle):
        r_km = shape.radius_m / 1000
        return Measure(math.pi * r_km**2, 2 * math.pi * r_km, 1, _circle_bbox(shape))
    rings = [ring for polygon in polygons_of(shape) for ring in polygon]
    lons = [p[0] for ring in rings for p in ring]
    lats = [p[1] for ring in rings for p in ring]
    return Measure(
        area_km2(shape), sum(_ring_length_km(r) for r in rings), len(rings), (min(lons), min(lats), max(lons), max(lats))
    )


def _ring_paths(shape: Polygon | MultiPolygon, field: str) -> list[str]:
    if isinstance(shape, Polygon):
        return [f"{field}.coordinates[{r}]" for r in range(len(shape.coordinates))]
    return [f"{field}.coordinates[{m}][{r}]" for m, polygon in enumerate(shape.coordinates) for r in range(len(polygon))]


def _position_error(ring: list[list[float]], path: str) -> FieldError | None:
    for index, position in enumerate(ring):
        lon, lat = position[0], position[1]
        if not all(math.isfinite(v) for v in position):
            return FieldError(f"{path}[{index}]", "coordinates must be finite numbers")
        if not (-180 <= lon <= 180 and -MAX_ABS_LAT <= lat <= MAX_ABS_LAT):
            return FieldError(f"{path}[{index}]", f"position {position} is out of range (lon -180..180, lat -{MAX_ABS_LAT:.0f}..{MAX_ABS_LAT:.0f})")
    return None


def _ring_errors(ring: list[list[float]], path: str) -> list[FieldError]:
    error = _position_error(ring, path)
    if error:
        return [error]
    if ring[0][:2] != ring[-1][:2]:
        return [FieldError(path, "ring is not closed (first and last positions differ)")]
    if len(rings.clean(ring)) < 4:
        return [FieldError(path, "ring needs at least 3 distinct positions")]
    return []


def _structure_errors(shape: Polygon | MultiPolygon, field: str) -> list[FieldError]:
    """Per ring: positions, closure, size; then, on clean rings, how the rings lie to each other."""
    paths = _ring_paths(shape, field)
    flat = [ring for polygon in polygons_of(shape) for ring in polygon]
    errors = [e for ring, path in zip(flat, paths, strict=True) for e in _ring_errors(ring, path)]
    vertices = sum(len(ring) - 1 for ring in flat)
    if vertices > MAX_VERTICES:
        errors.append(FieldError(field, f"has {vertices} vertices; the limit is {MAX_VERTICES}"))
    return errors or _topology_errors(shape, field, paths)


def _crossing_errors(flat: list[Any], paths: list[str]) -> list[FieldError]:
    """Spikes, and rings that cross or touch themselves or each other."""
    for index, ring in enumerate(flat):
        if rings.spike(ring):
            return [FieldError(paths[index], "ring doubles back on itself")]
    contact = rings.first_contact(flat)
    if contact is not None:
        what = "ring crosses or touches itself" if contact.first == contact.second else f"ring crosses or touches {paths[contact.first]}"
        return [FieldError(paths[contact.second], what)]
    return []


def _topology_errors(shape: Polygon | MultiPolygon, field: str, paths: list[str]) -> list[FieldError]:
    polygons = [[rings.clean(ring) for ring in polygon] for polygon in polygons_of(shape)]
    errors = _crossing_errors([ring for polygon in polygons for ring in polygon], paths)
    if errors:
        return errors
    starts = list(itertools.accumulate([len(p) for p in polygons], initial=0))
    for m, polygon in enumerate(polygons):
        misplaced = rings.misplaced_hole(polygon)
        if misplaced:
            return [FieldError(paths[starts[m] + misplaced[0]], misplaced[1])]
    overlap = rings.overlapping_member(polygons)
    if overlap:
        return [FieldError(f"{field}.coordinates[{overlap[0]}]", f"overlaps member {overlap[1]}")]
    return []


def _size_errors(size: Measure, field: str, max_area_km2: float) -> list[FieldError]:
    if not -180 <= size.bbox[0] <= size.bbox[2] <= 180 or not -MAX_ABS_LAT <= size.bbox[1] <= size.bbox[3] <= MAX_ABS_LAT:
        return [FieldError(field, f"crosses the antimeridian or reaches beyond latitude ±{MAX_ABS_LAT:.0f}°")]
    if size.lon_span >= 180:
        return [FieldError(field, "spans 180° of longitude or more; cut shapes at the antimeridian (RFC 7946, 3.1.9)")]
    if size.area_km2 > max_area_km2:
        return [FieldError(field, f"covers {size.area_km2:.0f} km²; the limit is {max_area_km2:.0f} km²")]
    if size.area_km2 <= 0:
        return [FieldError(field, "has no area")]
    if size.bbox_km2 > MAX_BBOX_KM2:
        return [FieldError(field, f"its bounding box spans {size.bbox_km2:.0f} km²; the limit is {MAX_BBOX_KM2:.0f} km²")]
    return []


def cover_cost_errors(size: Measure, field: str, resolution: int = COVER_RESOLUTION) -> list[FieldError]:
    estimate, limit = size.cells(resolution), MAX_COVER_CELLS[resolution]
    if estimate > limit:
        return [FieldError(field, f"would need about {estimate} H3 cells at resolution {resolution}; the limit is {limit}")]
    return []


def check_cover_cost(shape: Shape, field: str, resolution: int = COVER_RESOLUTION) -> None:
    """Refuse (400) a shape whose covering at `resolution` would exceed MAX_COVER_CELLS, before covering it."""
    errors = cover_cost_errors(measure(shape), field, resolution)
    if errors:
        raise RuleViolation("The shape is too large to cover.", errors)


def validate_shape(shape: Shape, field: str = "geometry", *, max_area_km2: float = MAX_AREA_KM2) -> Measure:
    """Beyond the schema: structure (RFC 7946 rings; holes inside, nothing crossing or overlapping),
    then size on what the shape really covers, its bounding box and the estimated covering cost.
    Circles: the schema bounds the radius; here, poles and the antimeridian."""
    errors = [] if isinstance(shape, Circle) else _structure_errors(shape, field)
    size = None
    if not errors:
        size = measure(shape)
        errors = _size_errors(size, field, max_area_km2) or cover_cost_errors(size, field)
    if errors or size is None:
        raise RuleViolation("The shape is invalid or too large.", errors)
    return size


def to_geojson(shape: Polygon | MultiPolygon) -> dict[str, Any]:
    return {"type": type(shape).__name__, "coordinates": shape.coordinates}


def cells_covering(shape: Polygon | MultiPolygon, resolution: int) -> set[str]:
    """Every H3 cell at `resolution` that overlaps the shape (not just cells whose centre is in it)."""
    import h3

    return set(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(to_geojson(shape)), resolution, contain="overlap"))


def cells_with_centre_inside(shape: Polygon | MultiPolygon, resolution: int) -> set[str]:
    import h3

    return set(h3.geo_to_cells(to_geojson(shape), resolution))
