"""Turn a catalogue name (``stp17``, ``upper17`` …) or a file path into a Layer or Population.

Catalogue layers are built from the LSOA polygons and ONS lookups on first use and cached
as GeoParquet under the cache folder, keyed by the source files' size and time stamp.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CotermError, InputError
from .build import Membership, build_layer, membership_from_table
from .catalogue import DATASETS, LAYERS, POPULATION, dataset_path, default_cache_root
from .layer import BNG, Layer, Population
from .read import read_frame, read_layer, read_table, row_names
from .validity import clean_coverage, repair_polygons

BUILD_VERSION = "3"  # bump when the way layers are built changes, to invalidate caches
SMALL_AREAS = "lsoa11"


def progress(message: str) -> None:
    """A progress line on stderr (long steps only), silenced by ``COTERM_QUIET``."""
    if not os.environ.get("COTERM_QUIET"):
        print(message, file=sys.stderr, flush=True)


def _fingerprint(names: tuple[str, ...], data_dir) -> str:
    parts = [BUILD_VERSION]
    for name in names:
        path = dataset_path(name, data_dir)
        st = path.stat()
        parts.append(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def _cache_file(kind: str, names: tuple[str, ...], data_dir, suffix: str = ".parquet") -> Path:
    folder = default_cache_root() / "built"
    return folder / f"{kind}-{_fingerprint(names, data_dir)}{suffix}"


def _write_cache(frame: pd.DataFrame, path: Path) -> None:
    """Write a cache file atomically; a cache that cannot be written is only a slower next run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        frame.to_parquet(tmp)
        os.replace(tmp, path)
    except OSError:
        pass


def _read_notes(cache: Path) -> list[str]:
    """The notes (repairs, assumptions) saved beside a cache file."""
    path = cache.with_suffix(".notes")
    return path.read_text().splitlines() if path.is_file() else []


def _write_notes(cache: Path, notes: list[str]) -> None:
    try:
        cache.with_suffix(".notes").write_text("\n".join(notes))
    except OSError:
        pass


def _read_cache(path: Path, geo: bool) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return gpd.read_parquet(path) if geo else pd.read_parquet(path)
    except Exception:
        return None


# ---------------------------------------------------------------- small areas


