"""Boundary history: each footprint vintage against the councils (and CCGs) of its year, and what moved.

One row per footprint vintage, with the same measures ``coterm overlay`` gives (``classify``,
``layer_score`` and ``split_units`` on the membership overlay), and between consecutive rows
the people in moved pieces (:func:`~coterminosity.boundaries.changes.changes`).

* ``councils_split`` – councils no footprint holds ≥ threshold of (with more than 1 − threshold
  in other footprints), as in ``coterm overlay``;
* ``councils_spanning`` – councils with residents in more than one footprint (no threshold);
* ``people_outside`` – for every council, its people minus the people of its largest footprint
  piece, summed over councils: the people who live in a council outside that council's main
  footprint (each person once);
* ``whole_unions`` / ``whole_unions_share`` – footprints that are unions of whole councils
  (coterminous with one, or containing only whole ones) and their share of the people;
* ``score`` – the layer score against the councils;
* ``ccgs_split`` / ``ccg_people_outside`` – the same two measures for the CCGs or sub-ICB locations;
* ``people_moved`` – people in pieces moved between continuing footprints since the row before
  (mergers are not moves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CotermError
from ..geo.layer import Layer, Population
from .changes import Changes, changes
from .metrics import DEFAULT_THRESHOLD, classify, largest_pieces, layer_score
from .overlay import overlay
from .result import plural
from .vintages import DEFAULT_VINTAGES  # noqa: F401 (the default pairing, used with history())

COLUMNS = ["vintage", "units", "councils", "council_units", "councils_spanning", "councils_split", "people_outside",
           "people_outside_share", "whole_unions", "whole_unions_share", "score", "ccgs", "ccg_units", "ccgs_split",
           "ccg_people_outside", "pieces_moved", "people_moved", "merged", "split"]

OUTSIDE_RULE = ("people_outside = for every council, its people minus the people in its largest footprint piece, "
                "summed over councils (the people living in a council outside that council's main footprint, "
                "each once)")


@dataclass
class History:
    """Footprint vintages against their councils and CCGs (``table``), and the changes between them."""

    table: pd.DataFrame
    changes: list[Changes | None]  # changes[i]: row i−1 → row i (None for the first row)
    population: Population
    threshold: float = DEFAULT_THRESHOLD
    notes: list[str] = field(default_factory=list)

    def header(self) -> list[str]:
        """What was compared and how."""
        pairs = "; ".join(f"{r.vintage} vs {r.councils}" + (f" and {r.ccgs}" if r.ccgs else "")
                          for r in self.table.itertuples())
        return [f"history: {len(self.table)} footprint vintages ({pairs})",
                f"weights: population ({self.population.label}, total {self.population.total:,.0f}); "
                f"threshold {self.threshold:g}",
                f"councils_split: no footprint holds ≥ {self.threshold:g} of the council's people; "
                "councils_spanning: residents in more than one footprint (no threshold)",
                OUTSIDE_RULE] + self.notes

    def lines(self) -> list[str]:
        """The first and last rows compared, then each change between consecutive vintages."""
        t = self.table
        out = []
        if len(t):
            first, last = t.iloc[0], t.iloc[-1]
            out.append(
                f"{first.vintage} → {last.vintage}: footprints {first.units} → {last.units}; councils split "
                f"{first.councils_split} → {last.councils_split}; people outside their council's main footprint "
                f"{first.people_outside:,.0f} → {last.people_outside:,.0f} "
                f"({first.people_outside_share:.2%} → {last.people_outside_share:.2%}); footprints that are unions "
                f"of whole councils {first.whole_unions} → {last.whole_unions} "
                f"({first.whole_unions_share:.1%} → {last.whole_unions_share:.1%} of the people)")
        for change in self.changes:
            if change is None:
                continue
            out.append(change.summary_line())
            old_names, new_names = change.old.names(), change.new.names()
            for code, olds in change.mergers():
                out.append(f"  merged: {'; '.join(f'{old_names[c]} ({c})' for c in olds)} → {new_names[code]} ({code})")
            for code, news in change.splits():
                out.append(f"  split: {old_names[code]} ({code}) → {'; '.join(f'{new_names[c]} ({c})' for c in news)}")
            for r in change.pieces.itertuples():
                out.append(f"  moved: {plural(r.lsoas, 'LSOA')}, {r.people:,.0f} people from {r.from_name} ({r.from_code}) "
                           f"to {r.to_name} ({r.to_code})")
        return out

    def meta(self) -> dict[str, Any]:
        """The figures JSON carries beside the rows."""
        return {"threshold": self.threshold, "population": self.population.label,
                "population_total": self.population.total, "people_outside_rule": OUTSIDE_RULE,
                "changes": [c.meta() for c in self.changes if c is not None]}


def _against(footprints: Layer, other: Layer, population: Population, threshold: float) -> dict[str, Any]:
    """Split units, spanning units, people outside the main footprint, whole unions and score."""
    pairs = overlay(footprints, other, population)
    classes = classify(pairs, "population", threshold)
    score = layer_score(pairs, classes, "population", threshold)
    largest = largest_pieces(pairs, "population")
    total = float(math.fsum(largest["population"]))
    outside = float(math.fsum(largest["outside_largest"]))
    return {"units": len(other), "split": score.split_b,
            "spanning": int((largest["pieces"] > 1).sum()), "outside": outside,
            "outside_share": outside / total if total else float("nan"), "whole_unions": score.whole_unions,
            "whole_share": score.in_whole_unions / score.total if score.total else float("nan"), "score": score.score}


def history(vintages: list[tuple[Layer, Layer]], population: Population, ccgs: list[Layer | None] | None = None, *,
            threshold: float = DEFAULT_THRESHOLD) -> History:
    """One row per (footprints, councils) vintage, with the CCGs of its year when given, and the
    changes between consecutive footprint vintages.

    Examples
    --------
    >>> import coterminosity as ct
    >>> layers = [(ct.load_layer(f), ct.load_layer(c)) for f, c, _ in DEFAULT_VINTAGES]  # doctest: +SKIP
    >>> history(layers, ct.load_population()).table["councils_split"].tolist()          # doctest: +SKIP
    """
    if not vintages:
        raise CotermError("history: no footprint vintages given")
    if population is None:
        raise CotermError("history: counts people, so it needs a population")
    if ccgs is not None and len(ccgs) != len(vintages):
        raise CotermError(f"history: {len(ccgs)} CCG layers for {len(vintages)} footprint vintages; give one each "
                          "(None where there is none)")
    rows, steps = [], []
    previous: Layer | None = None
    for i, (footprints, councils) in enumerate(vintages):
        c = _against(footprints, councils, population, threshold)
        ccg = ccgs[i] if ccgs is not None else None
        g = _against(footprints, ccg, population, threshold) if ccg is not None else None
        step = changes(previous, footprints, population) if previous is not None else None
        steps.append(step)
        rows.append({
            "vintage": footprints.label, "units": len(footprints), "councils": councils.label,
            "council_units": c["units"], "councils_spanning": c["spanning"], "councils_split": c["split"],
            "people_outside": c["outside"], "people_outside_share": c["outside_share"],
            "whole_unions": c["whole_unions"], "whole_unions_share": c["whole_share"], "score": c["score"],
            "ccgs": ccg.label if ccg is not None else "", "ccg_units": g["units"] if g else np.nan,
            "ccgs_split": g["split"] if g else np.nan, "ccg_people_outside": g["outside"] if g else np.nan,
            "pieces_moved": len(step.pieces) if step else np.nan, "people_moved": step.people_moved if step else np.nan,
            "merged": step.count("merged") if step else np.nan, "split": step.count("split") if step else np.nan,
        })
        previous = footprints
    table = pd.DataFrame(rows, columns=COLUMNS)
    notes = []
    if ccgs is not None and any(c is None for c in ccgs):
        missing = [fp.label for (fp, _), c in zip(vintages, ccgs) if c is None]
        notes.append(f"no CCG layer for {', '.join(missing)}: CCG columns empty there")
    for col in ("ccg_units", "ccgs_split", "pieces_moved", "merged", "split"):
        table[col] = table[col].astype("Int64")
    return History(table, steps, population, threshold, notes)
