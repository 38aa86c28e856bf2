"""Read the bundled England set (see :mod:`coterminosity.data` and :mod:`coterminosity.data.bundle`).

The readers return what the raw-file readers in :mod:`coterminosity.geo` return, so that every
catalogue layer comes out the same from either: the LSOA polygons and their table, each layer's
LSOA → unit table, the centroids, and the layers dissolved ahead.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import pandas as pd

from ..errors import CotermError, InputError
from . import BUNDLE_DIR, manifest

CRS = "EPSG:27700"


def _path(name: str):
    return BUNDLE_DIR / name


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    return pd.read_parquet(_path("lsoa11_table.parquet"))


def small_area_table() -> pd.DataFrame:
    """Per LSOA: code, name, LAD11CD, area_m2 and a point inside it (x, y), as the cache's table."""
    return _table().copy()


def polygons() -> gpd.GeoDataFrame:
    """The LSOA polygons (code, name, LAD11CD, geometry, area_m2) in EPSG:27700 on the 1 m grid."""
    geoms = gpd.read_parquet(_path("lsoa11.parquet"))
    table = small_area_table()
    if not geoms["code"].equals(table["code"]):
        raise CotermError(f"{BUNDLE_DIR}: the polygons and the LSOA table disagree; reinstall coterminosity")
    frame = gpd.GeoDataFrame(table[["code", "name", "LAD11CD"]].copy(), geometry=geoms.geometry.values, crs=CRS)
    frame["area_m2"] = table["area_m2"].to_numpy()
    return frame


def notes() -> list[str]:
    """What was repaired, cleaned and rounded on the way into the bundle."""
    return list(manifest().get("notes", []))


def membership(layer: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The LSOA → unit table of a catalogue layer (``LSOA11CD``, ``code``, in LSOA order) and unit
    code → name; or a one-line error when the bundle does not carry the layer."""
    doc = manifest()
    if layer in doc.get("unavailable", {}):
        raise InputError(doc["unavailable"][layer])  # as the raw files would
    if layer not in doc.get("layers", {}):
        raise CotermError(f"{layer}: not in the bundled England set (it was built before this layer was added); "
                          "point --data-dir/COTERM_DATA at the published files, or rebuild it with "
                          "`python -m coterminosity.data.bundle --from DIR`")
    members = pd.read_parquet(_path("members.parquet"), columns=["LSOA11CD", layer])
    units = pd.read_parquet(_path("units.parquet"), filters=[("layer", "==", layer)])
    table = pd.DataFrame({"LSOA11CD": members["LSOA11CD"].to_numpy(), "code": members[layer].astype(str).to_numpy()})
    return table, dict(zip(units["code"], units["name"]))


def centroids() -> pd.DataFrame:
    """``code``, ``x``, ``y``, ``outside_m``: the population-weighted centroids and their distance
    outside their (bundled) polygon, as :func:`coterminosity.geo.population.lsoa_points` measures it."""
    table = pd.read_parquet(_path("lsoa11_pwc_england.parquet"))
    return pd.DataFrame({"code": table["LSOA11CD"].to_numpy(), "x": table["easting"].to_numpy(),
                         "y": table["northing"].to_numpy(), "outside_m": table["outside_m"].to_numpy()})


def prebuilt(layer: str) -> gpd.GeoDataFrame | None:
    """The layer's units (code, name, geometry) dissolved ahead, or None when the bundle does not carry it."""
    if layer not in manifest().get("prebuilt", []):
        return None
    return gpd.read_parquet(_path(f"layers/{layer}.parquet"))
