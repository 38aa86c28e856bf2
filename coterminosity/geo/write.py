"""Write a layer to a file atomically: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pyogrio

from ..errors import CotermError

DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def check_output_path(path: str | os.PathLike) -> Path:
    """Refuse an output path that cannot be written before any work is done (one-line error)."""
    target = Path(path)
    if target.is_dir():
        raise CotermError(f"{target}: is a folder; give a file name for the output")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CotermError(f"{target}: folder {folder} does not exist; create it or choose another output path")
    if not os.access(folder, os.W_OK):
        raise CotermError(f"{target}: folder {folder} is not writable; choose another output path")
    return target


def write_layer(frame: gpd.GeoDataFrame, path: str | os.PathLike, *, layer_name: str | None = None) -> Path:
    """Write ``frame`` to ``path`` (format from the extension; GeoJSON in EPSG:4326, the others in
    the frame's CRS), as one layer named ``layer_name`` (default: the file's stem); never leaves a
    partial file."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in DRIVERS and suffix not in (".parquet", ".geoparquet"):
        raise CotermError(f"{target}: unknown output format; use .gpkg, .geojson, .parquet or .shp")
    if target.is_dir():
        raise CotermError(f"{target}: is a folder; give a file name for the output")
    folder = target.parent
    if not folder.is_dir():
        raise CotermError(f"{target}: folder {folder} does not exist; create it or choose another output path")
    try:
        tmpdir = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", dir=folder))
    except OSError as err:
        raise CotermError(f"{target}: cannot write there ({err.strerror}); choose another output path") from None
    try:
        tmp = tmpdir / target.name
        out = frame.to_crs("EPSG:4326") if suffix in (".geojson", ".json") else frame
        if suffix in (".parquet", ".geoparquet"):
            out.to_parquet(tmp)
        else:
            options = {"layer": layer_name or target.stem} if suffix == ".gpkg" else {}
            out.to_file(tmp, driver=DRIVERS[suffix], engine="pyogrio", **options)
        if suffix == ".shp":
            for part in SHAPEFILE_PARTS:
                piece = tmp.with_suffix(part)
                if piece.exists():
                    os.replace(piece, target.with_suffix(part))
        else:
            os.replace(tmp, target)
    except OSError as err:
        raise CotermError(f"{target}: cannot write ({err.strerror or err}); choose another output path") from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as err:
        raise CotermError(f"{target}: cannot write ({str(err).splitlines()[0]}); choose another output path") from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return target
