"""Exact shape intersection (polygon/multipolygon/circle) and H3 coverage for circles.

Shapes are compared in one local equirectangular projection (metres) centred on the first
shape: an affine map of lon/lat, so polygon-polygon results equal those in lon/lat, and circles
keep their radius in metres (scale error < 0.5 % within 50 km of the centre, i.e. city scale).
No third-party geometry library: the fan-out worker stays light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.shapes import EARTH_RADIUS_M, Circle, MultiPolygon, Polygon, Shape, polygons_of

Point = tuple[float, float]
Ring = list[Point]

CIRCLE_SEGMENTS = 48


@dataclass(frozen=True)
class Projection:
    lat0: float

    @property
    def kx(self) -> float:
        return math.cos(math.radians(self.lat0)) * math.pi / 180 * EARTH_RADIUS_M

    @property
    def ky(self) -> float:
        return math.pi / 180 * EARTH_RADIUS_M

    def xy(self, lon: float, lat: float) -> Point:
        return lon * self.kx, lat * self.ky


def reference_lat(shape: Shape) -> float:
    if isinstance(shape, Circle):
        return shape.center.lat
    outer = polygons_of(shape)[0][0]
    return sum(p[1] for p in outer) / len(outer)


@dataclass(frozen=True)
class Projected:
    """A shape in the projection: polygons (outer ring + holes) or a circle; with a bounding box."""

    polygons: tuple[tuple[Ring, ...], ...] = ()
    circle: tuple[float, float, float] | None = None  # x, y, r
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def project(shape: Shape, proj: Projection) -> Projected:
    if isinstance(shape, Circle):
        x, y = proj.xy(shape.center.lon, shape.center.lat)
        r = shape.radius_m
        return Projected(circle=(x, y, r), bbox=(x - r, y - r, x + r, y + r))
    polygons = tuple(
        tuple([proj.xy(p[0], p[1]) for p in ring] for ring in polygon) for polygon in polygons_of(shape)
    )
    xs = [p[0] for polygon in polygons for p in polygon[0]]
    ys = [p[1] for polygon in polygons for p in polygon[0]]
    return Projected(polygons=polygons, bbox=(min(xs), min(ys), max(xs), max(ys)))


def _point_in_ring(x: float, y: float, ring: Ring) -> bool:
    inside = False
    for i in range(len(ring) - 1):
        x1, y1 = ring[i]
        x2, y2 = ring[i + 1]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _point_in_polygons(x: float, y: float, polygons: Sequence[Sequence[Ring]]) -> bool:
    for outer, *holes in polygons:
        if _point_in_ring(x, y, outer) and not any(_point_in_ring(x, y, h) for h in holes):
            return True
    return False


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, c: Point) -> bool:
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def _touches(d: float, a: Point, b: Point, c: Point) -> bool:
    """c lies on segment ab (given d = orientation of a, b, c)."""
    return d == 0 and _on_segment(a, b, c)


def _segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if 0 not in (d1, d2, d3, d4):  # the proper crossing case: strictly on opposite sides, both ways
        return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0))
    return any((_touches(d1, q1, q2, p1), _touches(d2, q1, q2, p2), _touches(d3, p1, p2, q1),
                _touches(d4, p1, p2, q2)))


def _segment_distance(px: float, py: float, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - a[0]) * dx + (py - a[1]) * dy) / length2))
    return math.hypot(px - (a[0] + t * dx), py - (a[1] + t * dy))


def _edges(polygons: Sequence[Sequence[Ring]]) -> list[tuple[Point, Point]]:
    return [(ring[i], ring[i + 1]) for polygon in polygons for ring in polygon for i in range(len(ring) - 1)]


def _circle_polygons(circle: tuple[float, float, float], polygons: Sequence[Sequence[Ring]]) -> bool:
    x, y, r = circle
    if _point_in_polygons(x, y, polygons):
        return True
    return any(_segment_distance(x, y, a, b) <= r for a, b in _edges(polygons))


def _boxes_apart(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """The two segments' bounding boxes do not meet (a cheap rejection before the exact test)."""
    return (max(q1[0], q2[0]) < min(p1[0], p2[0]) or min(q1[0], q2[0]) > max(p1[0], p2[0])
            or max(q1[1], q2[1]) < min(p1[1], p2[1]) or min(q1[1], q2[1]) > max(p1[1], p2[1]))


