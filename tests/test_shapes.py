"""Shape structure and size rules (chalicelib/domain/shapes.py, rings.py): every dodge of the area
limit is refused at the ring it hides in; valid holes still work; covering cost is estimated first."""

from __future__ import annotations

import itertools
import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import rings
from chalicelib.domain.shapes import (
    H3_CELL_KM,
    MAX_AREA_KM2,
    MAX_COVER_CELLS,
    Shape,
    area_km2,
    cells_covering,
    check_cover_cost,
    measure,
    polygons_of,
    validate_shape,
)
from chalicelib.errors import DomainError, as_problem
from tests.shape_cases import ACCEPTED, INNER, OUTER, REFUSED, box, polygon

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these


def shape(geometry: dict) -> Shape:
    return msgspec.convert(geometry, Shape)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_at_the_ring_it_hides_in(name: str) -> None:
    geometry, path = REFUSED[name]
    with pytest.raises(DomainError) as refused:
        validate_shape(shape(geometry), "area")
    assert as_problem(refused.value).status == 400
    assert refused.value.errors[0].field == "area" + path, refused.value.errors


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_shapes_measure_what_they_cover(name: str) -> None:
    accepted = shape(ACCEPTED[name])
    size = validate_shape(accepted, "area")
    assert 0 < size.area_km2 <= MAX_AREA_KM2
    assert size.area_km2 == pytest.approx(area_km2(accepted))


def test_the_old_dodges_really_did_shrink_the_area() -> None:
    """What the limit used to see: outer minus any hole, which a hole outside or larger makes small or negative."""
    for name in ("hole outside the ring", "huge box with a hole outside", "huge box, a member with a larger hole"):
        geometry = shape(REFUSED[name][0])
        raw = measure(geometry).area_km2
        outers = [member[0] for member in polygons_of(geometry)]
        outer_only = sum(measure(shape(polygon(ring))).area_km2 for ring in outers)
        assert raw < outer_only - 1


def test_a_hole_inside_covers_fewer_cells_than_without() -> None:
    big = box(-0.4, 51.35, 0.2, 51.65)
    hole = box(-0.3, 51.42, 0.1, 51.58)
    with_hole, without = shape(polygon(big, hole)), shape(polygon(big))
    validate_shape(with_hole)
    assert area_km2(with_hole) < area_km2(without)
    assert len(cells_covering(with_hole, 7)) < len(cells_covering(without, 7))


def test_many_rings_and_vertices_are_schema_errors() -> None:
    too_many_holes = polygon(OUTER, *[box(-0.19 + 0.003 * k, 51.46, -0.189 + 0.003 * k, 51.461) for k in range(50)])
    with pytest.raises(msgspec.ValidationError):
        shape(too_many_holes)
    ring = [[-0.2 + 0.2 * k / 1200, 51.45] for k in range(1200)] + [[-0.1, 51.55], [-0.2, 51.45]]
    with pytest.raises(msgspec.ValidationError):
        shape(polygon(ring))


def test_vertices_are_counted_over_all_rings() -> None:
    # 12 rings of 100 vertices: each ring is within the schema, together they exceed 1,000.
    holes = [[[-0.19 + 0.012 * k + 0.005 * math.cos(t / 99 * 2 * math.pi), 51.5 + 0.005 * math.sin(t / 99 * 2 * math.pi)]
              for t in range(100)] for k in range(12)]
    for hole in holes:
        hole[-1] = hole[0]
    with pytest.raises(DomainError) as refused:
        validate_shape(shape(polygon(OUTER, *holes)))
    assert "vertices" in refused.value.errors[0].message


def test_a_huge_circle_is_a_schema_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        shape({"type": "Circle", "center": {"lat": 51.5, "lon": 0}, "radius_m": 200_000})


def test_comb_with_the_most_vertices_is_checked_and_estimated() -> None:
    """The sweep's worst case (every edge spans the whole width) still answers, and the estimate is sound."""
    teeth, h = 249, 0.4 / (2 * 249)
    ring = [[-1.0, 51.0]]
    for k in range(teeth):
        y = 51.0 + 2 * k * h
        ring += [[-0.5, y], [-0.5, y + h], [-0.99, y + h], [-0.99, y + 2 * h]]
    ring += [[-1.0, 51.0 + 2 * teeth * h], [-1.0, 51.0]]
    comb = shape(polygon(ring))
    size = validate_shape(comb)
    actual = len(cells_covering(comb, 7))
    assert 0.8 * actual <= size.cells(7) <= 2 * actual + 10


