"""Read any boundary file into a :class:`Layer`: projected, checked, repaired, with code and name."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ..errors import InputError
from .crs import to_bng
from .layer import Layer
from .validity import repair_polygons

# ONS column conventions: LAD17CD/LAD17NM, stp17cd/stp17nm, ctyua17cd, ccg17cd, LSOA11CD, ...
ONS_CODE = re.compile(r"^([a-z]+)(\d{2})(cd)$", re.IGNORECASE)
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")
POLYGONAL = {"Polygon", "MultiPolygon"}
TEXT_SUFFIXES = (".csv", ".geojson", ".json", ".topojson")


def check_path(path: str | Path) -> Path:
    """A readable, non-empty file, or a one-line error saying what is wrong with it."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir():
        if p.suffix.lower() == ".gdb":
            return p
        raise InputError(f"{p}: is a folder, not a file; give the boundary file itself")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: file is empty (0 bytes); re-download or re-export it")
    return p


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """Read a CSV as text columns where it matters, falling back to Latin-1 for legacy exports."""
    try:
        return pd.read_csv(path, **kwargs)
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="latin-1", **kwargs)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: no rows; the file is empty") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError(f"{path}: not a readable CSV ({str(err).splitlines()[0]})") from None


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet table (codes kept as text); one-line error when it cannot be read."""
    p = check_path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(p, columns=columns)
        except Exception as err:  # pyarrow raises many types
            raise InputError(f"{p}: not a readable Parquet file ({str(err).splitlines()[0]})") from None
    frame = _read_csv(p, dtype=str, keep_default_na=False, na_values=[""], usecols=columns, skip_blank_lines=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    # Blank lines are dropped but the index keeps each row's place, so row_names() can name file lines.
    return frame[frame.notna().any(axis=1)] if len(frame) else frame


def row_numbers(path: str | Path, frame: pd.DataFrame) -> tuple[str, np.ndarray]:
    """How to name the rows of a table read by :func:`read_table`: ("line", file line numbers)
    for a CSV (header = line 1, blank lines counted), ("row", 1-based numbers) for Parquet."""
    index = np.asarray(frame.index, dtype=int)
    if Path(path).suffix.lower() in (".parquet", ".pq"):
        return "row", index + 1
    return "line", index + 2


def row_names(path: str | Path, frame: pd.DataFrame, positions) -> list[str]:
    """"line N" / "row N" for the rows at ``positions`` (see :func:`row_numbers`)."""
    word, numbers = row_numbers(path, frame)
    return [f"{word} {n}" for n in numbers[np.asarray(positions, dtype=int)]]


def _csv_geometry(frame: pd.DataFrame, path: Path) -> gpd.GeoDataFrame:
    """Geometry from a CSV: a WKT column, or x/y (easting/northing or lon/lat) columns as points."""
    lower = {c.lower(): c for c in frame.columns}
    for name in WKT_COLUMNS:
        if name in lower:
            col = lower[name]
            geoms = shapely.from_wkt(frame[col].fillna("").astype(str).replace("", None), on_invalid="ignore")
            bad = np.flatnonzero(shapely.is_missing(geoms) & frame[col].notna().to_numpy())
            if len(bad):
                raise InputError(f"{path}: row {bad[0] + 2}: column {col!r} is not valid WKT; fix or remove that row")
            return gpd.GeoDataFrame(frame.drop(columns=[col]), geometry=geoms, crs=None)
    for xname, yname in (("easting", "northing"), ("x", "y"), ("lon", "lat"), ("longitude", "latitude"), ("lng", "lat")):
        if xname in lower and yname in lower:
            xs = pd.to_numeric(frame[lower[xname]], errors="coerce")
            ys = pd.to_numeric(frame[lower[yname]], errors="coerce")
            bad = np.flatnonzero((xs.isna() | ys.isna()).to_numpy())
            if len(bad):
                raise InputError(f"{path}: row {bad[0] + 2}: {lower[xname]}/{lower[yname]} is not a number; fix that row")
            crs = "EPSG:27700" if xname in ("easting",) else ("EPSG:4326" if xname in ("lon", "longitude", "lng") else None)
            return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(xs, ys), crs=crs)
    raise InputError(
        f"{path}: no geometry columns; a CSV needs a WKT column (wkt/geometry) or easting/northing, x/y or lon/lat columns"
    )


def read_frame(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, TopoJSON, GeoPackage, Shapefile, zipped Shapefile, GeoParquet, CSV)."""
    p = check_path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return _csv_geometry(_read_csv(p, dtype=str, keep_default_na=False, na_values=[""]), p)
    if suffix in (".parquet", ".geoparquet"):
        try:
            return gpd.read_parquet(p)
        except Exception as err:
            raise InputError(f"{p}: not a readable GeoParquet file ({str(err).splitlines()[0]})") from None
    if suffix == ".zip" and not zipfile.is_zipfile(p):
        raise InputError(f"{p}: not a valid zip archive (corrupt or truncated); re-download it")
    layer = layer or choose_layer(p)[0]
    kwargs = {"layer": layer} if layer else {}
    try:
        with warnings.catch_warnings():  # NaN coordinates warn here; check_polygons reports them in one line
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.filterwarnings("ignore", "More than one layer found", UserWarning)  # choose_layer says it
            return gpd.read_file(p, engine="pyogrio", **kwargs)
    except UnicodeDecodeError:
        return gpd.read_file(p, engine="pyogrio", encoding="latin-1", **kwargs)
    except pyogrio.errors.DataLayerError as err:
        raise InputError(f"{p}: {str(err).splitlines()[0]}; name the layer to read with --layer") from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as err:
        raise InputError(f"{p}: not a readable boundary file ({str(err).splitlines()[0]})") from None
    except ValueError as err:
        raise InputError(f"{p}: not a readable boundary file ({str(err).splitlines()[0]})") from None


