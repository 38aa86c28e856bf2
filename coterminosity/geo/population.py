"""Population: the catalogue's mid-2019 LSOA counts, or a user's file of points or code → count.

LSOA counts are placed at the ONS population-weighted centroids when the data folder has them.

Every result is a :class:`Population` of points; the counts are checked (≥ 0, one row per small
area, known codes) with a one-line error naming the first bad row.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CotermError, InputError
from .cache import cache_file, read_cached, write_cached
from .catalogue import CENTROIDS, DATASETS, POPULATION, bundled, dataset_path
from .layer import BNG, Layer, Population
from .numbers import finite_total, to_counts
from .read import read_frame, read_table, row_names
from .smallareas import SMALL_AREAS, small_area_polygons, small_area_table


def lsoa_points(data_dir=None) -> tuple[pd.DataFrame, list[str]]:
    """Where each LSOA's people are placed (code, x, y in EPSG:27700), and a note saying how.

    The ONS population-weighted centroids when the data folder has them, except where one falls
    outside its generalised polygon (measured once and cached), else a point inside each polygon.
    """
    try:
        path = dataset_path(CENTROIDS, data_dir)
    except CotermError:
        return small_area_table(data_dir)[["code", "x", "y"]], [
            "population points: a point inside each LSOA polygon (shapely point_on_surface); no population-weighted "
            f"centroids in the data folder ({DATASETS[CENTROIDS].filename})"]
    cache = cache_file("lsoa11-centroids", ("lsoa11", CENTROIDS), data_dir)
    points = read_cached(cache, geo=False)
    if points is None and bundled(CENTROIDS, data_dir) and bundled(SMALL_AREAS, data_dir):
        from ..data import england

        points = england.centroids()  # measured against the bundled polygons when it was built
    elif points is None:
        points = _centroids(path, data_dir)
        write_cached(points, cache)
    # A centroid outside its generalised polygon lies in a neighbour (or the sea): a geometry overlay
    # would count those people in the wrong LSOA, so they sit at a point inside their own polygon,
    # as do LSOAs outside England (no centroid in the England file).
    table = small_area_table(data_dir)[["code", "x", "y"]]
    good = points[points["outside_m"] == 0].set_index("code")
    at_centroid = table["code"].isin(good.index).to_numpy()
    table.loc[at_centroid, "x"] = good["x"].reindex(table["code"][at_centroid]).to_numpy()
    table.loc[at_centroid, "y"] = good["y"].reindex(table["code"][at_centroid]).to_numpy()
    outside = int((points["outside_m"] > 0).sum())
    note = (f"population points: ONS population-weighted centroids (December 2011, {path.name}); "
            f"{outside:,} of them fall just outside their generalised LSOA polygon (all within "
            f"{np.ceil(points['outside_m'].max()):.0f} m) and are replaced by a point inside it (shapely "
            "point_on_surface), so geometry overlays count those people in their own LSOA as membership overlays do")
    elsewhere = len(table) - len(points)
    if elsewhere:
        note += f"; {elsewhere:,} LSOAs outside England have no centroid and sit at a point inside their polygon"
    return table, [note]


def _centroids(path: Path, data_dir) -> pd.DataFrame:
    """The centroid file checked against the LSOA polygons, with each point's distance outside its polygon."""
    table = read_table(path)
    for col in DATASETS[CENTROIDS].fields:
        if col not in table.columns:
            raise InputError(f"{path}: no column {col!r}; expected the ONS LSOA population-weighted centroids")
    polys, _ = small_area_polygons(data_dir)
    codes = table["LSOA11CD"].astype(str)
    for what, found in (("not among the LSOA polygons", codes[~codes.isin(set(polys["code"]))]),
                        ("listed twice", codes[codes.duplicated()]),
                        ("without a centroid", polys["code"][polys["code"].str.startswith("E")
                                                             & ~polys["code"].isin(set(codes))])):
        if len(found):
            raise InputError(f"{path}: {len(found):,} LSOAs {what} (e.g. {found.iloc[0]}); the centroids must be "
                             "the England LSOAs (December 2011), one row each")
    x = pd.to_numeric(table["easting"], errors="coerce")
    y = pd.to_numeric(table["northing"], errors="coerce")
    if x.isna().any() or y.isna().any():
        bad = int(np.flatnonzero((x.isna() | y.isna()).to_numpy())[0])
        raise InputError(f"{path}: {row_names(path, table, [bad])[0]}: easting/northing is not a number; fix it")
    points = pd.DataFrame({"code": codes.to_numpy(), "x": x.to_numpy(), "y": y.to_numpy()})
    geoms = polys.set_index("code").geometry.reindex(points["code"]).to_numpy()
    points["outside_m"] = shapely.distance(geoms, shapely.points(points["x"], points["y"]))
    return points


