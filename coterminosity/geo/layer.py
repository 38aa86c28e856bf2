"""The two inputs everything else takes: a polygon :class:`Layer` and a :class:`Population`."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

BNG = "EPSG:27700"  # British National Grid: metres, for every area and distance


@dataclass
class Layer:
    """A boundary layer in EPSG:27700 with ``code``, ``name`` and ``geometry`` columns.

    ``members`` is the small-area membership (``small_code`` → ``code``) when the layer is
    a union of whole small areas (every 2016/17 health and council layer is a union of whole
    LSOAs); overlays between layers built from the same ``small_areas`` then need no geometry.
    ``blocks`` holds the small areas' own areas, so that exact overlay needs no geometry.
    ``notes`` records what was assumed or repaired on the way in.
    """

    frame: gpd.GeoDataFrame
    label: str
    members: pd.DataFrame | None = None
    small_areas: str | None = None
    notes: list[str] = field(default_factory=list)
    source: str = ""
    blocks: pd.DataFrame | None = None  # the small areas: code, area_m2 (and x, y points)

    def __post_init__(self) -> None:
        missing = {"code", "name", "geometry"} - set(self.frame.columns)
        if missing:
            raise ValueError(f"layer {self.label}: frame lacks {sorted(missing)}")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def codes(self) -> pd.Series:
        return self.frame["code"]

    def names(self) -> dict[str, str]:
        """Code → name, for labelling tables."""
        return dict(zip(self.frame["code"], self.frame["name"]))

    def shares_blocks_with(self, other: "Layer") -> bool:
        """True when both layers are unions of the same small areas (the exact, fast path)."""
        return (
            self.members is not None
            and other.members is not None
            and self.small_areas is not None
            and self.small_areas == other.small_areas
        )


@dataclass
class Population:
    """Population points: one point per small area (``code``, ``population``, ``geometry``).

    The point stands for every resident of its small area. The ONS files here carry no
    population-weighted centroids, so catalogue populations use a point guaranteed inside
    each LSOA polygon (``representative_point``) and say so in ``notes``.
    """

    points: gpd.GeoDataFrame
    label: str
    small_areas: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return float(self.points["population"].sum())

    def by_code(self) -> pd.Series:
        """Population per small-area code."""
        return self.points.set_index("code")["population"]
