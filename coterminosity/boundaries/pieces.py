"""Polygons for results: the piece of unit A inside unit B, for every row of a pair table."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo.build import dissolve_geometries
from ..geo.layer import BNG, Layer


def pair_geometry(table: pd.DataFrame, a: Layer, b: Layer, *, a_col: str = "a_code", b_col: str = "b_code",
                  fine: Layer | None = None) -> gpd.GeoDataFrame:
    """``table`` (one row per A∩B pair) with the polygon of each pair, in EPSG:27700.

    When both layers are unions of the same small areas and ``fine`` (those small areas' polygons)
    is given, each piece is the dissolve of the small areas the two units share: exact, no
    slivers. Otherwise each piece is the intersection of the two units' polygons (polygonal parts).

    Examples
    --------
    >>> import coterminosity as ct                                               # doctest: +SKIP
    >>> result = ct.compare(ct.load_layer("stp17"), ct.load_layer("upper17"))  # doctest: +SKIP
    >>> pieces = pair_geometry(result.overlay.pairs, result.a, result.b)        # doctest: +SKIP
    """
    keys = table[[a_col, b_col]].astype(str)
    if fine is not None and a.shares_blocks_with(b) and fine.small_areas == a.small_areas:
        shared = a.members.rename(columns={"code": "a"}).merge(b.members.rename(columns={"code": "b"}), on="small_code")
        shared = shared.merge(fine.frame[["code", "geometry"]].rename(columns={"code": "small_code"}), on="small_code")
        shared["key"] = shared["a"].astype(str) + "\x1f" + shared["b"].astype(str)
        unions = dissolve_geometries(shared["geometry"].to_numpy(), shared["key"].to_numpy(), coverage=True)
        wanted = (keys[a_col] + "\x1f" + keys[b_col]).to_numpy()
        geoms = np.array([unions.get(k, shapely.Polygon()) for k in wanted], dtype=object)
    else:
        ga = a.frame.set_index(a.frame["code"].astype(str)).geometry
        gb = b.frame.set_index(b.frame["code"].astype(str)).geometry
        left = ga.reindex(keys[a_col]).to_numpy()
        right = gb.reindex(keys[b_col]).to_numpy()
        geoms = np.array([_polygonal(g) for g in shapely.intersection(left, right)], dtype=object)
    frame = table.reset_index(drop=True).copy()
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=BNG)


def piece_codes(frame: gpd.GeoDataFrame, *, a_col: str, b_col: str, a_name: str, b_name: str) -> gpd.GeoDataFrame:
    """Give every piece its own ``code`` (``B&A``, the scenario form for the part of B inside A) and
    ``name`` ("B in A"), so a written piece layer reads back as a layer with unique codes; the unit
    columns are kept as ``unit_code``/``unit_name`` when they were ``code``/``name``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> f = gpd.GeoDataFrame({"footprint": ["F"], "footprint_name": ["North"], "code": ["C"], "name": ["Avon"]},
    ...                      geometry=gpd.points_from_xy([0], [0]))
    >>> piece_codes(f, a_col="footprint", b_col="code", a_name="footprint_name", b_name="name")[["code", "name"]].values.tolist()
    [['C&F', 'Avon in North']]
    """
    out = frame.rename(columns={"code": "unit_code", "name": "unit_name"})
    rename = {"code": "unit_code", "name": "unit_name"}
    a_col, b_col = rename.get(a_col, a_col), rename.get(b_col, b_col)
    a_name, b_name = rename.get(a_name, a_name), rename.get(b_name, b_name)
    out.insert(0, "code", out[b_col].astype(str) + "&" + out[a_col].astype(str))
    out.insert(1, "name", out[b_name].astype(str) + " in " + out[a_name].astype(str))
    return out


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry:
    """The polygonal parts of an intersection (edges and points where units only touch are dropped)."""
    if geom is None:
        return shapely.Polygon()
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.multipolygons(parts) if len(parts) > 1 else (parts[0] if parts else shapely.Polygon())