def catalogue_population(data_dir=None) -> Population:
    """Mid-2019 LSOA populations placed at the ONS population-weighted centroids (see :func:`lsoa_points`)."""
    path = dataset_path(POPULATION, data_dir)
    pop = read_table(path)
    if "LSOA11CD" not in pop.columns or "population" not in pop.columns:
        raise InputError(f"{path}: expected columns LSOA11CD and population")
    return population_from_table(pop, "LSOA11CD", "population", str(path), label="mid-2019 population",
                                 data_dir=data_dir)


def checked_counts(pop: pd.DataFrame, code_col: str, pop_col: str, where: str | Path,
                   known: pd.Series | None = None, what: str = "small areas") -> pd.Series:
    """Population per small-area code from a table: counts ≥ 0, one row per code and, given
    ``known`` codes, no stranger; otherwise a one-line error naming the first offending line."""
    if pop.empty:
        raise InputError(f"{where}: no rows; a population table needs one row per small area")
    for col, flag in ((code_col, "--pop-code-col"), (pop_col, "--pop-col")):
        if col not in pop.columns:
            raise InputError(f"{where}: no column {col!r} (name it with {flag}); columns present: "
                             f"{', '.join(map(str, pop.columns[:12]))}")
    counts = to_counts(pop[pop_col])
    codes = pop[code_col].astype(str)
    for bad, problem in (
        (counts.isna().to_numpy() | (counts < 0).to_numpy(), f"{pop_col} is not a count ≥ 0"),
        (codes.duplicated().to_numpy(), "repeats a small area (one row per small area)"),
        (~codes.isin(set(known)).to_numpy() if known is not None else np.zeros(len(pop), bool),
         f"is not one of the {what} (check the code column and its vintage)"),
    ):
        found = np.flatnonzero(bad)
        if len(found):
            value = pop[pop_col if "count" in problem else code_col].iloc[found[0]]
            raise InputError(f"{where}: {row_names(where, pop, found[:1])[0]}: {value!r} {problem} "
                             f"({len(found)} such row{'' if len(found) == 1 else 's'}); fix them")
    finite_total(counts, str(where))
    return pd.Series(counts.to_numpy(), index=codes.to_numpy())


def population_from_table(pop: pd.DataFrame, code_col: str, pop_col: str, where: str, label: str,
                          data_dir=None) -> Population:
    """Counts per 2011 LSOA code placed at each LSOA's point (:func:`lsoa_points`); codes checked."""
    table, notes = lsoa_points(data_dir)
    counts = checked_counts(pop, code_col, pop_col, where, known=table["code"], what="2011 LSOAs")
    joined = pd.DataFrame({"code": counts.index, "population": counts.to_numpy()})
    joined = joined.merge(table, on="code", how="left")
    lacking = len(table) - len(joined)
    if lacking:
        notes.append(f"{lacking} LSOAs have no population row; counted as 0")
    points = gpd.GeoDataFrame(joined[["code", "population"]], geometry=gpd.points_from_xy(joined["x"], joined["y"]),
                              crs=BNG)
    return Population(points, label=label, small_areas=SMALL_AREAS, notes=notes)