def test_cover_cost_is_refused_before_covering() -> None:
    """check_cover_cost refuses a stored shape whose covering would be too large (an area saved
    before these checks) without computing it; a fine shape passes."""
    huge = shape(polygon(box(-3.0, 51.0, 1.0, 52.6)))
    with pytest.raises(DomainError) as refused:
        check_cover_cost(huge, "area.area_id", 7)
    assert refused.value.errors[0].field == "area.area_id"
    assert str(MAX_COVER_CELLS[7]) in refused.value.errors[0].message
    check_cover_cost(shape(polygon(OUTER, INNER)), "area.area_id", 9)


def test_h3_cell_constants_are_h3s() -> None:
    import h3

    for resolution, (area, edge) in H3_CELL_KM.items():
        assert area == pytest.approx(h3.average_hexagon_area(resolution, "km^2"))
        assert edge == pytest.approx(h3.average_hexagon_edge_length(resolution, "km"))


def test_exact_orientation_on_near_collinear_points() -> None:
    a, b = (0.1, 0.1), (0.3, 0.3)  # the line y = x exactly
    above = (0.2, math.nextafter(0.2, 1.0))  # one ulp above it
    assert rings.segments_touch(a, b, (0.2, 0.2), (0.2, 0.5))
    assert not rings.segments_touch(a, b, above, (0.2, 0.5))
    assert rings.segments_touch((0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0))
    assert not rings.segments_touch((0.0, 0.0), (1.0, 1.0), (0.0, 1e-9), (1.0, 1.0 + 1e-9))


coordinate = st.integers(min_value=0, max_value=40)


@settings(max_examples=150, deadline=None)
@given(ox=st.tuples(coordinate, coordinate, coordinate, coordinate), hx=st.tuples(coordinate, coordinate, coordinate, coordinate))
def test_a_box_hole_is_accepted_exactly_when_strictly_inside(ox: tuple[int, ...], hx: tuple[int, ...]) -> None:
    """Any outer box and hole box on a grid (outside, larger, crossing, touching, equal, inside):
    accepted iff the hole is strictly inside, and then the area is outer minus hole."""
    (ax, bx), (ay, by) = sorted(ox[:2]), sorted(ox[2:])
    (cx, dx), (cy, dy) = sorted(hx[:2]), sorted(hx[2:])
    if ax == bx or ay == by or cx == dx or cy == dy:
        return
    scale = 0.005  # 40 steps = 0.2°: within every size limit
    outer = box(ax * scale, 51 + ay * scale, bx * scale, 51 + by * scale)
    hole = box(cx * scale, 51 + cy * scale, dx * scale, 51 + dy * scale)
    inside = ax < cx and dx < bx and ay < cy and dy < by
    candidate = shape(polygon(outer, hole))
    try:
        size = validate_shape(candidate)
    except DomainError as refused:
        assert not inside, refused.errors
        assert refused.errors[0].field == "geometry.coordinates[1]"
        return
    assert inside
    expected = measure(shape(polygon(outer))).area_km2 - measure(shape(polygon(hole))).area_km2
    assert size.area_km2 == pytest.approx(expected)


def brute_force_contact(flat: list[list[tuple[float, float]]]) -> bool:
    """Every pair of edges, no sweep: the oracle for rings.first_contact."""
    edges = [(r, i, ring[i], ring[i + 1]) for r, ring in enumerate(flat) for i in range(len(ring) - 1)]
    for (r1, i1, a, b), (r2, i2, c, d) in itertools.combinations(edges, 2):
        n = len(flat[r1]) - 1
        if r1 == r2 and (abs(i1 - i2) == 1 or abs(i1 - i2) == n - 1):
            continue
        if rings.segments_touch(a, b, c, d):
            return True
    return False


grid_point = st.tuples(st.integers(0, 6), st.integers(0, 6))


@settings(max_examples=200, deadline=None)
@given(raw=st.lists(st.lists(grid_point, min_size=3, max_size=7), min_size=1, max_size=3))
def test_random_rings_never_crash_and_the_sweep_matches_brute_force(raw: list[list[tuple[int, int]]]) -> None:
    """Arbitrary small rings on a grid (many degenerate: repeats, collinear runs, crossings,
    touching holes): validation answers a 400 or a positive size, never anything else, and the
    sweep finds a contact exactly when comparing every pair of edges does."""
    geometry = polygon(*[[[0.01 * x, 51 + 0.01 * y] for x, y in [*ring, ring[0]]] for ring in raw])
    flat = [rings.clean(ring) for ring in geometry["coordinates"]]
    if all(len(ring) >= 4 for ring in flat):
        assert (rings.first_contact(flat) is not None) == brute_force_contact(flat)
    try:
        size = validate_shape(shape(geometry))
    except DomainError as refused:
        assert as_problem(refused).status == 400 and refused.errors
        return
    assert size.area_km2 > 0
