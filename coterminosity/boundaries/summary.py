"""Footprints against several layers at once: the ``coterm summary`` table and layer lines."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..geo.layer import Layer, Population
from .metrics import DEFAULT_THRESHOLD, classify, layer_score, pick_weight
from .overlay import WEIGHT_COLUMN, overlay


@dataclass
class Summary:
    """One row per footprint, one layer line per compared layer."""

    table: pd.DataFrame
    lines: list[str]
    by: str
    notes: list[str] = field(default_factory=list)


def summarise(footprints: Layer, against: list[Layer], population: Population | None = None, *,
              by: str | None = None, threshold: float = DEFAULT_THRESHOLD, **overlay_options) -> Summary:
    """For each footprint: its weight and, per compared layer, units touched, split, wrong side and class."""
    table = None
    lines, notes = [], []
    for layer in against:
        pairs = overlay(footprints, layer, population, **overlay_options)
        weight = pick_weight(pairs, by)
        col = WEIGHT_COLUMN[weight]
        classes = classify(pairs, weight, threshold)
        if table is None:
            table = classes[["code", "name", col]].copy()
        label = layer.label
        table[label] = classes["touches"].to_numpy()
        table[f"{label}_split"] = classes["split"].to_numpy()
        table[f"{label}_wrong_side"] = classes["wrong_side"].to_numpy()
        table[f"{label}_class"] = classes["class"].to_numpy()
        lines.append(layer_score(pairs, classes, weight, threshold).describe(footprints.label, label))
        notes.append(f"{label}: {pairs.notes[0]}")
    return Summary(table=table, lines=lines, by=weight, notes=notes)
