"""Polygon structure in the lon/lat plane (RFC 7946: edges are straight lines in lon/lat).

What is checked, for a list of polygons (a Polygon is one; a MultiPolygon's members):
- no two edges of any rings touch or cross, except consecutive edges of one ring at their shared
  vertex (so rings are simple, holes cannot cross their outer ring or each other, members cannot
  cross), and no ring doubles back on itself (a spike);
- each hole lies inside its outer ring, no hole lies inside another hole, and no member lies
  inside another member's area.
Together these make outer-minus-holes, summed over members, exactly the area covered.

Edge contacts are found with a sweep over x (edges sorted by their left end; only edges whose
x-ranges overlap are compared): O(n log n + k) for k overlapping pairs, at most n²/2 for the
MAX_VERTICES the schema allows. Orientation signs are exact: a float determinant too close to 0
is recomputed with Fractions, so near-degenerate input cannot slip through on rounding.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import NamedTuple

Pt = tuple[float, float]
Ring = list[Pt]


class Contact(NamedTuple):
    """Two rings (indices into the flat ring list) whose edges touch or cross."""

    first: int
    second: int


class _Edge(NamedTuple):
    min_x: float
    max_x: float
    min_y: float
    max_y: float
    ring: int
    index: int  # type: ignore[assignment]  # a field, shadowing tuple.index on purpose
    a: Pt
    b: Pt


def clean(ring: list[list[float]]) -> Ring:
    """(lon, lat) points without consecutive repeats; the closing point is kept."""
    points: Ring = []
    for position in ring:
        point = (float(position[0]), float(position[1]))
        if not points or points[-1] != point:
            points.append(point)
    return points


def _orient(a: Pt, b: Pt, c: Pt) -> int:
    """Sign of the turn a -> b -> c (1 left, -1 right, 0 collinear), exact."""
    left = (b[0] - a[0]) * (c[1] - a[1])
    right = (b[1] - a[1]) * (c[0] - a[0])
    det = left - right
    bound = 1e-10 * (abs(left) + abs(right))
    if det > bound:
        return 1
    if det < -bound:
        return -1
    fa, fb, fc = (Fraction(a[0]), Fraction(a[1])), (Fraction(b[0]), Fraction(b[1])), (Fraction(c[0]), Fraction(c[1]))
    exact = (fb[0] - fa[0]) * (fc[1] - fa[1]) - (fb[1] - fa[1]) * (fc[0] - fa[0])
    return (exact > 0) - (exact < 0)


def _within(a: Pt, b: Pt, c: Pt) -> bool:
    """c (collinear with a-b) lies on the closed segment a-b."""
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def segments_touch(p1: Pt, p2: Pt, q1: Pt, q2: Pt) -> bool:
    """The closed segments share at least one point."""
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True
    return (
        (d1 == 0 and _within(q1, q2, p1)) or (d2 == 0 and _within(q1, q2, p2))
        or (d3 == 0 and _within(p1, p2, q1)) or (d4 == 0 and _within(p1, p2, q2))
    )


def spike(ring: Ring) -> bool:
    """Some vertex turns back along the edge it came in on (the two edges overlap)."""
    n = len(ring) - 1
    for i in range(n):
        a, b, c = ring[i - 1] if i else ring[n - 1], ring[i], ring[i + 1]
        if _orient(a, b, c) == 0 and (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0:
            return True
    return False


def _edges(rings: list[Ring]) -> list[_Edge]:
    edges = [
        _Edge(min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]), r, i, a, b)
        for r, ring in enumerate(rings) for i, (a, b) in enumerate(itertools.pairwise(ring))
    ]
    edges.sort()
    return edges


def _adjacent(e: _Edge, f: _Edge, sizes: list[int]) -> bool:
    if e.ring != f.ring:
        return False
    gap = abs(e.index - f.index)
    return gap == 1 or gap == sizes[e.ring] - 1


def _contact_with(e: _Edge, active: list[_Edge], sizes: list[int]) -> _Edge | None:
    for f in active:
        if f.max_y < e.min_y or f.min_y > e.max_y or _adjacent(e, f, sizes):
            continue
        if segments_touch(e.a, e.b, f.a, f.b):
            return f
    return None


def first_contact(rings: list[Ring]) -> Contact | None:
    """The first pair of rings with edges that touch or cross (a ring with itself: not simple)."""
    sizes = [len(ring) - 1 for ring in rings]
    active: list[_Edge] = []
    for e in _edges(rings):
        active = [f for f in active if f.max_x >= e.min_x]
        hit = _contact_with(e, active, sizes)
        if hit is not None:
            return Contact(min(hit.ring, e.ring), max(hit.ring, e.ring))
        active.append(e)
    return None


def point_in_ring(point: Pt, ring: Ring) -> bool:
    """Even-odd ray cast; only used for points known not to lie on the ring."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def in_polygon(point: Pt, polygon: list[Ring]) -> bool:
    outer, *holes = polygon
    return point_in_ring(point, outer) and not any(point_in_ring(point, h) for h in holes)


def misplaced_hole(polygon: list[Ring]) -> tuple[int, str] | None:
    """(ring index, reason) of the first hole outside its outer ring or inside/around another hole.
    Valid only once first_contact found nothing: then one vertex decides for the whole ring."""
    outer, *holes = polygon
    for h, hole in enumerate(holes, start=1):
        if not point_in_ring(hole[0], outer):
            return h, "hole is not inside its outer ring"
        for k, other in enumerate(holes[: h - 1], start=1):
            if point_in_ring(hole[0], other) or point_in_ring(other[0], hole):
                return h, f"hole overlaps hole {k}"
    return None


def overlapping_member(polygons: list[list[Ring]]) -> tuple[int, int] | None:
    """(member, earlier member) of the first pair whose areas overlap (after first_contact: none)."""
    for m, polygon in enumerate(polygons):
        for k, other in enumerate(polygons[:m]):
            if in_polygon(polygon[0][0], other) or in_polygon(other[0][0], polygon):
                return m, k
    return None
