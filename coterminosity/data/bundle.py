"""Build the England bundle from the published files: ``python -m coterminosity.data.bundle --from DIR``.

The bundle is what a fresh installation reads with no data folder (see :mod:`coterminosity.data`):

- ``lsoa11.parquet``: the 32,844 LSOA polygons exactly as the cache builds them from the ONS
  layer (repaired, snapped, coverage-cleaned), then put on a 1 m grid in EPSG:27700 with
  ``shapely.set_precision``; checked to stay a valid, edge-matched coverage whose dissolves are
  exact (GeoParquet, zstd);
- ``lsoa11_table.parquet``: per LSOA its name, 2011 district, area and a point inside it;
- ``members.parquet`` / ``units.parquet``: LSOA → unit code for every catalogue layer built from
  lookups, and unit code → name per layer (what the lookups give, checked as they are checked);
- ``population_lsoa11_mid2019.parquet`` and ``lsoa11_pwc_england.parquet``: mid-2019 counts with
  the age bands, and the population-weighted centroids with their distance outside the polygon;
- the trust catchment tables (only the columns read, and only the successor rows that concern
  the trusts in the share tables);
- ``layers/NAME.parquet``: a few catalogue layers dissolved ahead (see :data:`PREBUILT`);
- ``manifest.json``: each source file's SHA-256, the build version, files and row counts.

A rebuild from the same files is byte-identical: fixed row order, no timestamps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from . import BUNDLE_DIR, FORMAT, MANIFEST

log = logging.getLogger(__name__)

GRID_M = 1.0  # the coordinate grid of the shipped polygons (metres, EPSG:27700)
PREBUILT = ("stp17", "upper17", "lad17", "ccg17")  # dissolved ahead: the README's first command
TRUST_FILES = {  # dataset → the columns kept (all that the trust readers use)
    "trust22_catchment_shares_ltla21": ("TRUST22CD", "LTLA21CD", "SHARE"),
    "trust22_catchment_shares_icb22": ("TRUST22CD", "ICB22CD", "SHARE"),
    "trust22_points": ("TRUST22CD", "TRUST22NM", "STATUS", "lon", "lat"),
    "trust_catchment_population_2011_2021": ("YEAR", "TRUSTCD", "TRUSTNM", "POSTCODE", "CATCHMENT_POPULATION"),
    "trust_successors": ("OLD_CODE", "NEW_CODE", "DATE"),
}
POPULATION_COLUMNS = ("population", "age_0_15", "age_16_64", "age_65_plus")


class BundleError(Exception):
    """The published files cannot make a sound bundle (one line saying why)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    """A plain Parquet table, zstd, no pandas index, deterministic bytes."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    others = [f.name for f in table.schema if f.name not in floats]
    # Floats compress far better split by byte (and not dictionary-encoded).
    pq.write_table(table, path, compression="zstd", compression_level=19, use_dictionary=others or False,
                   use_byte_stream_split=floats or False)


def _write_geo(frame: gpd.GeoDataFrame, path: Path) -> None:
    """A GeoParquet file, zstd, no pandas index."""
    frame.to_parquet(path, index=False, compression="zstd", compression_level=19)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


# ---------------------------------------------------------------- the LSOA coverage


def _coverage(source: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The cleaned LSOA coverage (as the cache builds it) on the 1 m grid, checked, sorted by code."""
    from ..geo.smallareas import small_area_polygons

    polys, notes = small_area_polygons(source)
    notes = [n for n in notes if not n.startswith("data: ")]  # where the files were is not the bundle's business
    polys = polys.sort_values("code", kind="stable").reset_index(drop=True)
    before = shapely.area(polys.geometry.values)
    geoms = shapely.set_precision(polys.geometry.values, GRID_M, mode="valid_output")
    after = shapely.area(geoms)
    problems = []
    if (shapely.is_empty(geoms) | shapely.is_missing(geoms)).any():
        problems.append(f"{int(shapely.is_empty(geoms).sum())} polygons vanish")
    if not shapely.is_valid(geoms).all():
        problems.append(f"{int((~shapely.is_valid(geoms)).sum())} polygons are invalid")
    if not shapely.coverage_is_valid(geoms):
        problems.append("neighbours no longer share edges exactly")
    union = shapely.coverage_union_all(geoms)
    if abs(union.area - after.sum()) > 1e-6 * after.sum():
        problems.append(f"the union's area differs from the summed areas by {union.area - after.sum():.1f} m²")
    if problems:
        raise BundleError(f"rounding the LSOA coverage to a {GRID_M:g} m grid breaks it: {'; '.join(problems)}")
    change = np.abs(after - before)
    notes = [*notes, (
        f"lsoa11: coordinates rounded to a {GRID_M:g} m grid (shapely set_precision) for the bundle: the largest "
        f"change to one LSOA's area {change.max():,.0f} m² ({(change / before).max():.1e} of it), England's area "
        f"{after.sum() - before.sum():+,.0f} m²; still a valid coverage, so dissolves stay exact")]
    frame = gpd.GeoDataFrame(polys[["code", "name", "LAD11CD"]].copy(), geometry=geoms, crs=polys.crs)
    frame["area_m2"] = after
    return frame, notes


