"""The two inputs everything else takes: a polygon :class:`Layer` and a :class:`Population`."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from ..errors import InputError

BNG = "EPSG:27700"  # British National Grid: metres, for every area and distance


@dataclass(eq=False)  # layers are compared by identity, never by their frames
class Layer:
    """A boundary layer in EPSG:27700 with ``code``, ``name`` and ``geometry`` columns.

    ``members`` is the small-area membership (``small_code`` → ``code``) when the layer is
    a union of whole small areas (every catalogue health and council layer from 2016 to 2024 is
    a union of whole LSOAs); overlays between layers built from the same ``small_areas`` then
    need no geometry.
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
    def crs(self):
        """The CRS of the frame (EPSG:27700 for every layer the toolkit builds or reads)."""
        return self.frame.crs

    @property
    def total_bounds(self):
        """(minx, miny, maxx, maxy) of the whole layer, in its CRS."""
        return self.frame.total_bounds

    def to_file(self, path, layer_name: str | None = None):
        """Write the layer (``code``, ``name``, geometry and any other columns) atomically to a GIS file.

        Examples
        --------
        >>> import coterminosity as ct
        >>> ct.load_layer("stp17").to_file("stp17.gpkg")  # doctest: +SKIP
        """
        from .write import write_layer

        return write_layer(self.frame, path, layer_name=layer_name or self.label)

    def explore(self, tiles: str | None = "OpenStreetMap"):
        """A quick interactive folium map of the units (code and name on hover), for notebooks;
        ``coterminosity.maps.build_map`` draws results. ``tiles=None`` needs no internet."""
        import folium

        shown = self.frame[["code", "name", "geometry"]].to_crs("EPSG:4326")
        west, south, east, north = shown.total_bounds
        m = folium.Map(tiles=tiles)
        folium.GeoJson(shown.to_json(), name=self.label,
                       tooltip=folium.GeoJsonTooltip(fields=["code", "name"])).add_to(m)
        m.fit_bounds([[south, west], [north, east]])
        return m

    @property
    def codes(self) -> pd.Series:
        return self.frame["code"]

    def names(self) -> dict[str, str]:
        """Code → name, for labelling tables."""
        return dict(zip(self.frame["code"], self.frame["name"]))

    def match(self, query: str) -> list[str]:
        """Codes of the units ``query`` names: the code, else the whole name, else a part of names
        (all case-insensitive); the first of these that matches anything."""
        q = query.strip().casefold()
        codes = self.frame["code"].astype(str)
        names = self.frame["name"].astype(str).str.casefold()
        for hits in (codes.str.casefold() == q, names == q, names.str.contains(q, regex=False)):
            if hits.any():
                return codes[hits].tolist()
        return []

    def find(self, query: str, what: str = "units") -> str:
        """The one code ``query`` names (see :meth:`match`), or a one-line error listing the candidates."""
        hits = self.match(query)
        if len(hits) == 1:
            return hits[0]
        names = self.names()
        some = f" ({'; '.join(f'{names[c]} {c}' for c in hits[:5])})" if hits else ""
        example = self.frame["code"].iloc[0] if len(self.frame) else "a code"
        raise InputError(f"{self.label}: {len(hits) or 'no'} {what} match {query!r}{some}; "
                         f"give a code (e.g. {example}) or the whole name")

    def shares_blocks_with(self, other: Layer) -> bool:
        """True when both layers are unions of the same small areas (the exact, fast path)."""
        return (
            self.members is not None
            and other.members is not None
            and self.small_areas is not None
            and self.small_areas == other.small_areas
        )


@dataclass(eq=False)
class Population:
    """Population points: one point per small area (``code``, ``population``, ``geometry``).

    The point stands for every resident of its small area. Catalogue populations sit at the ONS
    population-weighted centroids of the LSOAs; where a centroid falls just outside its generalised
    polygon (358 of 32,844, all within 56 m), or the data folder has no centroids, at a point inside
    the polygon instead, so a geometry overlay counts everyone in their own LSOA, as overlays of
    catalogue layers (by LSOA code) do. ``notes`` say which points were used.
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
