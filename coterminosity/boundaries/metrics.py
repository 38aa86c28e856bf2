"""Per-unit classes and layer-wide scores from a :class:`PairTable`.

For unit A against layer B, with weight w (population, area or count of small areas) and
threshold t (default 0.98), and for each pair p = share of A in B, q = share of B in A:

* ``coterminous`` – some B has p ≥ t and q ≥ t (the same place);
* ``nested``      – some B has p ≥ t (A lies inside one B);
* ``contains``    – every B that A touches lies ≥ t inside A (A is a union of whole Bs);
* ``partial``     – none of the above, but A's shortfall lies outside layer B altogether
  (coastline generalisation, gaps), not in other B units;
* ``split``       – otherwise;
* ``uncovered``   – A overlaps no B unit at all.

Pairs where both p and q are ≤ 1 − t are fringes below the threshold and do not change a
class (they still count in ``wrong_side``).

``wrong_side`` of A: for every B that A's boundary cuts (B partly inside A, partly outside),
the smaller of B's part inside A and B's part outside A — what would have to change side for
A to follow B's lines. A B that holds A whole (A lies ≥ t inside B) counts zero: A is nested in
it and nobody in A is on the wrong side of B's line.

``outside_main`` of a layer B: for every B unit, its amount in A units other than the one holding
most of it (its main footprint), summed — the people who live in a council outside that council's main
footprint. Each person counts once, unlike a sum of ``wrong_side`` over footprints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import CotermError
from .overlay import WEIGHT_COLUMN, PairTable

CLASSES = ("coterminous", "nested", "contains", "partial", "split", "uncovered")
CLEAN = ("coterminous", "nested", "contains")
DEFAULT_THRESHOLD = 0.98


def pick_weight(table: PairTable, by: str | None) -> str:
    """The weight to measure by: the one asked for, else population when known, else area."""
    if by is None:
        return "population" if "population" in table.weights else "area"
    if by not in table.weights:
        hint = " (add --population)" if by == "population" else ""
        raise CotermError(f"cannot weight by {by}: this overlay has {', '.join(table.weights)}{hint}")
    return by


def _in_order(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs sorted by codes, so every sum over them runs in the same order whatever order the
    layers were built in (float sums depend on it)."""
    return pairs.sort_values(["a_code", "b_code"], kind="stable")


def largest_pieces(table: PairTable, by: str) -> pd.DataFrame:
    """Every B unit with its largest piece: the A unit holding most of it (``largest_in``), that
    share, the number of pieces, and the amount outside it (``outside_largest``). B units that
    overlap no A unit have no row."""
    col = WEIGHT_COLUMN[by]
    real = _in_order(table.real())
    real = real[real[col] > 0]
    share = f"b_in_a_{by}"
    best = real.sort_values(share, ascending=False).drop_duplicates("b_code").set_index("b_code")
    units = table.b_units.set_index("code")
    out = pd.DataFrame({
        "code": best.index,
        "name": units.loc[best.index, "name"].to_numpy(),
        col: units.loc[best.index, col].to_numpy(),
        "pieces": real.groupby("b_code").size().reindex(best.index).to_numpy(),
        "largest_share": best[share].to_numpy(),
        "largest_in": best["a_code"].to_numpy(),
    })
    out["in_others"] = real.groupby("b_code")[share].sum().reindex(best.index).to_numpy() - out["largest_share"]
    out["outside_largest"] = out[col] - best[col].to_numpy()
    out["largest_in_name"] = best["a_name"].to_numpy()
    return out.sort_values(["largest_share", "code"]).reset_index(drop=True)


