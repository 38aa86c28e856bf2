"""Decide a layer's CRS, catch the usual mislabellings, and project to British National Grid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from ..errors import InputError
from .layer import BNG

# Generous bounds for Great Britain and its waters in EPSG:27700 (metres).
GB_BOUNDS = (-120_000, -20_000, 800_000, 1_400_000)
# England in longitude/latitude, padded.
ENGLAND_LONLAT = (-9.0, 49.0, 3.0, 61.0)

ASSUMES_WGS84 = (".geojson", ".json", ".topojson")
AREA_MARGIN = 0.25  # degrees: data this far outside a CRS's area of use is not in that CRS


def _looks_lonlat(bounds: np.ndarray) -> bool:
    minx, miny, maxx, maxy = bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def _looks_swapped(bounds: np.ndarray) -> bool:
    minx, miny, maxx, maxy = bounds
    return ENGLAND_LONLAT[1] <= minx <= maxx <= ENGLAND_LONLAT[3] and ENGLAND_LONLAT[0] <= miny <= maxy <= ENGLAND_LONLAT[2]


def _outside_area_of_use(frame: gpd.GeoDataFrame, source: CRS, bounds: np.ndarray) -> str | None:
    """The area a projected CRS is made for, when coordinates that would fit the British grid lie
    wholly outside it (e.g. an Irish Grid ``.prj`` on British coordinates); else None."""
    area = source.area_of_use
    if area is None or source.is_geographic or source.equals(CRS.from_user_input(BNG)):
        return None
    minx, miny, maxx, maxy = bounds
    if not (GB_BOUNDS[0] <= minx and maxx <= GB_BOUNDS[2] and GB_BOUNDS[1] <= miny and maxy <= GB_BOUNDS[3]):
        return None  # only numbers that would also read as British grid metres are suspect
    try:
        west, south, east, north = Transformer.from_crs(source, "EPSG:4326", always_xy=True).transform_bounds(
            minx, miny, maxx, maxy)
    except Exception:
        return None
    m = AREA_MARGIN
    if east < area.west - m or west > area.east + m or north < area.south - m or south > area.north + m:
        return area.name
    return None


def _mismatch(frame: gpd.GeoDataFrame, source: CRS, bounds: np.ndarray, where: str) -> str | None:
    """Why ``source`` cannot be the CRS of these coordinates (a one-line message), or None."""
    if source.is_geographic:
        if not _looks_lonlat(bounds):
            return (f"{where}: labelled {source.to_string()} (degrees) but coordinates reach {bounds[2]:,.0f}, "
                    f"{bounds[3]:,.0f}: they look like metres; fix the file's CRS or pass --crs EPSG:27700")
        if _looks_swapped(bounds):
            return (f"{where}: latitude and longitude look swapped (x spans {bounds[0]:.2f}..{bounds[2]:.2f}); "
                    "write longitude as x and latitude as y")
        return None
    if _looks_lonlat(bounds) and max(abs(bounds[2] - bounds[0]), abs(bounds[3] - bounds[1])) < 400:
        return (f"{where}: labelled {source.to_string()} (metres) but coordinates look like longitude/latitude; "
                "fix the file's CRS or pass --crs EPSG:4326")
    area = _outside_area_of_use(frame, source, bounds)
    if area:
        return (f"{where}: labelled {source.name} ({source.to_string()}), made for {area}, but its coordinates lie "
                "outside that area and fit British National Grid; fix the file's CRS or pass --crs EPSG:27700")
    return None


def to_bng(frame: gpd.GeoDataFrame, where: str, *, crs: str | None = None, suffix: str = "") -> tuple[gpd.GeoDataFrame, list[str]]:
    """Return ``frame`` in EPSG:27700 and notes on any assumption made.

    ``crs`` is for files that carry no CRS, or whose CRS cannot be right for their coordinates
    (degrees labelled metres, an Irish Grid label on British coordinates): a file whose own CRS
    fits its coordinates keeps it, with a note. A file with no CRS is otherwise accepted only when
    it is GeoJSON/TopoJSON (WGS84 by definition, RFC 7946) and its coordinates are lon/lat.
    """
    notes: list[str] = []
    bounds = np.asarray(frame.total_bounds, dtype=float)
    if np.isnan(bounds).any():
        raise InputError(f"{where}: no coordinates found; the layer has only empty geometries")
    if crs:
        try:
            given = CRS.from_user_input(crs)
        except Exception:
            raise InputError(f"{where}: --crs {crs!r} is not a CRS pyproj knows; give e.g. EPSG:27700 or EPSG:4326") from None
        own = frame.crs
        if own is None:
            frame = frame.set_crs(given)
        elif not own.equals(given):
            if _mismatch(frame, own, bounds, where) is None:
                notes.append(f"{where}: --crs {crs} not applied: the file says {own.to_string()}, which fits its "
                             "coordinates (--crs is for files without a CRS or with a wrong one)")
            else:
                frame = frame.set_crs(given, allow_override=True)
                notes.append(f"{where}: labelled {own.to_string()}, which does not fit its coordinates; read as "
                             f"{crs} (--crs)")
    elif frame.crs is None:
        if suffix.lower() in ASSUMES_WGS84 and _looks_lonlat(bounds):
            frame = frame.set_crs("EPSG:4326")
            notes.append(f"{where}: no CRS in file; coordinates are longitude/latitude, assumed WGS84 (RFC 7946)")
        else:
            guess = "EPSG:27700" if not _looks_lonlat(bounds) else "EPSG:4326"
            raise InputError(f"{where}: no CRS in file; give one with --crs (these coordinates look like {guess})")
    source = frame.crs
    problem = _mismatch(frame, source, bounds, where)
    if problem:
        raise InputError(problem)
    out = frame.to_crs(BNG) if not source.equals(CRS.from_user_input(BNG)) else frame
    minx, miny, maxx, maxy = out.total_bounds
    if minx < GB_BOUNDS[0] or miny < GB_BOUNDS[1] or maxx > GB_BOUNDS[2] or maxy > GB_BOUNDS[3]:
        raise InputError(
            f"{where}: lies outside Great Britain once projected to EPSG:27700 "
            f"(bounds {minx:,.0f} {miny:,.0f} {maxx:,.0f} {maxy:,.0f}); check its CRS (--crs)"
        )
    return out, notes
