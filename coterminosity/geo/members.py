"""Small-area membership carried inside a layer file, so a file read back overlays exactly.

A layer written by ``coterm catchments`` has a text column ``small_area_codes`` holding, per
unit, ``"lsoa11:E01000001,E01000002,…"`` and a count column ``small_areas``. Reading such a file
through :func:`attach_members` restores :attr:`Layer.members`, so overlays with the catalogue
layers take the exact membership path instead of geometry.
"""

from __future__ import annotations

import pandas as pd

from ..errors import CotermError
from .layer import Layer
from .smallareas import small_area_table

MEMBERS_COLUMN = "small_area_codes"
COUNT_COLUMN = "small_areas"
SUPPORTED = ("lsoa11",)


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
    layer.members = members[["small_code", "code"]].reset_index(drop=True)
    layer.small_areas = kind
    layer.blocks = table
    layer.notes.append(f"{layer.source}: {kind} membership read from column {MEMBERS_COLUMN} "
                       f"({len(layer.members):,} small areas): overlays with catalogue layers are exact")
    return layer


def members_column(layer: Layer) -> pd.Series:
    """Per unit, its small areas as one text value ``"<small_areas>:code,code,…"`` (for writing files)."""
    if layer.members is None or not layer.small_areas:
        raise CotermError(f"layer {layer.label} has no small-area membership to write")
    joined = layer.members.groupby("code")["small_code"].apply(lambda s: ",".join(sorted(s)))
    return layer.frame["code"].map(lambda c: f"{layer.small_areas}:{joined.get(c, '')}")