def split_units(table: PairTable, by: str, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """B units divided between A units: no A holds ≥ t of them and more than 1 − t lies in A units
    other than the largest (a B merely lying partly outside layer A is not split). Most divided first."""
    out = largest_pieces(table, by)
    out = out[(out["largest_share"] < threshold) & (out["in_others"] > 1 - threshold)]
    return out.drop(columns=["in_others", "largest_in_name"]).reset_index(drop=True)


def classify(table: PairTable, by: str | None = None, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """One row per A unit: class, units of B touched and split, best match, wrong-side amount.

    ``wrong_side`` sums, over every B that A cuts, the smaller of B's part inside A and B's part
    outside A (zero for a B holding A whole); see the module docstring.
    """
    by = pick_weight(table, by)
    col = WEIGHT_COLUMN[by]
    p, q = f"a_in_b_{by}", f"b_in_a_{by}"
    real = _in_order(table.real())
    real = real[real[col] > 0].copy()
    # astype: with no pairs left (layers meeting only in slivers) map() gives an empty text Series
    b_total = real["b_code"].map(table.b_units.set_index("code")[col]).astype(float)
    real["wrong"] = np.minimum(real[col], b_total - real[col]).clip(lower=0)
    real.loc[real[p] >= threshold, "wrong"] = 0.0  # A nested in B: B's line does not cut A
    divided = set(split_units(table, by, threshold)["code"])
    real["b_split"] = real["b_code"].isin(divided)
    real["fringe"] = (real[p] <= 1 - threshold) & (real[q] <= 1 - threshold)
    real["coterminous"] = (real[p] >= threshold) & (real[q] >= threshold)
    real["whole_b"] = real[q] >= threshold

    rows = []
    by_a = dict(tuple(real.groupby("a_code", sort=False)))
    for unit in table.a_units.itertuples(index=False):
        pairs = by_a.get(unit.code)
        total = getattr(unit, col)
        if pairs is None or pairs.empty:
            rows.append({"code": unit.code, "name": unit.name, col: total, "class": "uncovered", "touches": 0,
                         "split": 0, "best_code": None, "best_name": None, "share_in_best": 0.0,
                         "best_share_inside": 0.0, "outside_share": 1.0, "wrong_side": 0.0})
            continue
        best = pairs.loc[pairs[p].idxmax()]
        if pairs["coterminous"].any():
            cls = "coterminous"
            best = pairs[pairs["coterminous"]].loc[lambda d: d[p].idxmax()]
        elif best[p] >= threshold:
            cls = "nested"
        elif (pairs["whole_b"] | pairs["fringe"]).all() and pairs["whole_b"].any():
            cls = "contains"
        elif math.fsum(pairs[p]) - best[p] <= 1 - threshold:
            cls = "partial"
        else:
            cls = "split"
        rows.append({
            "code": unit.code, "name": unit.name, col: total, "class": cls,
            "touches": int(len(pairs)), "split": int(pairs["b_split"].sum()),
            "best_code": best["b_code"], "best_name": best["b_name"],
            "share_in_best": float(best[p]), "best_share_inside": float(best[q]),
            "outside_share": float(max(0.0, 1 - math.fsum(pairs[p]))) if total else 0.0,
            "wrong_side": math.fsum(pairs["wrong"]),
        })
    return pd.DataFrame(rows)


def coterminosity_score(classes: pd.DataFrame, by: str = "population") -> float:
    """Share of the layer's weight in units that are coterminous, nested or a union of whole units."""
    col = WEIGHT_COLUMN.get(by, by)
    total = classes[col].sum()
    return float(classes.loc[classes["class"].isin(CLEAN), col].sum() / total) if total else float("nan")


@dataclass
class LayerScore:
    """The layer-wide line of a report."""

    by: str
    threshold: float
    units: int
    clean_units: int  # coterminous, nested or containing only whole units
    whole_unions: int  # coterminous or containing only whole units (A is a union of whole Bs)
    total: float
    in_whole_unions: float
    score: float
    split_b: int
    in_split_b: float
    outside_main: float = 0.0  # Σ over B units of their amount outside their main A unit
    b_total: float = 0.0  # the whole of layer B's weight that lies in layer A

    def describe(self, a_label: str, b_label: str) -> str:
        """One sentence: whole unions, score (defined), split B units and the people outside."""
        amount = "people" if self.by == "population" else ("m²" if self.by == "area" else "small areas")
        if not self.total:
            return (f"{a_label} vs {b_label} (by {self.by}, threshold {self.threshold:g}): the {self.units} "
                    f"{a_label} units hold no {amount}; nothing to score")
        share = self.in_whole_unions / self.total
        if self.by == "area":
            whole, split = f"{share:.1%} of the area", f"{self.in_split_b / 1e6:,.0f} km² in"
            outside = f"{self.outside_main / 1e6:,.1f} km²"
        else:
            whole, split = f"{share:.1%} of the {amount}", f"{self.in_split_b:,.0f} {amount} live in"
            outside = f"{self.outside_main:,.0f} {amount}"
        outside_share = self.outside_main / self.b_total if self.b_total else 0.0
        return (f"{a_label} vs {b_label} (by {self.by}, threshold {self.threshold:g}): "
                f"{self.whole_unions} of {self.units} are unions of whole {b_label} units ({whole}); "
                f"score {self.score:.1%} (share in units coterminous with, nested in or made of whole "
                f"{b_label} units); {split} {self.split_b} {b_label} units split between {a_label} units; "
                f"{outside} ({outside_share:.2%}) {'lie' if self.by == 'area' else 'live'} outside the main "
                f"{a_label} unit of their {b_label} unit")


def layer_score(table: PairTable, classes: pd.DataFrame, by: str, threshold: float = DEFAULT_THRESHOLD) -> LayerScore:
    """Summarise a classification: whole unions, score, B units split across A, people outside."""
    col = WEIGHT_COLUMN[by]
    whole = classes["class"].isin(["coterminous", "contains"])
    split = split_units(table, by, threshold)
    largest = largest_pieces(table, by)
    return LayerScore(
        by=by, threshold=threshold, units=len(classes), clean_units=int(classes["class"].isin(CLEAN).sum()),
        whole_unions=int(whole.sum()), total=float(classes[col].sum()),
        in_whole_unions=float(classes.loc[whole, col].sum()), score=coterminosity_score(classes, by),
        split_b=len(split), in_split_b=float(split[col].sum()),
        outside_main=float(math.fsum((largest["in_others"] * largest[col]).clip(lower=0))),
        b_total=float(math.fsum(largest[col])),
    )


def code_changes(classes: pd.DataFrame, a_codes: pd.Series, b_codes: pd.Series) -> pd.DataFrame:
    """Coterminous pairs whose codes differ although the two layers share a code system:
    the same area under a new code (e.g. the 2013 recoding of six districts), not a split."""
    shared = len(set(a_codes) & set(b_codes)) / max(1, len(set(a_codes)))
    if shared < 0.5:
        return classes.iloc[0:0][["code", "name", "best_code", "best_name"]]
    changed = classes[(classes["class"] == "coterminous") & (classes["code"] != classes["best_code"])]
    return changed[["code", "name", "best_code", "best_name"]].reset_index(drop=True)
