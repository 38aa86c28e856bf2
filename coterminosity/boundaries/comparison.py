"""One layer against another: the overlay and everything ``coterm overlay`` and the map derive from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..geo.layer import Layer, Population
from .metrics import (
    DEFAULT_THRESHOLD,
    LayerScore,
    classify,
    code_changes,
    largest_pieces,
    layer_score,
    pick_weight,
    split_units,
)
from .overlay import WEIGHT_COLUMN, PairTable, overlay
from .result import amount_text, weight_line

Weight = Literal["population", "area", "small_areas"]

CLASS_RULES = ("coterminous: ≥ threshold both ways; nested: A ≥ threshold in one B; contains: every B touched "
               "≥ threshold inside A; partial: the shortfall lies outside layer B; split: otherwise")
WRONG_SIDE_RULE = ("wrong_side = for each B unit A's boundary cuts, the smaller of its part inside and outside A "
                   "(zero for a B holding A whole)")


@dataclass
class Comparison:
    """Layer A (footprints) against layer B: pairs, per-unit classes, score, split and largest pieces.

    ``table`` is one row per A unit (class, best match, wrong side, fit, note); ``overlay`` the
    pair table; ``split`` the B units split between A units; ``largest`` every B unit with the A
    unit holding most of it; ``score`` the layer line; ``changes`` same area, different code.
    """

    a: Layer
    b: Layer
    overlay: PairTable
    classes: pd.DataFrame
    split: pd.DataFrame
    largest: pd.DataFrame
    score: LayerScore
    changes: pd.DataFrame
    by: str
    threshold: float = DEFAULT_THRESHOLD
    population: Population | None = None
    worst_count: int = 5
    table: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        frame = self.classes.copy()
        total = frame[self.weight_col].replace(0, np.nan)
        frame["fit"] = (1 - frame["wrong_side"] / total).clip(lower=0)
        frame["note"] = np.where(frame["code"].isin(self.changes["code"]), "same area, different code", "")
        self.table = frame

    @property
    def layer(self) -> Layer:
        """The compared layer (B)."""
        return self.b

    @property
    def weight_col(self) -> str:
        """The column holding the weight amounts (``population``, ``area_m2`` or ``small_areas``)."""
        return WEIGHT_COLUMN[self.by]

    def worst_fits(self, count: int | None = None) -> pd.DataFrame:
        """A units with something on the wrong side, most first (then lowest share in the best match)."""
        frame = self.table[self.table["best_code"].notna() & (self.table["wrong_side"] > 0)]
        frame = frame.sort_values(["wrong_side", "share_in_best", "code"], ascending=[False, True, True])
        return frame.head(self.worst_count if count is None else count)

    def unmatched(self) -> pd.DataFrame:
        """A units overlapping no B unit."""
        return self.table[self.table["best_code"].isna()]

    def header(self) -> list[str]:
        """What was compared, how, and what was repaired or assumed on the way."""
        pop = self.population
        lines = [
            f"overlay: {self.a.label} ({len(self.a)} units) on {self.b.label} ({len(self.b)} units)",
            self.overlay.notes[0],
            weight_line(self.by, pop.label if pop is not None else None, pop.total if pop is not None else None),
            f"threshold: {self.threshold:g} ({CLASS_RULES})",
            WRONG_SIDE_RULE,
        ] + self.overlay.notes[1:] + self.a.notes + self.b.notes + (pop.notes if pop is not None else [])
        return list(dict.fromkeys(lines))  # both layers built from the same LSOAs carry the same notes

    def lines(self) -> list[str]:
        """The layer line, code changes, worst fits, unmatched units and split B units."""
        a, b = self.a.label, self.b.label
        out = [self.score.describe(a, b)]
        if not self.changes.empty:
            out.append(f"same area, different code ({len(self.changes)}): " + "; ".join(
                f"{r.name} {r.code} = {r.best_code}" for r in self.changes.itertuples()))
        worst = self.worst_fits()
        if len(worst):
            out.append(f"worst fits (most {'people' if self.by == 'population' else self.by} on the wrong side, "
                       "then lowest share in the best match): " + "; ".join(
                           f"{r.name} ({r.code}) {amount_text(r.wrong_side, self.by)} on the wrong side, "
                           f"{r.share_in_best:.1%} in {r.best_name}" for r in worst.itertuples()))
        alone = self.unmatched()
        if len(alone):
            out.append(f"{len(alone)} {a} units overlap no {b} unit: " +
                       "; ".join(f"{r.name} ({r.code})" for r in alone.head(20).itertuples()))
        if len(self.split):
            out.append(f"{b} units split between {a} units ({len(self.split)}): " +
                       "; ".join(f"{r.name} {r.largest_share:.1%}" for r in self.split.head(20).itertuples()))
        return out

    def meta(self) -> dict[str, Any]:
        """The facts JSON carries beside the rows."""
        s = self.score
        return {"a": self.a.label, "b": self.b.label, "method": self.overlay.method, "by": self.by,
                "threshold": self.threshold, "slivers": self.overlay.slivers, "score": s.score,
                "whole_unions": s.whole_unions, "units": s.units, "split_b": s.split_b, "in_split_b": s.in_split_b,
                "outside_main": s.outside_main, "code_changes": self.changes.to_dict("records"),
                "notes": self.header()[1:]}


def compare(a: Layer, b: Layer, population: Population | None = None, *, by: Weight | None = None,
            threshold: float = DEFAULT_THRESHOLD, worst: int = 5, **overlay_options) -> Comparison:
    """Overlay ``a`` on ``b`` and derive classes, score, split units and code changes.

    Examples
    --------
    >>> import coterminosity as ct
    >>> stp, councils = ct.load_layer("stp17"), ct.load_layer("upper17")  # doctest: +SKIP
    >>> result = ct.compare(stp, councils, ct.load_population())          # doctest: +SKIP
    >>> result.score.whole_unions                                         # doctest: +SKIP
    22
    """
    pairs = overlay(a, b, population, **overlay_options)
    by = pick_weight(pairs, by)
    classes = classify(pairs, by, threshold)
    return Comparison(a=a, b=b, overlay=pairs, classes=classes, split=split_units(pairs, by, threshold),
                      largest=largest_pieces(pairs, by), score=layer_score(pairs, classes, by, threshold),
                      changes=code_changes(classes, a.codes, b.codes), by=by, threshold=threshold,
                      population=population, worst_count=worst)
