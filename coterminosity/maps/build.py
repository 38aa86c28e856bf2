"""Draw footprints against other layers from the overlay results: :func:`compare` then :func:`build_map`.

The map shows what ``coterm overlay`` computes, from the same DataFrames: each footprint's
row of :func:`~coterminosity.boundaries.metrics.classify`, each council's largest piece from
:func:`~coterminosity.boundaries.metrics.split_units`, each split piece's row of the
:class:`~coterminosity.boundaries.overlay.PairTable`. Nothing is recomputed here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..boundaries.focus import Focus, focus_on
from ..errors import InputError
from ..geo.layer import Layer
from .elements import Attribution, Control, legend_html, offline_map
from .geometry import Display, auto_tolerance, display_geometry, intersect_pieces, to_display
from .layers import MapLayer, draw, format_value

if TYPE_CHECKING:
    from ..boundaries.comparison import Comparison

CLASS_COLOURS = {
    "coterminous": "#1b9e77",
    "contains": "#66a61e",
    "nested": "#7570b3",
    "partial": "#e6ab02",
    "split": "#d95f02",
    "uncovered": "#bbbbbb",
}
CLASS_MEANING = {
    "coterminous": "coterminous (same area)",
    "contains": "contains whole units only",
    "nested": "nested in one unit",
    "partial": "partly outside the layer",
    "split": "split: cuts through units",
    "uncovered": "not covered",
}
SCORE_COLOURS = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]
SPLIT_COLOUR = "#c2185b"
TILES = {
    "none": None,
    "osm": "OpenStreetMap",
    "cartodb": "CartoDB positron",
}
WEIGHT_LABEL = {"population": "Population", "area": "Area", "small_areas": "Small areas"}
DATA_CREDIT = "Boundaries: ONS / OS open data (OGL), contains OS data © Crown copyright and database right"


# ---------------------------------------------------------------- layer frames


def _weight_text(comp: Comparison):
    col = comp.weight_col
    return lambda v: format_value(col, v)


def footprint_frame(display: gpd.GeoDataFrame, comparisons: list[Comparison]) -> gpd.GeoDataFrame:
    """Footprint geometry joined to its classify() row for every comparison (the first unprefixed)."""
    first = comparisons[0]
    col = first.weight_col
    rows = first.table.drop(columns=["note"], errors="ignore")
    for comp in comparisons[1:]:
        label = comp.layer.label
        other = comp.table.drop(columns=["note"], errors="ignore").drop(columns=["name", comp.weight_col]).add_prefix(f"{label}_")
        rows = rows.merge(other, left_on="code", right_on=f"{label}_code", how="left").drop(columns=f"{label}_code")
    frame = display.merge(rows, on="code", how="inner")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=display.crs)


def unit_frame(display: gpd.GeoDataFrame, comp: Comparison) -> gpd.GeoDataFrame:
    """The compared layer's units with their totals and largest piece (the comparison's ``largest``)."""
    col = comp.weight_col
    units = comp.overlay.b_units[["code", "name", col]].merge(
        comp.largest[["code", "pieces", "largest_share", "largest_in", "largest_in_name", "outside_largest"]],
        on="code", how="left")
    units["split"] = units["code"].isin(comp.split["code"])
    frame = display.merge(units, on="code", how="inner")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=display.crs)


def piece_frame(pieces: gpd.GeoDataFrame, comp: Comparison) -> gpd.GeoDataFrame:
    """Footprint ∩ unit pieces of the split units, with their PairTable row and whether they are the largest."""
    by, col = comp.by, comp.weight_col
    real = comp.overlay.real()
    real = real[real["b_code"].isin(comp.split["code"]) & (real[col] > 0)]
    largest = comp.split.set_index("code")["largest_in"]
    rows = real[["a_code", "a_name", "b_code", "b_name", col, f"a_in_b_{by}", f"b_in_a_{by}"]].copy()
    rows["largest"] = rows["a_code"].to_numpy() == rows["b_code"].map(largest).to_numpy()
    rows["piece"] = np.where(rows["largest"], "largest piece", "wrong side of the line")
    frame = pieces.merge(rows, on=["a_code", "b_code"], how="inner")
    frame["code"] = frame["a_code"] + "|" + frame["b_code"]
    frame["name"] = frame["b_name"] + " in " + frame["a_name"]
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=pieces.crs)


# ---------------------------------------------------------------- styles


def _class_style(row) -> dict:
    return {"color": "#111111", "weight": 2.2, "fill": True, "fillColor": CLASS_COLOURS.get(row["class"], "#bbbbbb"),
            "fillOpacity": 0.55}


def _score_style(colormap):
    def style(row) -> dict:
        fit = row["fit"]
        colour = "#bbbbbb" if pd.isna(fit) else colormap(float(np.clip(fit, colormap.vmin, colormap.vmax)))
        return {"color": "#111111", "weight": 2.2, "fill": True, "fillColor": colour, "fillOpacity": 0.6}
    return style


UNIT_STYLE = {"color": "#4a4a4a", "weight": 0.8, "fill": False, "opacity": 0.9}
SPLIT_STYLE = {"color": SPLIT_COLOUR, "weight": 3.0, "fill": False, "opacity": 0.95}
LARGEST_PIECE_STYLE = {"color": SPLIT_COLOUR, "weight": 1.5, "dashArray": "4 3", "fill": False}
WRONG_PIECE_STYLE = {"color": SPLIT_COLOUR, "weight": 1.5, "dashArray": "4 3", "fill": True,
                     "fillColor": "url(#coterm-hatch)", "fillOpacity": 0.85}  # stripes (see elements.HELPERS_JS)


# ---------------------------------------------------------------- the map


@dataclass
class MapSummary:
    """What was drawn: features per layer (in layer-control order), tolerance, notes."""

    layers: list[tuple[str, str, int]] = field(default_factory=list)  # (name, pane, features)
    tolerance: float = 0.0
    notes: list[str] = field(default_factory=list)


def build_map(
    footprints: Layer,
    comparisons: list[Comparison],
    *,
    extra_layers: list[MapLayer] | None = None,
    color_by: str = "class",
    focus: Focus | str | None = None,
    tiles: str = "none",
    fine: Layer | None = None,
    tolerance: float | None = None,
    pieces: bool = True,
    title: str | None = None,
    width: str = "100%",
    height: str = "100%",
) -> folium.Map:
    """A folium map of ``footprints`` coloured by class (or fit) against the first comparison.

    ``comparisons``: from :func:`compare` (one per layer: councils, CCGs …), drawn as outlines
    with their split units highlighted and split pieces outlined (wrong-side pieces filled).
    ``extra_layers``: more :class:`MapLayer` s (places, catchments, scenarios).
    ``focus``: a footprint code or name: draw only its neighbourhood. ``tiles``: none, osm or
    cartodb. ``fine``: the small-area layer the catalogue layers are built from (the LSOAs), so
    that all layers are simplified together and shared edges stay shared; without it each
    layer is simplified on its own. ``tolerance``: metres (None = from the extent).
    The map's ``coterm_summary`` attribute is a :class:`MapSummary`.
    """
    if not comparisons:
        raise InputError("map: compare the footprints with at least one layer (--against)")
    if tiles not in TILES:
        raise InputError(f"map: --tiles {tiles!r}: choose one of {', '.join(TILES)}")
    if color_by not in ("class", "score"):
        raise InputError(f"map: --color-by {color_by!r}: choose class or score")
    if isinstance(focus, str):
        focus = focus_on(footprints, comparisons, focus)
    focus_code = focus.code if focus else None
    keep = focus.keep if focus else None
    labels = [footprints.label] + [c.layer.label for c in comparisons]
    if len(set(labels)) != len(labels):
        raise InputError(f"map: layers need different names ({', '.join(labels)})")
    if focus_code and tolerance is None:  # as fine as the zoomed-in view needs
        tolerance = auto_tolerance(focus.bounds)
    display: Display = display_geometry([footprints] + [c.layer for c in comparisons], fine=fine,
                                        pieces_of=[c.layer.label for c in comparisons] if pieces else [],
                                        keep=keep, tolerance=tolerance)
    summary = MapSummary(tolerance=display.tolerance, notes=list(display.notes))

    m = offline_map(tiles=None, width=width, height=height, control_scale=True, zoom_snap=0.25,
                    prefer_canvas=False)
    if TILES[tiles]:
        folium.TileLayer(TILES[tiles], name=TILES[tiles], control=False).add_to(m)
    m.add_child(Attribution(DATA_CREDIT))

    first = comparisons[0]
    b_label = first.layer.label
    wtext = _weight_text(first)
    weight_name = WEIGHT_LABEL[first.by]
    fp_display = to_display(display.layers[footprints.label])
    fp = footprint_frame(fp_display, comparisons)

    # Footprints, coloured.
    tooltip = {"class": f"Class vs {b_label}", first.weight_col: weight_name, "best_name": "Best match",
               "share_in_best": "Footprint in best match", "best_share_inside": "Best match in footprint",
               "touches": f"{b_label} units touched", "split": f"{b_label} units split",
               "wrong_side": "Wrong side", "fit": "Fit (1 − wrong side share)"}
    for comp in comparisons[1:]:
        tooltip[f"{comp.layer.label}_class"] = f"Class vs {comp.layer.label}"
        tooltip[f"{comp.layer.label}_touches"] = f"{comp.layer.label} units touched"
        tooltip[f"{comp.layer.label}_split"] = f"{comp.layer.label} units split"
    popup = {c: c for c in fp.columns if c != "geometry"}
    formats = {first.weight_col: wtext, "wrong_side": wtext}
    for comp in comparisons[1:]:
        formats[f"{comp.layer.label}_wrong_side"] = _weight_text(comp)
    if color_by == "class":
        style = _class_style
        present = [c for c in CLASS_COLOURS if c in set(fp["class"])]
        legend = [(CLASS_MEANING[c], _class_style({"class": c})) for c in present]
        legend_title = f"{footprints.label} vs {b_label} (threshold {first.threshold:g}, by {first.by})"
    else:
        low = float(np.floor(np.nanmin(fp["fit"].to_numpy(dtype=float)) * 20) / 20) if len(fp) else 0.0
        low = min(low, 0.95)
        colormap = branca.colormap.LinearColormap(SCORE_COLOURS, vmin=low, vmax=1.0)
        style = _score_style(colormap)
        steps = np.linspace(low, 1.0, 5)
        legend = [(f"fit {v:.0%}", {"fillColor": colormap(v), "color": "#333", "fillOpacity": 0.6}) for v in steps]
        legend_title = f"{footprints.label}: fit = 1 − wrong side / {first.by} (vs {b_label})"
    if focus_code:  # the neighbours paler, so the focused footprint stands out
        base = style
        style = lambda r: base(r) if r["code"] == focus_code else {**base(r), "fillOpacity": 0.22, "weight": 1.6}  # noqa: E731
    heading = lambda r: f"{r['name']} ({r['code']})"  # noqa: E731
    drawn = [draw(m, MapLayer(fp, f"{footprints.label}: footprints ({len(fp)})", tooltip, style, popup_fields=popup,
                              z_index=410, formats=formats, heading=heading, simplify=0, key="footprints"))]

    # Each compared layer: outlines, split units, split pieces.
    for i, comp in enumerate(comparisons):
        label, col = comp.layer.label, comp.weight_col
        units = unit_frame(to_display(display.layers[label]), comp)
        ctext = _weight_text(comp)
        tip = {col: WEIGHT_LABEL[comp.by], "pieces": f"{footprints.label} units touched",
               "largest_share": "In largest footprint", "largest_in_name": "Largest footprint",
               "split": "Split", "outside_largest": "Outside largest footprint"}
        unit_formats = {col: ctext, "outside_largest": ctext}
        drawn.append(draw(m, MapLayer(units, f"{label}: units ({len(units)})", tip, UNIT_STYLE, z_index=420 + i,
                                      formats=unit_formats, simplify=0, key=f"units-{i}")))
        split = units[units["split"]]
        drawn.append(draw(m, MapLayer(split, f"{label}: split between {footprints.label} units ({len(split)})",
                                      tip, SPLIT_STYLE, popup_fields=[], z_index=425 + i, formats=unit_formats,
                                      simplify=0, interactive=False, key=f"split-{i}")))
        if pieces:
            raw = display.pieces.get(label)
            if raw is None:  # drawn independently: cut the simplified shapes
                real = comp.overlay.real()
                pairs = real.loc[real["b_code"].isin(split["code"]), ["a_code", "b_code"]]
                raw = intersect_pieces(display.layers[footprints.label], display.layers[label], pairs)
            if keep is not None:  # only the pieces of the units drawn around the focus
                raw = raw[raw["b_code"].isin(keep[label])]
            parts = piece_frame(to_display(raw), comp)
            share_b, share_a = f"b_in_a_{comp.by}", f"a_in_b_{comp.by}"
            piece_tip = {"b_name": f"{label} unit", "a_name": f"{footprints.label} unit", col: WEIGHT_LABEL[comp.by],
                         share_b: f"Share of the {label} unit", share_a: f"Share of the {footprints.label} unit",
                         "piece": "Piece"}
            drawn.append(draw(m, MapLayer(
                parts, f"{label}: split pieces ({len(parts)}; filled = wrong side)", piece_tip,
                lambda r: LARGEST_PIECE_STYLE if r["largest"] else WRONG_PIECE_STYLE,
                popup_fields=[c for c in parts.columns if c not in ("geometry", "code", "name", "largest")],
                z_index=430 + i, formats={col: ctext}, heading=lambda r: r["name"], simplify=0,
                key=f"pieces-{i}")))
    legend += [(f"{footprints.label} boundary", {"color": "#111111", "weight": 2.2, "fill": False})]
    legend += [(f"{comp.layer.label} boundary", UNIT_STYLE) for comp in comparisons[:1]]
    legend += [(f"{comparisons[0].layer.label} split between footprints", SPLIT_STYLE)]
    if pieces:
        legend += [("wrong-side piece of a split unit", WRONG_PIECE_STYLE)]

    # Extra layers from other features (places, catchments, scenarios).
    bounds_4326 = fp[fp["code"] == focus_code].total_bounds if focus_code else fp.total_bounds
    for j, extra in enumerate(extra_layers or []):
        frame = extra.frame
        if focus_code:
            box = gpd.GeoSeries([shapely.box(*display.layers[footprints.label].total_bounds)],
                                crs=display.layers[footprints.label].crs).to_crs(frame.crs or "EPSG:27700")
            frame = frame[frame.intersects(box.iloc[0])]
        layer = MapLayer(**{**extra.__dict__, "frame": frame, "key": extra.key or f"extra-{j}",
                            "z_index": extra.z_index if extra.z_index != 450 else 440 + j})
        drawn.append(draw(m, layer))
        if extra.legend:
            legend += list(extra.legend)

    m.add_child(Control(legend_html(legend_title, legend), position="bottomright"))
    heading_text = title or (f"{footprints.label} against {', '.join(c.layer.label for c in comparisons)}"
                             + (f" — around {fp.loc[fp['code'] == focus_code, 'name'].iloc[0]}" if focus_code else ""))
    m.add_child(Control(f'<div class="coterm-title">{html.escape(heading_text)}</div>', position="topleft"))
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    west, south, east, north = bounds_4326
    m.fit_bounds([[south, west], [north, east]], padding=(10, 10))
    summary.layers = [(el.raw_name, el.pane, el.feature_count) for el in drawn]
    m.coterm_summary = summary
    return m
