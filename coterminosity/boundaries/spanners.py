"""Spanners: units of a layer (councils, CCGs, trusts, catchments) that fall in more than one footprint.

From an overlay of footprints on the layer, a unit spans footprints when it has a real (not
sliver) piece with a positive amount of the weight in two or more footprints. The most divided
come first: sorted by the share held by the largest piece, ascending.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..geo.layer import Layer, Population
from .metrics import pick_weight
from .overlay import WEIGHT_COLUMN, PairTable, overlay
from .result import weight_line


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


@dataclass
class Spanners:
    """Units of a layer in more than one footprint: ``table`` (one row per unit, most divided first),
    ``pieces`` (one row per unit and footprint) and the overlay they come from."""

    table: pd.DataFrame
    pieces: pd.DataFrame
    overlay: PairTable
    by: str
    layer: Layer
    footprints: Layer
    population: Population | None = None

    def header(self) -> list[str]:
        """What was found in what, the method and weights."""
        pop = self.population
        return [f"spanners: {self.layer.label} units in more than one {self.footprints.label} footprint",
                self.overlay.notes[0],
                weight_line(self.by, pop.label if pop is not None else None, pop.total if pop is not None else None),
                "sorted by the share in the largest piece, most divided first"] + self.overlay.notes[1:]

    def lines(self) -> list[str]:
        """How many units span footprints."""
        return [f"{len(self.table)} of {len(self.overlay.b_units)} {self.layer.label} units lie in more than one "
                f"{self.footprints.label} footprint"]

    def meta(self) -> dict:
        """The facts JSON carries beside the rows."""
        return {"layer": self.layer.label, "across": self.footprints.label, "by": self.by,
                "spanners": len(self.table), "units": len(self.overlay.b_units)}


def find_spanners(layer: Layer, footprints: Layer, population: Population | None = None, *, by: str | None = None,
                  **overlay_options) -> Spanners:
    """Units of ``layer`` in more than one of ``footprints``.

    Examples
    --------
    >>> import coterminosity as ct
    >>> found = ct.find_spanners(ct.load_layer("upper17"), ct.load_layer("stp17"))  # doctest: +SKIP
    >>> len(found.table)                                                          # doctest: +SKIP
    14
    """
    table = overlay(footprints, layer, population, **overlay_options)
    by = pick_weight(table, by)
    return Spanners(spanners(table, by), spanner_pieces(table, by), table, by, layer, footprints, population)