def _edges_cross(a: Sequence[Sequence[Ring]], b: Sequence[Sequence[Ring]]) -> bool:
    b_edges = _edges(b)
    return any(not _boxes_apart(p1, p2, q1, q2) and _segments_intersect(p1, p2, q1, q2)
               for p1, p2 in _edges(a) for q1, q2 in b_edges)


def _polygons_polygons(a: Sequence[Sequence[Ring]], b: Sequence[Sequence[Ring]]) -> bool:
    if any(_point_in_polygons(*polygon[0][0], b) for polygon in a):
        return True
    if any(_point_in_polygons(*polygon[0][0], a) for polygon in b):
        return True
    return _edges_cross(a, b)


def projected_intersect(a: Projected, b: Projected) -> bool:
    if a.bbox[2] < b.bbox[0] or b.bbox[2] < a.bbox[0] or a.bbox[3] < b.bbox[1] or b.bbox[3] < a.bbox[1]:
        return False
    if a.circle and b.circle:
        return math.hypot(a.circle[0] - b.circle[0], a.circle[1] - b.circle[1]) <= a.circle[2] + b.circle[2]
    if a.circle:
        return _circle_polygons(a.circle, b.polygons)
    if b.circle:
        return _circle_polygons(b.circle, a.polygons)
    return _polygons_polygons(a.polygons, b.polygons)


class AreaMatcher:
    """The alert's area, projected once; `intersects(shape)` for each candidate subscriber shape."""

    def __init__(self, area: Shape) -> None:
        self.projection = Projection(reference_lat(area))
        self.area = project(area, self.projection)

    def intersects(self, shape: Shape) -> bool:
        return projected_intersect(self.area, project(shape, self.projection))

    def any_intersects(self, shapes: Sequence[Shape]) -> bool:
        return any(self.intersects(s) for s in shapes)

    def contains_point(self, lat: float, lon: float) -> bool:
        x, y = self.projection.xy(lon, lat)
        if self.area.circle:
            cx, cy, r = self.area.circle
            return math.hypot(x - cx, y - cy) <= r
        return _point_in_polygons(x, y, self.area.polygons)


def shapes_intersect(a: Shape, b: Shape) -> bool:
    return AreaMatcher(a).intersects(b)


def circle_polygon(circle: Circle, segments: int = CIRCLE_SEGMENTS) -> Polygon:
    """A polygon that contains the circle (vertices on the circumscribed radius), for H3 coverage."""
    r = circle.radius_m / math.cos(math.pi / segments)
    lat0 = circle.center.lat
    dlat = r / (math.pi / 180 * EARTH_RADIUS_M)
    dlon = r / (math.cos(math.radians(lat0)) * math.pi / 180 * EARTH_RADIUS_M)
    ring = [
        [circle.center.lon + dlon * math.cos(2 * math.pi * k / segments),
         lat0 + dlat * math.sin(2 * math.pi * k / segments)]
        for k in range(segments)
    ]
    ring.append(ring[0])
    return Polygon(coordinates=[ring])


def covering_cells(shape: Shape, resolution: int) -> set[str]:
    """Every H3 cell at `resolution` that may overlap the shape (a superset: exactness comes later)."""
    from chalicelib.domain.shapes import cells_covering

    polygon: Polygon | MultiPolygon = circle_polygon(shape) if isinstance(shape, Circle) else shape
    return cells_covering(polygon, resolution)
