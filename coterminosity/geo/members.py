"""Small-area membership carried inside a layer file, so a file read back overlays exactly.

A layer written by ``coterm catchments`` has a text column ``small_area_codes`` holding, per
unit, ``"lsoa11:E01000001,E01000002,…"`` and a count column ``small_areas``. Reading such a file
through :func:`attach_members` restores :attr:`Layer.members`, so overlays with the catalogue
layers take the exact membership path instead of geometry.
"""

from __future__ import annotations

import pandas as pd
import shapely

from ..errors import CotermError
from .layer import Layer
from .smallareas import small_area_table

MEMBERS_COLUMN = "small_area_codes"
COUNT_COLUMN = "small_areas"
SUPPORTED = ("lsoa11",)
AREA_TOLERANCE = 0.02  # listed small areas may add up to ±2% of the drawn unit (generalised outlines)


def attach_members(layer: Layer, data_dir=None) -> Layer:
    """Restore ``members`` from a ``small_area_codes`` column when every code checks out; else a note."""
    frame = layer.frame
    if MEMBERS_COLUMN not in frame.columns or layer.members is not None:
        return layer
    values = frame[MEMBERS_COLUMN].fillna("").astype(str)
    parts = values.str.split(":", n=1)
    kinds = set(parts.str[0])
    layer.frame = frame.drop(columns=[MEMBERS_COLUMN])
    if len(kinds) != 1 or next(iter(kinds)) not in SUPPORTED:
        layer.notes.append(f"{layer.source}: column {MEMBERS_COLUMN} names small areas {sorted(kinds)} this tool cannot "
                           "read back; overlays use geometry")
        return layer
    kind = next(iter(kinds))
    members = pd.DataFrame({"code": frame["code"].to_numpy(), "small_code": parts.str[1].str.split(",").to_numpy()})
    members = members.explode("small_code")
    members = members[members["small_code"].notna() & (members["small_code"] != "")]
    table = small_area_table(data_dir)
    unknown = ~members["small_code"].isin(set(table["code"]))
    counts = members.groupby("code")["small_code"].count()
    if COUNT_COLUMN in frame.columns:
        expected = pd.to_numeric(frame.set_index("code")[COUNT_COLUMN], errors="coerce")
        short = (counts.reindex(expected.index).fillna(0) != expected).sum()
    else:
        short = 0
    if unknown.any() or short:
        layer.notes.append(f"{layer.source}: column {MEMBERS_COLUMN} does not list whole {kind} memberships "
                           f"({int(unknown.sum())} unknown codes, {int(short)} units with a different count than "
                           f"{COUNT_COLUMN}; a Shapefile cuts long text); overlays use geometry")
        return layer
    disagree = _geometry_disagreements(layer, members, table)
    if disagree:
        layer.notes.append(f"{layer.source}: column {MEMBERS_COLUMN} disagrees with the geometry ({disagree}); "
                           "overlays use geometry")
        return layer
    layer.members = members[["small_code", "code"]].reset_index(drop=True)
    layer.small_areas = kind
    layer.blocks = table
    layer.notes.append(f"{layer.source}: {kind} membership read from column {MEMBERS_COLUMN} "
                       f"({len(layer.members):,} small areas): overlays with catalogue layers are exact")
    return layer


def _area(m2: float) -> str:
    return f"{m2 / 1e6:,.2f} km²" if m2 >= 1e6 else f"{m2:,.0f} m²"


def _geometry_disagreements(layer: Layer, members: pd.DataFrame, table: pd.DataFrame) -> str:
    """What in a membership column contradicts the drawn units ('' when nothing): each unit's listed
    small areas must have their points inside it and add up to its area (within :data:`AREA_TOLERANCE`)."""
    frame = layer.frame.set_index("code")
    small = table.set_index("code")
    geoms = frame.geometry.reindex(members["code"]).to_numpy()
    xs = small["x"].reindex(members["small_code"]).to_numpy(dtype=float)
    ys = small["y"].reindex(members["small_code"]).to_numpy(dtype=float)
    outside = members.loc[~shapely.contains_xy(geoms, xs, ys), "code"]
    listed = small["area_m2"].reindex(members["small_code"]).groupby(members["code"].to_numpy()).sum()
    drawn = frame.geometry.area
    listed = listed.reindex(drawn.index).fillna(0.0)
    off = drawn.index[(listed - drawn).abs() > AREA_TOLERANCE * drawn]
    problems = []
    if len(outside):
        first = outside.iloc[0]
        problems.append(f"{len(outside):,} listed small areas lie outside their unit, e.g. {int((outside == first).sum())} "
                        f"of {first!r}'s")
    if len(off):
        first = off[0]
        problems.append(f"{len(off):,} units whose listed small areas add up to another area, e.g. {first!r}: "
                        f"{_area(listed[first])} listed, {_area(drawn[first])} drawn")
    return "; ".join(problems)


def members_column(layer: Layer) -> pd.Series:
    """Per unit, its small areas as one text value ``"<small_areas>:code,code,…"`` (for writing files)."""
    if layer.members is None or not layer.small_areas:
        raise CotermError(f"layer {layer.label} has no small-area membership to write")
    joined = layer.members.groupby("code")["small_code"].apply(lambda s: ",".join(sorted(s)))
    return layer.frame["code"].map(lambda c: f"{layer.small_areas}:{joined.get(c, '')}")
