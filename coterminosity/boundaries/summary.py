"""Footprints against several layers at once: the ``coterm summary`` table and layer lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..geo.layer import Layer, Population
from .comparison import Comparison, Weight, compare
from .metrics import DEFAULT_THRESHOLD
from .result import weight_line
from .vintages import peers


def default_against(footprints: str) -> list[str]:
    """The layers a footprint vintage is compared with by default: its year's councils and CCGs.

    Examples
    --------
    >>> default_against("icb22")
    ['upper21', 'sicbl22']
    """
    return [name for name in peers(footprints) if name]


def with_lower_tier(names: list[str]) -> list[str]:
    """Each upper-tier council layer (``upperYY``) followed by its districts (``ladYY``).

    Examples
    --------
    >>> with_lower_tier(["upper17", "ccg17"])
    ['upper17', 'lad17', 'ccg17']
    """
    out = list(dict.fromkeys(names))
    for name in list(out):
        match = re.fullmatch(r"upper(\d\d)", name)
        lower = f"lad{match.group(1)}" if match else None
        if lower and lower not in out:
            out.insert(out.index(name) + 1, lower)
    return out


@dataclass
class Summary:
    """One row per footprint (``table``), one layer line per compared layer (``lines()``)."""

    footprints: Layer
    comparisons: list[Comparison]
    table: pd.DataFrame
    by: str
    threshold: float
    population: Population | None = None
    notes: list[str] = field(default_factory=list)

    def header(self) -> list[str]:
        """What was compared with what, the weights and the definitions."""
        fp, pop = self.footprints, self.population
        return [f"summary: {fp.label} ({len(fp)} units) against {', '.join(c.b.label for c in self.comparisons)}",
                weight_line(self.by, pop.label if pop is not None else None, pop.total if pop is not None else None),
                f"threshold: {self.threshold:g}; wrong_side = for each unit a footprint cuts, the smaller of its part "
                "inside and outside the footprint (zero for a unit holding the footprint whole); score = share "
                "in footprints coterminous with, nested in or made of whole units"] + self.notes

    def lines(self) -> list[str]:
        """One layer line per compared layer."""
        return [c.score.describe(self.footprints.label, c.b.label) for c in self.comparisons]

    def meta(self) -> dict[str, Any]:
        """The facts JSON carries beside the rows."""
        return {"footprints": self.footprints.label, "against": [c.b.label for c in self.comparisons],
                "by": self.by, "threshold": self.threshold, "layer_lines": self.lines(),
                "outside_main": {c.b.label: c.score.outside_main for c in self.comparisons}}

    def compact(self) -> pd.DataFrame:
        """The terminal view: units touched and split per layer; wrong side and class against the first."""
        labels = [c.b.label for c in self.comparisons]
        primary = labels[0]
        cols = names = ["code", "name", self.table.columns[2]]
        cols, names = list(cols), list(names)
        for label in labels:
            cols += [label, f"{label}_split"]
            names += [label, "split"]
        cols += [f"{primary}_wrong_side", f"{primary}_class"]
        names += [f"wrong_side ({primary})", f"class ({primary})"]
        out = self.table[cols].copy()
        out.columns = names
        return out


def summarise(footprints: Layer, against: list[Layer], population: Population | None = None, *,
              by: Weight | None = None, threshold: float = DEFAULT_THRESHOLD, **overlay_options) -> Summary:
    """For each footprint: its weight and, per compared layer, units touched, split, wrong side and class.

    Examples
    --------
    >>> import coterminosity as ct
    >>> s = ct.summarise(ct.load_layer("stp17"), [ct.load_layer("upper17")], ct.load_population())  # doctest: +SKIP
    >>> s.lines()[0][:40]                                                                       # doctest: +SKIP
    'stp17 vs upper17 (by population, thresho'
    """
    comparisons = [compare(footprints, layer, population, by=by, threshold=threshold, **overlay_options)
                   for layer in against]
    table = None
    for comp in comparisons:
        classes = comp.classes
        if table is None:
            table = classes[["code", "name", comp.weight_col]].copy()
        label = comp.b.label
        table[label] = classes["touches"].to_numpy()
        table[f"{label}_split"] = classes["split"].to_numpy()
        table[f"{label}_wrong_side"] = classes["wrong_side"].to_numpy()
        table[f"{label}_class"] = classes["class"].to_numpy()
    notes = [n for n in footprints.notes if n.startswith("data: ")][:1]  # where the layers were read
    notes += [f"{c.b.label}: {c.overlay.notes[0]}" for c in comparisons]
    by_used = comparisons[0].by if comparisons else (by or "area")
    return Summary(footprints, comparisons, table, by_used, threshold, population, notes)
