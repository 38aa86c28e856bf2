"""The small areas every catalogue layer is a union of: the 32,844 LSOAs (December 2011).

Their polygons are read once, projected to EPSG:27700, repaired, snapped and coverage-cleaned,
then cached with a light table (code, name, district, area, a point inside) for the exact paths.
With no data folder they come from the England bundle, where they are stored already cleaned.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import shapely

from ..errors import InputError
from .cache import cache_file, read_cached, read_notes, write_cached
from .catalogue import DATASETS, bundled, data_note, dataset_path
from .layer import BNG, Layer
from .read import read_frame
from .validity import clean_coverage, repair_polygons

log = logging.getLogger(__name__)

SMALL_AREAS = "lsoa11"


def small_area_polygons(data_dir=None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """All LSOA polygons in EPSG:27700, repaired and snapped to a 1 cm grid (cached), and notes
    (the first names where the data came from)."""
    if bundled(SMALL_AREAS, data_dir):
        from ..data import england

        return england.polygons(), [data_note((SMALL_AREAS,), data_dir), *england.notes()]
    cache = cache_file("lsoa11-polygons", ("lsoa11",), data_dir)
    frame = read_cached(cache, geo=True)
    if frame is not None:
        return frame, [data_note((SMALL_AREAS,), data_dir), *read_notes(cache)]
    path = dataset_path("lsoa11", data_dir)
    log.info("reading %s (32,844 LSOAs) and projecting to EPSG:27700 …", path.name)
    raw = read_frame(path)
    for col in DATASETS["lsoa11"].fields:
        if col not in raw.columns:
            raise InputError(f"{path}: no column {col!r}; expected the ONS LSOA 2011 layer")
    raw = raw.to_crs(BNG)
    geoms, repair = repair_polygons(raw.geometry.values)
    notes = [f"{path.name}: {n}" for n in repair.describe("LSOA polygons")]
    log.info("cleaning the LSOA coverage (closing sub-metre gaps and overlaps between neighbours) …")
    geoms, cleaned = clean_coverage(geoms)
    notes.append(f"{path.name}: {cleaned}")
    frame = gpd.GeoDataFrame(
        {"code": raw["LSOA11CD"].astype(str).to_numpy(), "name": raw["LSOA11NM"].astype(str).to_numpy(),
         "LAD11CD": raw["LAD11CD"].astype(str).to_numpy()},
        geometry=geoms, crs=BNG,
    )
    frame["area_m2"] = frame.geometry.area
    write_cached(frame, cache, notes)
    return frame, [data_note((SMALL_AREAS,), data_dir), *notes]


def small_area_table(data_dir=None) -> pd.DataFrame:
    """Per LSOA: code, name, parent district, area (m²) and a point inside it (x, y). Cached, no polygons."""
    if bundled(SMALL_AREAS, data_dir):
        from ..data import england

        return england.small_area_table()
    cache = cache_file("lsoa11-table", ("lsoa11",), data_dir)
    table = read_cached(cache, geo=False)
    if table is not None:
        return table
    polys, _ = small_area_polygons(data_dir)
    points = shapely.point_on_surface(polys.geometry.values)
    table = pd.DataFrame({
        "code": polys["code"], "name": polys["name"], "LAD11CD": polys["LAD11CD"], "area_m2": polys["area_m2"],
        "x": shapely.get_x(points), "y": shapely.get_y(points),
    })
    write_cached(table, cache)
    return table


def small_area_layer(data_dir=None) -> Layer:
    """The LSOAs as a Layer whose members are themselves."""
    polys, notes = small_area_polygons(data_dir)
    frame = polys[["code", "name", "LAD11CD", "geometry"]]
    members = pd.DataFrame({"small_code": frame["code"], "code": frame["code"]})
    return Layer(frame, label=SMALL_AREAS, members=members, small_areas=SMALL_AREAS, notes=list(notes),
                 source=str(dataset_path("lsoa11", data_dir)), blocks=small_area_table(data_dir))
