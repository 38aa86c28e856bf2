"""Catchments and containment: do footprints follow patient flows?

Inputs are an aggregated flow table (``origin`` small area, ``dest``, ``count``: see
:mod:`coterminosity.geo.flows`), the small-area :class:`Layer` the origins belong to, and a
footprint :class:`Layer`.

* **Home footprint** of each origin and destination: :mod:`.placement`.
* **Containment** per footprint: :mod:`.containment`.
* **Catchment** of a destination: the fewest small areas (most patients first) holding at least
  ``share`` of its patients, dissolved into a polygon; its proportional population is
  Σ population(area) × patients(dest, area) / patients(all destinations, area).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import CotermError
from ..geo.build import Membership, build_layer
from ..geo.layer import Layer
from ..geo.members import COUNT_COLUMN
from .containment import Containment, containment  # noqa: F401  (re-exported)
from .placement import OUTSIDE, destination_homes, origin_footprints, split_origins, weighted_flows  # noqa: F401

# ---------------------------------------------------------------- catchments


def catchment_selection(pairs: pd.DataFrame, share: float = 0.8) -> pd.DataFrame:
    """Per destination and small area: patients, share, cumulative share (most patients first,
    ties by code) and ``in_catchment``: the fewest areas holding ≥ ``share`` of its patients."""
    if not 0 < share <= 1:
        raise CotermError(f"catchment share {share} must be above 0 and at most 1")
    table = pairs[pairs["count"] > 0].sort_values(["dest", "count", "origin"], ascending=[True, False, True])
    table = table.rename(columns={"origin": "small_code", "count": "patients"}).reset_index(drop=True)
    total = table.groupby("dest")["patients"].transform("sum")
    table["share"] = table["patients"] / total
    cum = table.groupby("dest")["patients"].cumsum()
    before = cum - table["patients"]
    table["cum_share"] = cum / total
    # An area is in the catchment while the areas before it hold less than the share.
    table["in_catchment"] = before < share * total * (1 - 1e-12)
    return table[["dest", "small_code", "patients", "share", "cum_share", "in_catchment"]]


def proportional_population(pairs: pd.DataFrame, population: pd.Series) -> pd.Series:
    """Per destination: Σ over small areas of population × its patients there / all patients there."""
    all_dests = pairs.groupby("origin")["count"].transform("sum")
    pop = pairs["origin"].map(population).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(all_dests > 0, pop * pairs["count"] / all_dests, 0.0)
    return pd.Series(part, index=pairs.index).groupby(pairs["dest"]).sum()


def catchment_layer(pairs: pd.DataFrame, small: Layer, share: float = 0.8, *,
                    population: pd.Series | None = None, names: dict[str, str] | None = None,
                    label: str = "catchments") -> tuple[Layer, pd.DataFrame]:
    """Dissolve each destination's catchment small areas into a polygon Layer (members kept).

    Returns the Layer (frame: code, name, patients, catchment_patients, share_in_polygon,
    small_areas, catchment_population, polygon_population, geometry) and the selection table.
    """
    names = names or {}
    selection = catchment_selection(pairs, share)
    chosen = selection[selection["in_catchment"]]
    if chosen.empty:
        raise CotermError("no destination has any patients (every count is 0); nothing to draw a catchment from")
    unknown = set(chosen["small_code"]) - set(small.frame["code"])
    if unknown:
        raise CotermError(f"{len(unknown)} origin codes are not {small.label} small areas (e.g. {sorted(unknown)[0]}); "
                          "check the flows with check_origins first")
    membership = Membership(members=chosen[["small_code", "dest"]].rename(columns={"dest": "code"}).reset_index(drop=True),
                            names={c: names.get(c, c) for c in chosen["dest"].unique()})
    layer = build_layer(small, membership, label, coverage=small.members is not None)
    frame = layer.frame
    per = selection.groupby("dest").agg(patients=("patients", "sum"))
    inside = chosen.groupby("dest").agg(catchment_patients=("patients", "sum"), small_areas=("small_code", "count"))
    frame["patients"] = frame["code"].map(per["patients"]).astype(float)
    frame["catchment_patients"] = frame["code"].map(inside["catchment_patients"]).astype(float)
    frame["share_in_polygon"] = frame["catchment_patients"] / frame["patients"]
    if layer.small_areas != small.label:  # origins are unions (councils): count the finer small areas kept as members
        frame["origins"] = frame["code"].map(inside["small_areas"]).astype(int)
        frame[COUNT_COLUMN] = frame["code"].map(layer.members.groupby("code")["small_code"].size()).astype(int)
    else:
        frame[COUNT_COLUMN] = frame["code"].map(inside["small_areas"]).astype(int)
    if population is not None:
        frame["catchment_population"] = frame["code"].map(proportional_population(pairs, population)).astype(float)
        polygon = chosen.assign(pop=chosen["small_code"].map(population).fillna(0.0)).groupby("dest")["pop"].sum()
        frame["polygon_population"] = frame["code"].map(polygon).astype(float)
    empty = sorted(set(pairs["dest"]) - set(frame["code"]))
    if empty:
        layer.notes.append(f"{len(empty)} destinations have no patients and no catchment (e.g. {', '.join(empty[:5])})")
    layer.notes.append(f"catchment: the fewest {small.label} small areas (most patients first) holding ≥ {share:.0%} "
                       "of each destination's patients, dissolved; catchments of different destinations overlap")
    return layer, selection
