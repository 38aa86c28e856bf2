"""The rows a map draws, taken from a :class:`~coterminosity.boundaries.comparison.Comparison`.

Footprints get the comparison's ``table`` row (class, best match, wrong side, fit); the compared
layer's units their ``largest`` row (largest piece, share, outside it); the pieces of split units
their pair-table row. Nothing is recomputed here: joins and labels only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from .styles import WEIGHT_WORD, short_title

if TYPE_CHECKING:
    from ..boundaries.comparison import Comparison

# Catalogue name (without its two-digit year) → what its units are called.
UNIT_WORDS = {"upper": "council", "lad": "district", "ccg": "CCG", "sicbl": "sub-ICB location", "stp": "footprint",
              "icb": "ICB", "lsoa": "LSOA", "msoa": "MSOA"}


def unit_word(label: str, plural: bool = True) -> str:
    """What a layer's units are called in sentences: councils, districts, CCGs (else "LABEL units")."""
    kind = label.rstrip("0123456789") if label[-2:].isdigit() else None
    word = UNIT_WORDS.get(kind, f"{label} unit") if kind else f"{label} unit"
    return word + "s" if plural else word


def footprint_columns(comparisons: Sequence[Comparison]) -> dict[str, str]:
    """Footprint table columns → plain labels for the click report (every comparison's class and counts)."""
    first = comparisons[0]
    words = unit_word(first.b.label)
    amount = "People" if first.by == "population" else WEIGHT_WORD[first.by]
    cols = {"code": "Code", first.weight_col: WEIGHT_WORD[first.by], "class": f"Class against {words}",
            "best_name": f"Best match ({short_title(first.b.label)})", "share_in_best": "Share of it in the best match",
            "best_share_inside": "Share of the best match inside it", "touches": f"{words.capitalize()} touched",
            "split": f"{words.capitalize()} it splits", "wrong_side": f"{amount} on the wrong side",
            "fit": f"Fit (1 − wrong side ÷ {first.by.replace('_', ' ')})", "note": "Note"}
    for comp in comparisons[1:]:
        label, words = comp.b.label, unit_word(comp.b.label)
        cols[f"{label}_class"] = f"Class against {words}"
        cols[f"{label}_touches"] = f"{words.capitalize()} touched"
        cols[f"{label}_split"] = f"{words.capitalize()} it splits"
        cols[f"{label}_wrong_side"] = f"Wrong side of {words}"
    return cols


def footprint_frame(display: gpd.GeoDataFrame, comparisons: Sequence[Comparison]) -> gpd.GeoDataFrame:
    """Footprint geometry joined to its ``table`` row for every comparison (the first unprefixed)."""
    rows = comparisons[0].table
    for comp in comparisons[1:]:
        label = comp.b.label
        other = comp.table.drop(columns=["name", comp.weight_col, "note"], errors="ignore").add_prefix(f"{label}_")
        rows = rows.merge(other, left_on="code", right_on=f"{label}_code", how="left").drop(columns=f"{label}_code")
    frame = display.merge(rows, on="code", how="inner")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=display.crs)


def unit_columns(comp: Comparison, a_label: str) -> dict[str, str]:
    """Unit columns → plain labels."""
    a_words = unit_word(a_label)
    return {"code": "Code", comp.weight_col: WEIGHT_WORD[comp.by], "pieces": f"{a_words.capitalize()} it lies in",
            "largest_in_name": f"Main {unit_word(a_label, False)} (holds most of it)",
            "largest_share": "Share in the main one", "split_text": "Split between them",
            "outside_largest": "Outside the main one"}


def unit_frame(display: gpd.GeoDataFrame, comp: Comparison) -> gpd.GeoDataFrame:
    """The compared layer's units with their totals and largest piece (the comparison's ``largest``)."""
    col = comp.weight_col
    units = comp.overlay.b_units[["code", "name", col]].merge(
        comp.largest[["code", "pieces", "largest_share", "largest_in", "largest_in_name", "outside_largest"]],
        on="code", how="left")
    units["split"] = units["code"].isin(comp.split["code"])
    units["split_text"] = np.where(units["split"], "yes", "no")
    frame = display.merge(units, on="code", how="inner")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=display.crs)


def piece_columns(comp: Comparison, a_label: str) -> dict[str, str]:
    """Piece columns → plain labels."""
    b_word, a_word = unit_word(comp.b.label, False), unit_word(a_label, False)
    return {comp.weight_col: WEIGHT_WORD[comp.by], f"b_in_a_{comp.by}": f"Share of the {b_word}",
            f"a_in_b_{comp.by}": f"Share of the {a_word}", "piece": "Piece"}


def piece_frame(pieces: gpd.GeoDataFrame, comp: Comparison, a_label: str) -> gpd.GeoDataFrame:
    """Footprint ∩ unit pieces of the split units, with their pair-table row and whether they are the largest."""
    by, col = comp.by, comp.weight_col
    real = comp.overlay.real()
    real = real[real["b_code"].isin(comp.split["code"]) & (real[col] > 0)]
    largest = comp.split.set_index("code")["largest_in"]
    rows = real[["a_code", "a_name", "b_code", "b_name", col, f"a_in_b_{by}", f"b_in_a_{by}"]].copy()
    rows["largest"] = rows["a_code"].to_numpy() == rows["b_code"].map(largest).to_numpy()
    b_word, a_word = unit_word(comp.b.label, False), unit_word(a_label, False)
    rows["piece"] = np.where(rows["largest"], f"in the {b_word}'s main {a_word}",
                             f"outside the {b_word}'s main {a_word} (wrong side)")
    frame = pieces.merge(rows, on=["a_code", "b_code"], how="inner")
    frame["code"] = frame["a_code"] + "|" + frame["b_code"]
    frame["name"] = frame["b_name"] + " in " + frame["a_name"]
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=pieces.crs)
