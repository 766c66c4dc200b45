"""Geo cells (H3). h3 is imported on first use: it costs ~80 ms, which reads must not pay."""

from __future__ import annotations

# Resolution 9 (~0.1 km², ~175 m edge): kept with a street contact, close to where it happened.
CONTACT_CELL_RESOLUTION = 9
# Resolution 7 (~5 km², ~1.2 km edge): what statistics and analysts see; coarse enough that a
# cell does not single out a household.
COARSE_CELL_RESOLUTION = 7


def contact_cell(lat: float, lon: float) -> str:
    import h3

    return str(h3.latlng_to_cell(lat, lon, CONTACT_CELL_RESOLUTION))


def coarse_cell(cell: str) -> str:
    import h3

    return str(h3.cell_to_parent(cell, COARSE_CELL_RESOLUTION))
