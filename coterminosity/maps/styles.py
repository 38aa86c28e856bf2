"""Colours, patterns, line styles and plain words of a coterminosity map.

Classes use the Okabe–Ito palette (safe for the common colour-vision deficiencies) at an opacity
that keeps every pair of classes at least ΔE2000 ≈ 13 apart under simulated deuteranopia and
protanopia (measured by ``tests/browser/test_maps.py`` on the rendered page), with a second channel:
a dot or cross pattern on the classes that are not clean (split, partial, uncovered). The score
colouring uses viridis steps. Split councils are outlined in magenta on a white halo, so the line
stands out on every fill; the pieces of a council outside its main footprint are striped magenta.
"""

from __future__ import annotations

import re

import numpy as np

CLASS_COLOURS = {
    "coterminous": "#009E73",  # bluish green
    "contains": "#56B4E9",  # sky blue
    "nested": "#0072B2",  # blue
    "partial": "#F0E442",  # yellow
    "split": "#D55E00",  # vermillion
    "uncovered": "#BBBBBB",
}
CLASS_PATTERN = {"split": "dots", "partial": "dots", "uncovered": "cross"}
CLASS_MEANING = {
    "coterminous": "coterminous: the same area as one {one}",
    "contains": "made of whole {many}",
    "nested": "inside one {one}",
    "partial": "partly outside every {one} (coast, gaps)",
    "split": "split: cuts through {many}",
    "uncovered": "overlaps no {one}",
}
FILL_OPACITY = 0.75
SCORE_COLOURS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]  # viridis, low fit → high fit
SPLIT_COLOUR = "#C2007A"
HALO = {"color": "#ffffff", "weight": 6.5, "opacity": 0.95, "fill": False}
BOUNDARY = "#1a1a1a"
UNIT_STYLES = [  # one look per --against layer, so several layers stay apart
    {"color": "#3a3a3a", "weight": 0.9, "fill": False, "opacity": 0.9},
    {"color": "#0b3c8c", "weight": 1.2, "dashArray": "6 4", "fill": False, "opacity": 0.9},
    {"color": "#5b3a00", "weight": 1.2, "dashArray": "2 3", "fill": False, "opacity": 0.9},
    {"color": "#006046", "weight": 1.4, "dashArray": "10 3 2 3", "fill": False, "opacity": 0.9},
]
SPLIT_STYLE = {"color": SPLIT_COLOUR, "weight": 3.0, "fill": False, "opacity": 1.0}
LARGEST_PIECE_STYLE = {"color": SPLIT_COLOUR, "weight": 1.2, "dashArray": "4 3", "fill": False}
WRONG_PIECE_STYLE = {"color": SPLIT_COLOUR, "weight": 1.5, "dashArray": "4 3", "fill": True,
                     "fillColor": "url(#coterm-stripes)", "fillOpacity": 0.9}
EXTRA_STYLES = [
    {"color": "#1f1f1f", "weight": 2.0, "dashArray": "1 4", "fill": False},
    {"color": "#7a4b00", "weight": 2.0, "dashArray": "8 4", "fill": False},
]
BEFORE_STYLE = {"color": "#000000", "weight": 3.5, "dashArray": "1 7", "lineCap": "round", "fill": False, "opacity": 1.0}
MOVED_STYLE = {"color": "#000000", "weight": 2.2, "fill": True, "fillColor": "url(#coterm-moved)", "fillOpacity": 0.9}
PATTERNS = {
    "coterm-stripes": {"kind": "stripes", "size": 8, "width": 3, "color": SPLIT_COLOUR, "rotate": 45},
    "coterm-moved": {"kind": "stripes", "size": 6, "width": 2, "color": "#000000", "rotate": -45},
}
for _cls, _kind in CLASS_PATTERN.items():
    PATTERNS[f"coterm-class-{_cls}"] = {"kind": _kind, "size": 9, "width": 1.3 if _kind == "dots" else 1.0,
                                        "color": "#1a1a1a", "background": CLASS_COLOURS[_cls]}
WEIGHT_WORD = {"population": "Population", "area": "Area", "small_areas": "Small areas"}


def class_fill(cls: str) -> str:
    """The fill of a class: its colour, or its pattern (colour plus dots/crosses) for the unclean classes."""
    return f"url(#coterm-class-{cls})" if cls in CLASS_PATTERN else CLASS_COLOURS.get(cls, "#BBBBBB")


def class_style(cls: str) -> dict:
    """Leaflet style of a footprint of class ``cls``."""
    return {"color": BOUNDARY, "weight": 2.0, "fill": True, "fillColor": class_fill(cls), "fillOpacity": FILL_OPACITY}


SCORE_EDGES = np.array([0.0, 0.8, 0.9, 0.95, 0.99, 1.0])  # most footprints fit well: finer steps near 100%


def score_bins() -> np.ndarray:
    """Edges of the five fit bins: under 80%, 80–90%, 90–95%, 95–99%, 99–100%."""
    return SCORE_EDGES


def score_colour(fit: float, edges: np.ndarray) -> str:
    """The viridis step of a fit value (grey when unknown)."""
    if fit is None or np.isnan(fit):
        return "#BBBBBB"
    i = int(np.clip(np.searchsorted(edges, fit, side="right") - 1, 0, len(SCORE_COLOURS) - 1))
    return SCORE_COLOURS[i]


def legend_entry(label: str, style: dict) -> dict:
    """A legend line from a Leaflet style: a filled box (pattern fills included) or a line."""
    entry = {"label": label, "stroke": style.get("color", "#333"), "weight": float(style.get("weight", 1))}
    if style.get("dashArray"):
        entry["dash"] = style["dashArray"]
    if style.get("fill", True) and style.get("fillOpacity", 0.2) > 0:
        entry["fill"] = style.get("fillColor", style.get("color", "#888"))
        entry["opacity"] = float(style.get("fillOpacity", 0.2))
    return entry


def as_legend(entries) -> list[dict]:
    """Legend entries from dicts or (label, Leaflet style) pairs."""
    return [legend_entry(*e) if isinstance(e, tuple) else dict(e) for e in entries or []]


def plain_title(label: str) -> str:
    """A layer's plain name: the catalogue title ("STP footprints (April 2017)") or the label itself."""
    from ..geo.catalogue import LAYERS

    recipe = LAYERS.get(label)
    if recipe is None:
        return label
    return re.sub(r":\s*\d+$", "", recipe.title).strip()


def short_title(label: str) -> str:
    """The plain name without its trailing remarks ("Upper-tier councils with social care duties (2017)")."""
    return plain_title(label).split(", ")[0]