def small_area_polygons(data_dir=None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """All LSOA polygons in EPSG:27700, repaired and snapped to a 1 cm grid (cached)."""
    cache = _cache_file("lsoa11-polygons", ("lsoa11",), data_dir)
    frame = _read_cache(cache, geo=True)
    if frame is not None:
        notes = _read_notes(cache)
        return frame, notes
    path = dataset_path("lsoa11", data_dir)
    progress(f"reading {path.name} (32,844 LSOAs) and projecting to EPSG:27700 …")
    raw = read_frame(path)
    for col in DATASETS["lsoa11"].fields:
        if col not in raw.columns:
            raise InputError(f"{path}: no column {col!r}; expected the ONS LSOA 2011 layer")
    raw = raw.to_crs(BNG)
    geoms, repair = repair_polygons(raw.geometry.values)
    notes = [f"{path.name}: {n}" for n in repair.describe("LSOA polygons")]
    progress("cleaning the LSOA coverage (closing sub-metre gaps and overlaps between neighbours) …")
    geoms, cleaned = clean_coverage(geoms)
    notes.append(f"{path.name}: {cleaned}")
    frame = gpd.GeoDataFrame(
        {"code": raw["LSOA11CD"].astype(str).to_numpy(), "name": raw["LSOA11NM"].astype(str).to_numpy(),
         "LAD11CD": raw["LAD11CD"].astype(str).to_numpy()},
        geometry=geoms, crs=BNG,
    )
    frame["area_m2"] = frame.geometry.area
    _write_cache(frame, cache)
    _write_notes(cache, notes)
    return frame, notes


def small_area_table(data_dir=None) -> pd.DataFrame:
    """Per LSOA: code, name, parent district, area (m²) and a point inside it (x, y). Cached, no polygons."""
    cache = _cache_file("lsoa11-table", ("lsoa11",), data_dir)
    table = _read_cache(cache, geo=False)
    if table is not None:
        return table
    polys, _ = small_area_polygons(data_dir)
    points = shapely.point_on_surface(polys.geometry.values)
    table = pd.DataFrame({
        "code": polys["code"], "name": polys["name"], "LAD11CD": polys["LAD11CD"], "area_m2": polys["area_m2"],
        "x": shapely.get_x(points), "y": shapely.get_y(points),
    })
    _write_cache(table, cache)
    return table


def small_area_layer(data_dir=None) -> Layer:
    """The LSOAs as a Layer whose members are themselves."""
    polys, notes = small_area_polygons(data_dir)
    frame = polys[["code", "name", "LAD11CD", "geometry"]]
    members = pd.DataFrame({"small_code": frame["code"], "code": frame["code"]})
    return Layer(frame, label=SMALL_AREAS, members=members, small_areas=SMALL_AREAS, notes=list(notes),
                 source=str(dataset_path("lsoa11", data_dir)), blocks=small_area_table(data_dir))


# ---------------------------------------------------------------- membership of named layers


def _lookup(name: str, data_dir, columns: list[str]) -> pd.DataFrame:
    path = dataset_path(name, data_dir)
    table = read_table(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected the ONS lookup {DATASETS[name].title}")
    return table[columns]


def named_membership(name: str, data_dir=None) -> Membership:
    """LSOA → unit membership for a catalogue layer, from the ONS lookups (no geometry)."""
    recipe = LAYERS[name]
    codes = small_area_table(data_dir)["code"]
    if name == "lsoa11":
        table = small_area_table(data_dir)
        return membership_from_table(codes, table, "code", "code", "name", "lsoa11")
    if name == "lad11":
        table = small_area_table(data_dir)[["code", "LAD11CD", "name"]].copy()
        # LSOA names are "<district name> 057B": the district name is all but the last word.
        table["LAD11NM"] = table["name"].str.rsplit(" ", n=1).str[0]
        return membership_from_table(codes, table, "code", "LAD11CD", "LAD11NM", "lsoa11 LAD11CD")
    if name == "upper17":
        utla = _lookup("lookup_lsoa11_utla17", data_dir, ["LSOA11CD", "UTLA17CD", "UTLA17NM"])
        lad = _lookup("lookup_lsoa11_ccg17_stp17_lad17", data_dir, ["LSOA11CD", "LAD17CD", "LAD17NM"])
        table = lad.merge(utla, on="LSOA11CD", how="left")
        county = table["UTLA17CD"].fillna("").str.startswith("E10")
        # Two-tier areas: the county (E10). Elsewhere the district itself is the upper tier:
        # the lookup's E11/E13 codes are metropolitan counties and Inner/Outer London, not councils.
        table["UPPER17CD"] = np.where(county, table["UTLA17CD"], table["LAD17CD"])
        table["UPPER17NM"] = np.where(county, table["UTLA17NM"], table["LAD17NM"])
        return membership_from_table(codes, table, "LSOA11CD", "UPPER17CD", "UPPER17NM", "upper17 lookups")
    table = _lookup(recipe.lookup, data_dir, ["LSOA11CD", recipe.code_col, recipe.name_col])
    return membership_from_table(codes, table, "LSOA11CD", recipe.code_col, recipe.name_col,
                                 str(dataset_path(recipe.lookup, data_dir)))


def _named_layer(name: str, data_dir=None) -> Layer:
    recipe = LAYERS[name]
    if name == "lsoa11":
        return small_area_layer(data_dir)
    if name == "lad13":
        return _file_layer_cached("lad13", data_dir)
    cache = _cache_file(f"layer-{name}", recipe.needs, data_dir)
    members_file = cache.with_suffix(".members.parquet")
    frame = _read_cache(cache, geo=True)
    if frame is not None:
        # Matching the lookup CSVs to the LSOAs is most of a warm start (~0.4 s a layer): cache it too.
        members = _read_cache(members_file, geo=False)
        if members is None:
            members = named_membership(name, data_dir).members
            _write_cache(members, members_file)
        notes = _read_notes(cache)
        return Layer(frame, label=name, members=members, small_areas=SMALL_AREAS, notes=notes,
                     source=f"catalogue {name}", blocks=small_area_table(data_dir))
    membership = named_membership(name, data_dir)
    _write_cache(membership.members, members_file)
    fine = small_area_layer(data_dir)
    progress(f"building {name} ({recipe.title}) from {len(fine):,} LSOAs …")
    layer = build_layer(fine, membership, name, coverage=True)
    layer.source = f"catalogue {name}"
    _write_cache(layer.frame, cache)
    _write_notes(cache, layer.notes)
    return layer


def _file_layer_cached(name: str, data_dir=None) -> Layer:
    recipe = LAYERS[name]
    cache = _cache_file(f"layer-{name}", recipe.needs, data_dir)
    frame = _read_cache(cache, geo=True)
    if frame is not None:
        notes = _read_notes(cache)
        return Layer(frame, label=name, notes=notes, source=f"catalogue {name}")
    layer = read_layer(dataset_path(recipe.needs[0], data_dir), code_col=recipe.code_col, name_col=recipe.name_col,
                       label=name)
    _write_cache(layer.frame, cache)
    _write_notes(cache, layer.notes)
    return layer


def is_catalogue_name(spec: str) -> bool:
    return spec in LAYERS


def load_layer(
    spec: str,
    *,
    data_dir=None,
    code_col: str | None = None,
    name_col: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
) -> Layer:
    """A Layer from a catalogue name (built and cached on first use) or from a file path."""
    if is_catalogue_name(spec) and not Path(spec).exists():
        return _named_layer(spec, data_dir)
    if not Path(spec).suffix and not Path(spec).exists():
        raise CotermError(f"{spec!r}: not a catalogue layer ({', '.join(LAYERS)}) and no such file")
    from .members import attach_members  # files written with their LSOA membership (e.g. catchments)

    return attach_members(read_layer(spec, code_col=code_col, name_col=name_col, layer=layer, crs=crs), data_dir)


# ---------------------------------------------------------------- population


def catalogue_population(data_dir=None) -> Population:
    """Mid-2019 LSOA populations placed at a point inside each LSOA polygon."""
    table = small_area_table(data_dir)
    path = dataset_path(POPULATION, data_dir)
    pop = read_table(path)
    if "LSOA11CD" not in pop.columns or "population" not in pop.columns:
        raise InputError(f"{path}: expected columns LSOA11CD and population")
    return _population_from_table(pop, "LSOA11CD", "population", table, str(path), label="mid-2019 population")


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
    counts = pd.to_numeric(pop[pop_col], errors="coerce")
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
                             f"({len(found)} such rows); fix them")
    return pd.Series(counts.to_numpy(), index=codes.to_numpy())


def _population_from_table(pop: pd.DataFrame, code_col: str, pop_col: str, table: pd.DataFrame, where: str,
                           label: str) -> Population:
    counts = checked_counts(pop, code_col, pop_col, where, known=table["code"], what="2011 LSOAs")
    joined = pd.DataFrame({"code": counts.index, "population": counts.to_numpy()})
    joined = joined.merge(table[["code", "x", "y"]], on="code", how="left")
    lacking = len(table) - len(joined)
    notes = ["population points: a point inside each LSOA polygon (shapely point_on_surface); "
             "no population-weighted centroids in the data folder"]
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
    small-area code → count is joined to the catalogue LSOAs' interior points.
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
            return _population_from_table(table, code_col, pop_col, small_area_table(data_dir), str(path),
                                          label=path.stem)
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
    counts = pd.to_numeric(frame[pop_col], errors="coerce")
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
