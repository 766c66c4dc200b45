"""Shapes that must be refused (with the ring they are refused at) and shapes that must pass,
shared by the domain tests and the HTTP tests of the three entry points."""

from __future__ import annotations

from typing import Any


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def multi(*members: list[list[list[float]]]) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": list(members)}


def circle(lat: float, lon: float, radius_m: float) -> dict[str, Any]:
    return {"type": "Circle", "center": {"lat": lat, "lon": lon}, "radius_m": radius_m}


OUTER = box(-0.2, 51.45, 0.0, 51.55)  # ~14 x 11 km in London
INNER = box(-0.15, 51.48, -0.05, 51.52)
TINY_HOLES_INSIDE = [box(-0.19 + 0.004 * k, 51.46, -0.188 + 0.004 * k, 51.462) for k in range(45)]
TINY_HOLES_OUTSIDE = [box(0.01 + 0.004 * k, 51.46, 0.012 + 0.004 * k, 51.462) for k in range(45)]
# A 49,000 km² box minus a hole that leaves a thin frame of ~4,000 km²; minus a hole outside it.
HUGE = box(-3.0, 51.0, 1.0, 52.6)

# name -> (geometry, the error's field under the shape's own path, e.g. ".coordinates[1]" or "")
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "hole outside the ring": (polygon(OUTER, box(0.1, 51.45, 0.2, 51.55)), ".coordinates[1]"),
    "hole larger than the ring": (polygon(OUTER, box(-0.3, 51.40, 0.1, 51.60)), ".coordinates[1]"),
    "hole crossing the ring": (polygon(OUTER, box(-0.1, 51.48, 0.1, 51.52)), ".coordinates[1]"),
    "hole touching the ring": (polygon(OUTER, box(-0.2, 51.48, -0.1, 51.52)), ".coordinates[1]"),
    "hole equal to the ring": (polygon(OUTER, OUTER), ".coordinates[1]"),
    "hole equal to the ring, reversed": (polygon(OUTER, OUTER[::-1]), ".coordinates[1]"),
    "two overlapping holes": (polygon(OUTER, INNER, box(-0.1, 51.49, -0.02, 51.53)), ".coordinates[2]"),
    "a hole inside a hole": (polygon(OUTER, INNER, box(-0.12, 51.49, -0.08, 51.51)), ".coordinates[2]"),
    "many tiny holes outside": (polygon(OUTER, *TINY_HOLES_OUTSIDE), ".coordinates[1]"),
    "bowtie": (polygon([[-0.2, 51.45], [0.0, 51.55], [0.0, 51.45], [-0.2, 51.55], [-0.2, 51.45]]), ".coordinates[0]"),
    "figure eight through one vertex": (polygon([[-0.2, 51.45], [-0.1, 51.5], [0.0, 51.45], [0.0, 51.55], [-0.1, 51.5],
                                                 [-0.2, 51.55], [-0.2, 51.45]]), ".coordinates[0]"),
    "spike": (polygon([[-0.2, 51.45], [0.0, 51.45], [0.1, 51.45], [0.0, 51.45], [0.0, 51.55], [-0.2, 51.45]]),
              ".coordinates[0]"),
    "all on one line": (polygon([[-0.2, 51.45], [-0.1, 51.5], [0.0, 51.55], [-0.2, 51.45]]), ".coordinates[0]"),
    "members overlapping": (multi([OUTER], [box(-0.1, 51.5, 0.1, 51.6)]), ".coordinates[1][0]"),
    "member inside another": (multi([OUTER], [INNER]), ".coordinates[1]"),
    "member equal to another": (multi([OUTER], [OUTER]), ".coordinates[1][0]"),
    "member far away": (multi([OUTER], [box(151.0, -34.0, 151.02, -33.98)]), ""),
    "huge box with a hole outside": (polygon(HUGE, box(5.0, 51.0, 9.0, 52.59)), ".coordinates[1]"),
    "huge box with a hole leaving a thin frame": (polygon(HUGE, box(-2.98, 51.01, 0.98, 52.59)), ""),
    "huge box, a member with a larger hole": (multi([HUGE], [box(5.0, 51.0, 5.1, 51.1), box(4.0, 50.5, 9.0, 52.5)]),
                                              ".coordinates[1][1]"),
    "latitude beyond 85": (polygon(box(10.0, 85.0, 10.5, 85.1)), ".coordinates[0][2]"),
    "across the antimeridian": (polygon([[179.9, 60.0], [-179.9, 60.0], [-179.9, 60.01], [179.9, 60.01], [179.9, 60.0]]), ""),
    "circle at a pole": (circle(84.95, 20.0, 10_000), ""),
    "circle across the antimeridian": (circle(-16.0, 179.95, 10_000), ""),
}

ACCEPTED: dict[str, dict[str, Any]] = {
    "plain box": polygon(OUTER),
    "box with a hole": polygon(OUTER, INNER),
    "box with two holes": polygon(OUTER, box(-0.19, 51.46, -0.16, 51.49), box(-0.04, 51.51, -0.01, 51.54)),
    "many tiny holes inside": polygon(OUTER, *TINY_HOLES_INSIDE),
    "repeated positions": polygon([[-0.2, 51.45], [-0.2, 51.45], [0.0, 51.45], [0.0, 51.55], [-0.2, 51.55], [-0.2, 51.45]]),
    "island in a lake": multi([OUTER, INNER], [box(-0.12, 51.49, -0.08, 51.51)]),
    "two members apart": multi([OUTER], [box(0.1, 51.45, 0.2, 51.55)]),
    "circle": circle(51.5, -0.1, 5_000),
}
