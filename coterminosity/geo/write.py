"""Write a layer to a file safely: a temporary folder beside the target, then a rename.

What is already at the path is treated as :mod:`coterminosity.geo.io` describes (symlinks
followed, devices and pipes written into, mode and owner kept). A Shapefile is several files:
the old parts are moved aside first and put back if the new ones cannot all be moved in, and
the old spatial indexes of the same name (``.qix``, ``.sbn``, ``.sbx``), which would describe
the old shapes, are removed.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pyogrio

from ..errors import CotermError
from .io import TEMP_SUFFIX, check_target, install, is_special, resolve_output, sweep_stale, temp_prefix

log = logging.getLogger(__name__)

DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SHAPEFILE_STALE = (".qix", ".sbn", ".sbx", ".shp.xml", ".aih", ".ain", ".fix", ".atx")
MAX_MESSAGE = 200  # characters of a writer's message shown (a GeoPackage error can quote its whole schema)


def check_output_path(path: str | os.PathLike) -> Path:
    """Refuse an output path that cannot be written before any work is done (one-line error)."""
    target, st = resolve_output(path)
    check_target(target, st)
    if is_special(st):
        return target
    folder = target.parent if str(target.parent) else Path(".")
    if not os.access(folder, os.W_OK):
        raise CotermError(f"{target}: folder {folder} is not writable; choose another output path")
    return target


def _short(err: Exception) -> str:
    first = (str(err).splitlines() or [""])[0]
    return first if len(first) <= MAX_MESSAGE else first[: MAX_MESSAGE - 1] + "…"


def _swap_shapefile(tmp: Path, target: Path, backup: Path) -> None:
    """Move the old parts (and stale indexes) of ``target`` aside, the new parts in; undo on failure."""
    old = [target.with_name(target.stem + part) for part in SHAPEFILE_PARTS + SHAPEFILE_STALE]
    moved: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    backup.mkdir()
    try:
        for part in old:
            if part.exists() or part.is_symlink():
                keep = backup / part.name
                os.replace(part, keep)
                moved.append((keep, part))
        for part in SHAPEFILE_PARTS:
            piece = tmp.with_suffix(part)
            if piece.exists():
                os.replace(piece, target.with_suffix(part))
                placed.append(target.with_suffix(part))
    except BaseException:
        for part in placed:
            part.unlink(missing_ok=True)
        for keep, part in moved:
            os.replace(keep, part)
        raise
    stale = [p.name for _, p in moved if not any(p.name.endswith(s) for s in SHAPEFILE_PARTS)]
    if stale:
        log.info("removed %s: spatial index of the old %s", ", ".join(stale), target.name)


def write_layer(frame: gpd.GeoDataFrame, path: str | os.PathLike, *, layer_name: str | None = None) -> Path:
    """Write ``frame`` to ``path`` (format from the extension; GeoJSON in EPSG:4326, the others in
    the frame's CRS), as one layer named ``layer_name`` (default: the file's stem); never leaves a
    partial file."""
    given = Path(path)
    suffix = given.suffix.lower()
    if suffix not in DRIVERS and suffix not in (".parquet", ".geoparquet"):
        raise CotermError(f"{given}: unknown output format; use .gpkg, .geojson, .parquet or .shp")
    target, st = resolve_output(given)
    check_target(target, st)
    if suffix == ".shp" and is_special(st):
        raise CotermError(f"{given}: a Shapefile is several files and cannot go to a device or pipe; "
                          "write .gpkg or .geojson there")
    folder = target.parent if str(target.parent) else Path(".")
    sweep_stale(target)
    try:
        tmpdir = Path(tempfile.mkdtemp(prefix=temp_prefix(target), suffix=TEMP_SUFFIX, dir=folder))
    except OSError as err:
        raise CotermError(f"{given}: cannot write there ({err.strerror}); choose another output path") from None
    try:
        tmp = tmpdir / f"layer{suffix}"  # a short name: the writer adds its own (journal, parts) beside it
        out = frame.to_crs("EPSG:4326") if suffix in (".geojson", ".json") else frame
        if suffix in (".parquet", ".geoparquet"):
            out.to_parquet(tmp)
        else:
            options = {"layer": layer_name or given.stem} if suffix == ".gpkg" else {}
            out.to_file(tmp, driver=DRIVERS[suffix], engine="pyogrio", **options)
        if suffix == ".shp":
            _swap_shapefile(tmp, target, tmpdir / "old")
        else:
            install(tmp, target, st)
    except OSError as err:
        raise CotermError(f"{given}: cannot write ({err.strerror or _short(err)}); choose another output path") from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as err:
        raise CotermError(f"{given}: cannot write ({_short(err)}); choose another output path") from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return given
