"""One footprint and its neighbourhood: the footprints touching it and the units it overlaps.

A query on layers and comparisons (no drawing): the map uses it to draw only what lies around
one footprint, and the atlas to make one page per footprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import shapely

from ..geo.layer import Layer

if TYPE_CHECKING:
    from .comparison import Comparison


@dataclass
class Focus:
    """A footprint (``code``, ``name``), its bounds in EPSG:27700 and the codes to draw around it per layer label."""

    code: str
    name: str
    bounds: tuple[float, float, float, float]
    keep: dict[str, set[str]]


def find_footprint(footprints: Layer, query: str) -> str:
    """The code of the footprint named by ``query``: exact code, exact name, or one name containing it."""
    return footprints.find(query, "footprints")


def neighbourhood(footprints: Layer, comparisons: Sequence[Comparison], code: str) -> dict[str, set[str]]:
    """Codes around one footprint, per layer label: it, the footprints touching it, the units it overlaps."""
    frame = footprints.frame
    geoms = frame.geometry.to_numpy()
    focus = frame.loc[frame["code"] == code].geometry.iloc[0]
    near = shapely.STRtree(geoms).query(shapely.buffer(focus, 1.0), predicate="intersects")
    keep = {footprints.label: set(frame["code"].iloc[near].astype(str)) | {code}}
    for comp in comparisons:
        real = comp.overlay.real()
        keep[comp.b.label] = set(real.loc[real["a_code"] == code, "b_code"].astype(str))
    return keep


def focus_on(footprints: Layer, comparisons: Sequence[Comparison], query: str) -> Focus:
    """The footprint ``query`` names (code or name) with its neighbourhood; unknown or ambiguous names raise InputError."""
    code = find_footprint(footprints, query)
    row = footprints.frame.loc[footprints.frame["code"] == code]
    return Focus(code=code, name=str(row["name"].iloc[0]), bounds=tuple(float(v) for v in row.total_bounds),
                 keep=neighbourhood(footprints, comparisons, code))