def _lsoa_table(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per LSOA: name, 2011 district, area and a point inside it (as the small-area table has)."""
    points = shapely.point_on_surface(frame.geometry.values)
    return pd.DataFrame({"code": frame["code"], "name": frame["name"], "LAD11CD": frame["LAD11CD"],
                         "area_m2": frame["area_m2"], "x": shapely.get_x(points), "y": shapely.get_y(points)})


# ---------------------------------------------------------------- memberships


def _memberships(source: Path, codes: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """LSOA → unit per catalogue layer (one column each), unit names, unit counts, and why a layer is missing."""
    from ..errors import CotermError
    from ..geo.catalogue import LAYERS
    from ..geo.lookups import named_membership

    columns: dict[str, pd.Series] = {"LSOA11CD": codes}
    names, counts, unavailable = [], {}, {}
    for name, recipe in LAYERS.items():
        if recipe.alias_of or recipe.how in ("small_areas", "file"):
            continue
        try:
            membership = named_membership(name, source)
        except CotermError as err:
            unavailable[name] = str(err).replace(f"{source}{os.sep}", "")
            continue
        unit = membership.members.set_index("small_code")["code"].reindex(codes.to_numpy())
        if unit.isna().any():
            raise BundleError(f"{name}: {int(unit.isna().sum())} LSOAs have no unit")
        columns[name] = pd.Categorical(unit.astype(str).to_numpy(), categories=sorted(unit.unique()))
        units = sorted(unit.unique())
        names.append(pd.DataFrame({"layer": name, "code": units,
                                   "name": [membership.names.get(c, c) for c in units]}))
        counts[name] = len(units)
    members = pd.DataFrame(columns)
    table = pd.concat(names, ignore_index=True)
    table["layer"] = pd.Categorical(table["layer"], categories=list(dict.fromkeys(table["layer"])))
    return members, table, counts, unavailable


def _prebuilt(frame: gpd.GeoDataFrame, members: pd.DataFrame, units: pd.DataFrame, name: str) -> gpd.GeoDataFrame:
    """Catalogue layer ``name`` dissolved from the bundle's own polygons, exactly as a cold start would."""
    from ..geo.build import dissolve_geometries

    unions = dissolve_geometries(frame.geometry.values, members[name].astype(str).to_numpy(), coverage=True)
    codes = sorted(unions)
    label = units[units["layer"] == name].set_index("code")["name"]
    out = gpd.GeoDataFrame({"code": codes, "name": label.reindex(codes).to_numpy()},
                           geometry=[unions[c] for c in codes], crs=frame.crs)
    area = members.assign(area=frame["area_m2"].to_numpy()).groupby(name, observed=True)["area"].sum()
    off = np.abs(out.geometry.area.to_numpy() - area.reindex(codes).to_numpy())
    if off.max() > 1e-3:
        raise BundleError(f"{name}: a dissolved unit's area differs from its LSOAs' by {off.max():.3f} m²")
    return out


# ---------------------------------------------------------------- tables


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _population(source: Path, codes: pd.Series) -> pd.DataFrame:
    from ..geo.catalogue import DATASETS, POPULATION

    raw = _read_csv(source / DATASETS[POPULATION].filename)
    frame = raw[["LSOA11CD", *POPULATION_COLUMNS]].set_index("LSOA11CD").reindex(codes.to_numpy())
    if frame.isna().any().any():
        raise BundleError(f"{DATASETS[POPULATION].filename}: {int(frame.isna().any(axis=1).sum())} LSOAs lack a row")
    return frame.astype("int64").rename_axis("LSOA11CD").reset_index()


def _centroids(source: Path, frame: gpd.GeoDataFrame) -> pd.DataFrame:
    from ..geo.catalogue import CENTROIDS, DATASETS

    raw = _read_csv(source / DATASETS[CENTROIDS].filename).set_index("LSOA11CD").reindex(frame["code"].to_numpy())
    if raw["easting"].isna().any():
        raise BundleError(f"{DATASETS[CENTROIDS].filename}: {int(raw['easting'].isna().sum())} LSOAs lack a centroid")
    x, y = raw["easting"].astype(float).to_numpy(), raw["northing"].astype(float).to_numpy()
    outside = shapely.distance(frame.geometry.values, shapely.points(x, y))
    return pd.DataFrame({"LSOA11CD": frame["code"].to_numpy(), "easting": x, "northing": y, "outside_m": outside})


def _trust_tables(source: Path) -> dict[str, pd.DataFrame]:
    """The trust tables with the columns read; successors cut to the rows about the catchment trusts."""
    from ..geo.catalogue import DATASETS

    tables = {}
    for name, cols in TRUST_FILES.items():
        raw = _read_csv(source / DATASETS[name].filename)
        missing = [c for c in cols if c not in raw.columns]
        if missing:
            raise BundleError(f"{DATASETS[name].filename}: no column {missing[0]!r}")
        tables[name] = raw[list(cols)]
    trusts = set(tables["trust22_catchment_shares_ltla21"]["TRUST22CD"]) | set(
        tables["trust22_catchment_shares_icb22"]["TRUST22CD"])
    succ = tables["trust_successors"]
    # Every predecessor of a catchment trust, however far back (the readers follow chains).
    while True:
        more = set(succ.loc[succ["NEW_CODE"].isin(trusts), "OLD_CODE"]) - trusts
        if not more:
            break
        trusts |= more
    tables["trust_successors"] = succ[succ["NEW_CODE"].isin(trusts) | succ["OLD_CODE"].isin(trusts)]
    return tables


# ---------------------------------------------------------------- the whole bundle


def build_bundle(source: str | os.PathLike, out: str | os.PathLike = BUNDLE_DIR) -> dict:
    """Build the bundle from the published files in ``source`` into ``out``; return the manifest.

    Everything is written to a temporary folder beside ``out`` and moved into place at the end.
    """
    from .. import __version__  # noqa: F401  (imported to fail early on a broken installation)
    from ..geo.cache import BUILD_VERSION
    from ..geo.catalogue import CENTROIDS, DATASETS, LAYERS, POPULATION

    source, out = Path(source).resolve(), Path(out)
    needed = ["lsoa11", POPULATION, CENTROIDS, *TRUST_FILES]
    for recipe in LAYERS.values():
        if recipe.how not in ("small_areas", "file") and not recipe.alias_of:
            needed += [n for n in recipe.sources if n not in needed]
    missing = [DATASETS[n].filename for n in needed if not (source / DATASETS[n].filename).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise BundleError(f"{source}: missing {len(missing)} of the {len(needed)} published files the bundle is built "
                          f"from ({shown}); point --from at the folder of published files")

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as err:
        raise BundleError(f"{out}: cannot write there ({err.strerror}); give another folder with -o") from None
    try:
        log.info("cleaning the LSOA coverage and rounding it to a %g m grid …", GRID_M)
        frame, notes = _coverage(source)
        log.info("reading the lookups of %d catalogue layers …", len(LAYERS))
        members, units, counts, unavailable = _memberships(source, frame["code"])
        files: dict[str, int] = {}

        def put(name: str, rows: int) -> None:
            files[name] = rows

        _write_geo(frame[["code", "geometry"]], work / "lsoa11.parquet")
        put("lsoa11.parquet", len(frame))
        _write_table(_lsoa_table(frame), work / "lsoa11_table.parquet")
        put("lsoa11_table.parquet", len(frame))
        _write_table(members, work / "members.parquet")
        put("members.parquet", len(members))
        _write_table(units, work / "units.parquet")
        put("units.parquet", len(units))
        _write_table(_population(source, frame["code"]), work / f"{POPULATION}.parquet")
        put(f"{POPULATION}.parquet", len(frame))
        _write_table(_centroids(source, frame), work / f"{CENTROIDS}.parquet")
        put(f"{CENTROIDS}.parquet", len(frame))
        for name, table in _trust_tables(source).items():
            _write_csv(table, work / f"{name}.csv")
            put(f"{name}.csv", len(table))
        (work / "layers").mkdir()
        for name in PREBUILT:
            log.info("dissolving %s ahead …", name)
            layer = _prebuilt(frame, members, units, name)
            _write_geo(layer, work / "layers" / f"{name}.parquet")
            put(f"layers/{name}.parquet", len(layer))

        datasets = {"lsoa11": "lsoa11.parquet", POPULATION: f"{POPULATION}.parquet",
                    CENTROIDS: f"{CENTROIDS}.parquet", **{n: f"{n}.csv" for n in TRUST_FILES}}
        for recipe in LAYERS.values():
            if recipe.name in counts:
                datasets.update({n: "members.parquet" for n in recipe.sources if n not in datasets})
        doc = {
            "format": FORMAT,
            "build_version": BUILD_VERSION,
            "grid_m": GRID_M,
            "crs": "EPSG:27700",
            "licence": "Open Government Licence v3.0",
            "attribution": [DATASETS["lsoa11"].attribution, DATASETS["trust22_points"].attribution,
                            DATASETS["trust_catchment_population_2011_2021"].attribution],
            "sources": {DATASETS[n].filename: {"dataset": n, "sha256": _sha256(source / DATASETS[n].filename),
                                               "bytes": (source / DATASETS[n].filename).stat().st_size}
                        for n in sorted(needed, key=lambda n: DATASETS[n].filename)},
            "datasets": dict(sorted(datasets.items())),
            "layers": counts,
            "prebuilt": list(PREBUILT),
            "unavailable": unavailable,
            "notes": notes,
            "files": {name: {"rows": rows, "sha256": _sha256(work / name), "bytes": (work / name).stat().st_size}
                      for name, rows in sorted(files.items())},
        }
        (work / MANIFEST).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
        os.chmod(out, 0o755)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return doc


def bundle_size(folder: str | os.PathLike = BUNDLE_DIR) -> int:
    """The bytes of every file in a bundle folder."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """``python -m coterminosity.data.bundle --from DIR [-o DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m coterminosity.data.bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", required=True, metavar="DIR",
                        help="the folder of published ONS/OHID/ODS files")
    parser.add_argument("-o", "--output", default=str(BUNDLE_DIR), metavar="DIR",
                        help="where to write the bundle (default: the package's own, %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        doc = build_bundle(args.source, args.output)
    except BundleError as err:
        log.error("bundle: error: %s", err)
        return 2
    size = bundle_size(args.output)
    log.info("wrote %s: %d files, %.2f MB; %d layers", args.output, len(doc["files"]) + 1, size / 1e6, len(doc["layers"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
