"""Spanners: units of a layer (councils, CCGs, trusts, catchments) that fall in more than one footprint.

From an overlay of footprints on the layer, a unit spans footprints when it has a real (not
sliver) piece with a positive amount of the weight in two or more footprints. The most divided
come first: sorted by the share held by the largest piece, ascending.
"""

from __future__ import annotations

import pandas as pd

from ..geo.layer import Layer, Population
from .metrics import pick_weight
from .overlay import WEIGHT_COLUMN, PairTable, overlay


def spanner_pieces(table: PairTable, by: str) -> pd.DataFrame:
    """Long form: one row per (spanning unit, footprint) with the amount and the unit's share in it.

    ``table`` is an overlay of footprints (A) on the unit layer (B).
    """
    by = pick_weight(table, by)
    col = WEIGHT_COLUMN[by]
    real = table.real()
    real = real[real[col] > 0]
    n = real.groupby("b_code")["a_code"].transform("nunique")
    long = real[n > 1]
    out = pd.DataFrame({
        "code": long["b_code"], "name": long["b_name"],
        "footprint": long["a_code"], "footprint_name": long["a_name"],
        col: long[col], "share": long[f"b_in_a_{by}"],
    })
    largest = out.groupby("code")["share"].transform("max")
    out = out.assign(_largest=largest).sort_values(["_largest", "code", "share"], ascending=[True, True, False])
    return out.drop(columns="_largest").reset_index(drop=True)


def spanners(table: PairTable, by: str) -> pd.DataFrame:
    """One row per unit in more than one footprint: total, footprints, largest share, shares in each."""
    col = WEIGHT_COLUMN[by]
    long = spanner_pieces(table, by)
    totals = table.b_units.set_index("code")[col]
    rows = []
    for code, group in long.groupby("code", sort=False):
        first = group.iloc[0]
        rows.append({
            "code": code, "name": first["name"], col: float(totals.loc[code]),
            "footprints": int(len(group)), "largest_share": float(first["share"]),
            "largest_in": first["footprint"],
            "outside_largest": float(totals.loc[code] - first[col]),
            "shares": "; ".join(f"{r.footprint} {r.footprint_name} {r.share:.1%}" for r in group.itertuples()),
        })
    columns = ["code", "name", col, "footprints", "largest_share", "largest_in", "outside_largest", "shares"]
    return pd.DataFrame(rows, columns=columns)


def find_spanners(layer: Layer, footprints: Layer, population: Population | None = None, *, by: str | None = None,
                  **overlay_options) -> tuple[pd.DataFrame, pd.DataFrame, PairTable, str]:
    """Units of ``layer`` in more than one of ``footprints``: (wide table, long table, overlay, weight)."""
    table = overlay(footprints, layer, population, **overlay_options)
    by = pick_weight(table, by)
    return spanners(table, by), spanner_pieces(table, by), table, by