def choose_layer(path: Path) -> tuple[str | None, list[str]]:
    """The layer to read in a file holding several (the first polygon layer) and a note naming them
    all; (None, []) for a file of one layer."""
    if path.suffix.lower() in (".csv", ".parquet", ".geoparquet"):
        return None, []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layers = [(str(name), str(kind)) for name, kind in pyogrio.list_layers(path)]
    except Exception:  # unreadable files are reported by the reader itself
        return None, []
    if len(layers) < 2:
        return None, []
    polygonal = [name for name, kind in layers if "polygon" in kind.lower()]
    chosen = polygonal[0] if polygonal else layers[0][0]
    why = {0: "the first", 1: "the only polygon layer"}.get(len(polygonal), "the first polygon layer")
    listed = ", ".join(name for name, _ in layers[:8]) + (", …" if len(layers) > 8 else "")
    return chosen, [f"{path}: holds {len(layers)} layers ({listed}); read {chosen!r} ({why}); name another with --layer"]


def encoding_note(path: Path) -> list[str]:
    """A note when a text boundary file is not UTF-8: its text is then read as Latin-1."""
    if path.suffix.lower() not in TEXT_SUFFIXES or not path.is_file():
        return []
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        return [f"{path}: not UTF-8 (first bad byte at offset {err.start:,}); text read as Latin-1, check the names"]
    return []


def detect_code_column(columns: list[str]) -> str | None:
    """The ONS-style code column (``lad17cd``, ``STP17CD``, ``ctyua17cd``), else ``code``/``id``."""
    ons = [c for c in columns if ONS_CODE.match(str(c))]
    if ons:
        return ons[0]
    lower = {str(c).lower(): c for c in columns}
    for name in ("code", "id", "gss_code", "objectid"):
        if name in lower:
            return lower[name]
    return None


def detect_name_column(columns: list[str], code_col: str) -> str | None:
    """The name column matching the code column (``LAD17CD`` → ``LAD17NM``), else ``name``."""
    m = ONS_CODE.match(str(code_col))
    lower = {str(c).lower(): c for c in columns}
    if m:
        wanted = f"{m.group(1)}{m.group(2)}nm".lower()
        if wanted in lower:
            return lower[wanted]
    for name in ("name", "label", "title"):
        if name in lower:
            return lower[name]
    return None


def _check_codes(frame: gpd.GeoDataFrame, col: str, where: str) -> pd.Series:
    codes = frame[col]
    missing = np.flatnonzero(codes.isna().to_numpy() | (codes.astype(str).str.strip() == "").to_numpy())
    if len(missing):
        raise InputError(f"{where}: feature {missing[0] + 1} has no {col}; every unit needs a code")
    codes = codes.astype(str).str.strip()
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        rows = [int(i) + 1 for i in np.flatnonzero((codes == first).to_numpy())]
        raise InputError(
            f"{where}: code {first!r} appears {len(rows)} times (features {', '.join(map(str, rows[:5]))}); "
            f"codes must be unique ({dup.nunique()} duplicated)"
        )
    return codes