def load_population(
    spec: str | None = None,
    *,
    data_dir=None,
    code_col: str | None = None,
    pop_col: str = "population",
    crs: str | None = None,
) -> Population:
    """Population points from the catalogue (``spec`` None/"pop19") or a file.

    A file with point geometry (or coordinate columns) is used as is; a plain table of
    small-area code → count is placed at the catalogue LSOAs' points (:func:`lsoa_points`).
    """
    if spec in (None, "", "pop19", POPULATION):
        return catalogue_population(data_dir)
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        table = read_table(path)
        code_col = code_col or next((c for c in table.columns if c.upper() in ("LSOA11CD", "CODE", "LSOA_CODE")), None)
        if code_col is None or code_col not in table.columns:
            raise InputError(f"{path}: no small-area code column; name it with --pop-code-col")
        if pop_col not in table.columns:
            raise InputError(f"{path}: no column {pop_col!r}; name the count column with --pop-col")
        coords = {c.lower() for c in table.columns} & {"x", "y", "easting", "northing", "lon", "lat", "longitude", "latitude", "wkt"}
        if not coords:
            return population_from_table(table, code_col, pop_col, str(path), label=path.stem, data_dir=data_dir)
    frame = read_frame(path)
    from .crs import to_bng  # local: only point files need it

    if code_col is None:
        code_col = next((c for c in frame.columns if c.upper() in ("LSOA11CD", "CODE", "LSOA_CODE")), None)
    if pop_col not in frame.columns:
        raise InputError(f"{path}: no column {pop_col!r}; name the count column with --pop-col")
    types = frame.geom_type
    if not types.eq("Point").all():
        raise InputError(f"{path}: population points must be points; found {', '.join(types.unique().astype(str))}")
    frame, notes = to_bng(frame, str(path), crs=crs, suffix=suffix)
    counts = to_counts(frame[pop_col])
    bad = np.flatnonzero(counts.isna().to_numpy() | (counts < 0).to_numpy())
    if len(bad):
        raise InputError(f"{path}: feature {bad[0] + 1}: {pop_col} is not a count ≥ 0 ({len(bad)} such); fix them")
    codes = frame[code_col].astype(str) if code_col else pd.Series(np.arange(len(frame)).astype(str))
    points = gpd.GeoDataFrame({"code": codes.to_numpy(), "population": counts.to_numpy()}, geometry=frame.geometry.values,
                              crs=BNG)
    return Population(points, label=path.stem, small_areas=None, notes=notes)


def population_counts(spec: str | None, small: Layer, *, data_dir=None, code_col: str | None = None,
                      pop_col: str = "population") -> tuple[pd.Series | None, str]:
    """Population per small area of ``small`` (any small-area layer, e.g. MSOAs), and a note.

    The catalogue LSOAs take the catalogue population unless a file is given; other small
    areas need a table of code → count (``spec``), else there is none (said in the note).
    """
    if small.label == SMALL_AREAS and small.small_areas == SMALL_AREAS and spec in (None, "", "pop19", POPULATION):
        population = catalogue_population(data_dir)
        return population.by_code(), f"population: {population.label} (total {population.total:,.0f})"
    if spec in (None, "", "pop19", POPULATION):
        return None, f"population: none for {small.label} small areas (give --population FILE with code and population)"
    if Path(spec).suffix.lower() not in (".csv", ".parquet", ".pq"):  # population points, coded by small area
        population = load_population(spec, data_dir=data_dir, code_col=code_col, pop_col=pop_col)
        return population.by_code(), f"population: {population.label} (total {population.total:,.0f})"
    table = read_table(spec)
    code_col = code_col or next((c for c in table.columns if c.lower() in ("code", "lsoa11cd", "msoa11cd")), None)
    if code_col is None:
        raise InputError(f"{spec}: no small-area code column; name it with --pop-code-col")
    counts = checked_counts(table, code_col, pop_col, spec, known=small.codes, what=f"{small.label} small areas")
    return counts, f"population: {spec} (total {counts.sum():,.0f})"
