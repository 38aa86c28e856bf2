"""Decide a layer's CRS, catch the usual mislabellings, and project to British National Grid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS

from ..errors import InputError
from .layer import BNG

# Generous bounds for Great Britain and its waters in EPSG:27700 (metres).
GB_BOUNDS = (-120_000, -20_000, 800_000, 1_400_000)
# England in longitude/latitude, padded.
ENGLAND_LONLAT = (-9.0, 49.0, 3.0, 61.0)

ASSUMES_WGS84 = (".geojson", ".json", ".topojson")


def _looks_lonlat(bounds: np.ndarray) -> bool:
    minx, miny, maxx, maxy = bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def _looks_swapped(bounds: np.ndarray) -> bool:
    minx, miny, maxx, maxy = bounds
    return ENGLAND_LONLAT[1] <= minx <= maxx <= ENGLAND_LONLAT[3] and ENGLAND_LONLAT[0] <= miny <= maxy <= ENGLAND_LONLAT[2]


def to_bng(frame: gpd.GeoDataFrame, where: str, *, crs: str | None = None, suffix: str = "") -> tuple[gpd.GeoDataFrame, list[str]]:
    """Return ``frame`` in EPSG:27700 and notes on any assumption made.

    ``crs`` overrides what the file says. A file with no CRS is accepted only when it is
    GeoJSON/TopoJSON (WGS84 by definition, RFC 7946) and its coordinates are lon/lat.
    """
    notes: list[str] = []
    bounds = np.asarray(frame.total_bounds, dtype=float)
    if np.isnan(bounds).any():
        raise InputError(f"{where}: no coordinates found; the layer has only empty geometries")
    if crs:
        try:
            frame = frame.set_crs(CRS.from_user_input(crs), allow_override=True)
        except Exception:
            raise InputError(f"{where}: --crs {crs!r} is not a CRS pyproj knows; give e.g. EPSG:27700 or EPSG:4326") from None
    elif frame.crs is None:
        if suffix.lower() in ASSUMES_WGS84 and _looks_lonlat(bounds):
            frame = frame.set_crs("EPSG:4326")
            notes.append(f"{where}: no CRS in file; coordinates are longitude/latitude, assumed WGS84 (RFC 7946)")
        else:
            guess = "EPSG:27700" if not _looks_lonlat(bounds) else "EPSG:4326"
            raise InputError(f"{where}: no CRS in file; give one with --crs (these coordinates look like {guess})")
    source = frame.crs
    if source.is_geographic:
        if not _looks_lonlat(bounds):
            raise InputError(
                f"{where}: labelled {source.to_string()} (degrees) but coordinates reach {bounds[2]:,.0f}, {bounds[3]:,.0f}: "
                "they look like metres; fix the file's CRS or pass --crs EPSG:27700"
            )
        if _looks_swapped(bounds):
            raise InputError(
                f"{where}: latitude and longitude look swapped (x spans {bounds[0]:.2f}..{bounds[2]:.2f}); "
                "write longitude as x and latitude as y"
            )
    elif _looks_lonlat(bounds) and max(abs(bounds[2] - bounds[0]), abs(bounds[3] - bounds[1])) < 400:
        raise InputError(
            f"{where}: labelled {source.to_string()} (metres) but coordinates look like longitude/latitude; "
            "fix the file's CRS or pass --crs EPSG:4326"
        )
    out = frame.to_crs(BNG) if not source.equals(CRS.from_user_input(BNG)) else frame
    minx, miny, maxx, maxy = out.total_bounds
    if minx < GB_BOUNDS[0] or miny < GB_BOUNDS[1] or maxx > GB_BOUNDS[2] or maxy > GB_BOUNDS[3]:
        raise InputError(
            f"{where}: lies outside Great Britain once projected to EPSG:27700 "
            f"(bounds {minx:,.0f} {miny:,.0f} {maxx:,.0f} {maxy:,.0f}); check its CRS (--crs)"
        )
    return out, notes