def check_polygons(frame: gpd.GeoDataFrame, where: str) -> None:
    """Polygons only, no empty or missing shapes: else name the first offending feature."""
    if len(frame) == 0:
        raise InputError(f"{where}: no features; the layer is empty")
    types = frame.geom_type
    missing = np.flatnonzero(frame.geometry.isna().to_numpy() | frame.geometry.is_empty.to_numpy())
    if len(missing):
        raise InputError(
            f"{where}: feature {missing[0] + 1} has empty geometry ({len(missing)} such); remove or redraw them"
        )
    wrong = types[~types.isin(POLYGONAL)]
    if len(wrong):
        kinds = ", ".join(f"{n} {t}" for t, n in wrong.value_counts().items())
        raise InputError(
            f"{where}: expected polygons but found {kinds} (first: feature {int(np.flatnonzero(~types.isin(POLYGONAL))[0]) + 1}); "
            "give a polygon boundary layer"
        )
    geoms = frame.geometry.values
    coords = shapely.get_coordinates(geoms)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        owner = np.repeat(np.arange(len(frame)), shapely.get_num_coordinates(geoms))[bad]
        raise InputError(f"{where}: feature {owner[0] + 1} has coordinates that are not numbers (NaN or infinity; "
                         f"{len(np.unique(owner))} such features); fix or remove them")


OVERLAP_M2 = 1.0  # overlaps between units of one layer smaller than this (or than OVERLAP_SHARE) are noise
OVERLAP_SHARE = 0.001
OVERLAP_CHECK_UNITS = 5_000


def overlap_notes(geoms: np.ndarray, codes: pd.Series, where: str) -> list[str]:
    """A note when units of one layer overlap each other (beyond digitising noise): a place in two
    units is counted in both. Layers of more than :data:`OVERLAP_CHECK_UNITS` units (small-area
    layers, ~10 s for the 32,844 LSOAs) are not checked."""
    if len(geoms) > OVERLAP_CHECK_UNITS:
        return []
    tree = shapely.STRtree(geoms)
    # Interiors meeting: overlapping, or one inside the other (neighbours that only touch are neither).
    pairs = np.hstack([tree.query(geoms, predicate="overlaps"), tree.query(geoms, predicate="contains")])
    pairs = np.unique(np.sort(pairs, axis=0), axis=1)
    left, right = pairs[0], pairs[1]
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    real = np.flatnonzero((shared > OVERLAP_M2) & (shared > OVERLAP_SHARE * smaller))
    if not len(real):
        return []
    worst = real[np.argmax(shared[real])]
    i, j = left[worst], right[worst]
    return [f"{where}: {len(real)} pairs of units overlap each other (largest: {codes.iloc[i]!r} and "
            f"{codes.iloc[j]!r}, {shared[worst]:,.0f} m², {shared[worst] / smaller[worst]:.1%} of the smaller); "
            "what lies in both is counted in both"]


def read_layer(
    path: str | Path,
    *,
    code_col: str | None = None,
    name_col: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
    label: str | None = None,
) -> Layer:
    """Read a polygon boundary file into a :class:`Layer` in EPSG:27700.

    Detects ONS code/name columns unless given, requires unique codes and polygon geometry,
    repairs invalid shapes (counted in ``notes``), and checks the CRS is plausible.
    """
    p = Path(path)
    where = str(p)
    frame = read_frame(p, layer=layer)
    if len(frame) == 0:
        raise InputError(f"{where}: no features; the layer is empty")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    code_col = code_col or detect_code_column(columns)
    if code_col is None or code_col not in frame.columns:
        hint = f"column {code_col!r} not found" if code_col else "no code column found"
        raise InputError(f"{where}: {hint}; name it with --code-col (columns: {', '.join(map(str, columns[:12]))})")
    if name_col and name_col not in frame.columns:
        raise InputError(f"{where}: column {name_col!r} not found; name it with --name-col (columns: {', '.join(map(str, columns[:12]))})")
    name_col = name_col or detect_name_column(columns, code_col)
    check_polygons(frame, where)
    codes = _check_codes(frame, code_col, where)
    frame, notes = to_bng(frame, where, crs=crs, suffix=p.suffix)
    notes = encoding_note(p) + ([] if layer else choose_layer(p)[1]) + notes
    geoms, repair = repair_polygons(frame.geometry.values)
    collapsed = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(collapsed):
        raise InputError(f"{where}: feature {collapsed[0] + 1} (code {codes.iloc[collapsed[0]]!r}) has no area once "
                         f"repaired (zero-area or under 1 cm; {len(collapsed)} such); remove or redraw it")
    notes += [f"{where}: {n}" for n in repair.describe()]
    notes += overlap_notes(geoms, codes, where)
    names = frame[name_col].astype(str) if name_col else codes
    extra = frame.drop(columns=[c for c in (code_col, name_col, frame.geometry.name) if c])
    extra = extra.drop(columns=[c for c in extra.columns if c in ("code", "name")])
    out = gpd.GeoDataFrame(
        {"code": codes.to_numpy(), "name": names.to_numpy(), **{c: extra[c].to_numpy() for c in extra.columns}},
        geometry=geoms,
        crs=frame.crs,
    )
    return Layer(out, label=label or p.stem, notes=notes, source=where)
