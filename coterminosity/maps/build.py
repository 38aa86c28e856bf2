"""Draw footprints against other layers from :class:`~coterminosity.boundaries.comparison.Comparison` results.

The map shows what ``coterm overlay`` reports, from the same result: each footprint's row of
``Comparison.table`` (class, wrong side, fit), each council's row of ``Comparison.largest``, each
split piece's pair-table row. Nothing is computed here but display geometry and styles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import folium
import geopandas as gpd
import numpy as np
import shapely

from ..errors import InputError
from ..geo.layer import Layer
from .elements import Attribution, Setup, offline_map
from .flows import CONTAINMENT_COLUMNS, containment_legend, containment_style, draw_destinations, with_containment
from .frames import footprint_columns, footprint_frame, piece_columns, piece_frame, unit_columns, unit_frame, unit_word
from .geometry import Display, auto_tolerance, display_geometry, intersect_pieces, to_display
from .layers import MapLayer, draw, format_value
from .styles import (
    BEFORE_STYLE,
    CLASS_COLOURS,
    CLASS_MEANING,
    EXTRA_STYLES,
    HALO,
    LARGEST_PIECE_STYLE,
    MOVED_STYLE,
    PATTERNS,
    SCORE_COLOURS,
    SPLIT_STYLE,
    UNIT_STYLES,
    WRONG_PIECE_STYLE,
    as_legend,
    class_style,
    legend_entry,
    plain_title,
    score_bins,
    score_colour,
    short_title,
)

if TYPE_CHECKING:
    from ..boundaries.changes import Changes
    from ..boundaries.comparison import Comparison
    from ..boundaries.containment import ContainmentMapData
    from ..boundaries.focus import Focus

TILES = {"none": None, "osm": "OpenStreetMap", "cartodb": "CartoDB positron"}
ColorBy = Literal["class", "score", "containment"]
DATA_CREDIT = "Boundaries: ONS / OS open data (OGL), contains OS data © Crown copyright and database right"


@dataclass
class MapSummary:
    """What was drawn: features per layer (in layer-control order), tolerance, notes."""

    layers: list[tuple[str, str, int]] = field(default_factory=list)  # (name, pane, features)
    tolerance: float = 0.0
    notes: list[str] = field(default_factory=list)


def max_zoom(tolerance: float) -> int:
    """The deepest zoom the simplified lines support: where the tolerance spans at most 4 screen pixels."""
    if tolerance <= 0:
        return 18
    metres_per_pixel_z0 = 156_543 * math.cos(math.radians(52.5))  # England's latitude
    return int(np.clip(math.floor(math.log2(metres_per_pixel_z0 * 4 / tolerance)), 8, 18))


def _weight_text(comp: Comparison):
    col = comp.weight_col
    return lambda v: format_value(col, v)


def _footprint_style(color_by: ColorBy, fp: gpd.GeoDataFrame, focus_code: str | None, b_label: str):
    """Style function and legend entries of the footprint fills."""
    if color_by == "containment":
        return containment_style, containment_legend()
    if color_by == "class":
        def style(row):
            return class_style(row["class"])
        present = [c for c in CLASS_COLOURS if c in set(fp["class"])]
        words = {"one": unit_word(b_label, False), "many": unit_word(b_label)}
        entries = [legend_entry(CLASS_MEANING[c].format(**words), class_style(c)) for c in present]
    else:
        edges = score_bins()

        def style(row):
            return {**class_style("coterminous"), "fillColor": score_colour(float(row["fit"]), edges)}
        names = [f"fit under {edges[1]:.0%}"] + [f"fit {a:.0%} – {b:.0%}" for a, b in zip(edges[1:-1], edges[2:])]
        entries = [legend_entry(n, {"fillColor": c, "color": "#1a1a1a", "fillOpacity": 0.75})
                   for n, c in zip(names, SCORE_COLOURS)]
    if focus_code:  # the neighbours paler, so the focused footprint stands out
        base = style

        def style(row):
            own = base(row)
            return own if row["code"] == focus_code else {**own, "fillOpacity": 0.3, "weight": 1.4}
    return style, entries


def build_map(
    footprints: Layer,
    comparisons: Sequence[Comparison],
    *,
    extra_layers: list[MapLayer] | None = None,
    color_by: ColorBy = "class",
    focus: Focus | str | None = None,
    tiles: str = "none",
    fine: Layer | None = None,
    tolerance: float | None = None,
    pieces: bool = True,
    title: str | None = None,
    width: str = "100%",
    height: str = "100%",
    changes: Changes | None = None,
    containment: ContainmentMapData | None = None,
) -> folium.Map:
    """A folium map of ``footprints`` coloured by class (or fit) against the first comparison.

    ``comparisons``: :func:`~coterminosity.boundaries.comparison.compare` results (one per layer:
    councils, CCGs …), drawn as outlines with their split units outlined in magenta and the
    pieces outside each unit's main footprint striped. ``extra_layers``: more :class:`MapLayer`
    s (places, catchments, scenarios). ``focus``: a :class:`~coterminosity.boundaries.focus.Focus`
    (or a footprint code or name): draw only its neighbourhood. ``tiles``: none, osm or cartodb.
    ``fine``: the small-area layer the catalogue layers are built from, so that all layers are
    simplified together and shared edges stay shared. ``tolerance``: metres (None = from the
    extent). ``changes``: a :func:`~coterminosity.boundaries.changes.changes` result whose new
    layer is ``footprints`` (a scenario, or a later vintage): the old footprints are drawn as a
    "before" outline layer and the moved pieces highlighted with their people.
    ``containment``: patient flows (:func:`~coterminosity.boundaries.containment.containment_map_data`):
    each footprint's share kept inside joins its report (``color_by="containment"`` colours by it)
    and the destinations are drawn as circles sized by their flow.
    The map's ``coterm_summary`` attribute is a :class:`MapSummary`.
    """
    if not comparisons:
        raise InputError("map: compare the footprints with at least one layer (--against)")
    if tiles not in TILES:
        raise InputError(f"map: --tiles {tiles!r}: choose one of {', '.join(TILES)}")
    if color_by not in ("class", "score", "containment"):
        raise InputError(f"map: --color-by {color_by!r}: choose class, score or containment")
    if color_by == "containment" and containment is None:
        raise InputError("map: --color-by containment needs patient flows (--containment trust22 or a flow table)")
    if isinstance(focus, str):
        from ..boundaries.focus import focus_on

        focus = focus_on(footprints, comparisons, focus)
    focus_code = focus.code if focus else None
    keep = focus.keep if focus else None
    labels = [footprints.label] + [c.b.label for c in comparisons]
    if len(set(labels)) != len(labels):
        raise InputError(f"map: layers need different names ({', '.join(labels)})")
    if focus and tolerance is None:  # as fine as the zoomed-in view needs
        tolerance = auto_tolerance(focus.bounds)
    before = [changes.old] if changes is not None and changes.old.label not in labels else []
    display: Display = display_geometry([footprints] + [c.b for c in comparisons] + before, fine=fine,
                                        pieces_of=[c.b.label for c in comparisons] if pieces else [],
                                        keep=keep, tolerance=tolerance)
    summary = MapSummary(tolerance=display.tolerance, notes=list(display.notes))

    m = offline_map(tiles=None, width=width, height=height, control_scale=True, zoom_snap=0.25,
                    prefer_canvas=False)
    m.coterm_size = (width, height)
    if TILES[tiles]:
        folium.TileLayer(TILES[tiles], name=TILES[tiles], control=False).add_to(m)
    m.add_child(Attribution(DATA_CREDIT))

    first = comparisons[0]
    a_title, b_title = short_title(footprints.label), short_title(first.b.label)
    fp = footprint_frame(to_display(display.layers[footprints.label]), comparisons)
    if containment is not None:
        fp = with_containment(fp, containment)
    style, legend = _footprint_style(color_by, fp, focus_code, first.b.label)
    formats = {first.weight_col: _weight_text(first), "wrong_side": _weight_text(first)}
    for comp in comparisons[1:]:
        formats[f"{comp.b.label}_wrong_side"] = _weight_text(comp)
    columns = {c: t for c, t in {**footprint_columns(comparisons), **CONTAINMENT_COLUMNS}.items() if c in fp.columns}
    drawn = [draw(m, MapLayer(fp, f"{plain_title(footprints.label)} ({len(fp)})", popup_fields=columns,
                              style=style, z_index=410, formats=formats, heading=lambda r: f"{r['name']} ({r['code']})",
                              simplify=0, key="footprints", interactive=True, hover=True, search=True, labels=True))]

    for i, comp in enumerate(comparisons):
        label, col = comp.b.label, comp.weight_col
        words = unit_word(label)
        unit_style = UNIT_STYLES[i % len(UNIT_STYLES)]
        units = unit_frame(to_display(display.layers[label]), comp)
        ctext = _weight_text(comp)
        unit_formats = {col: ctext, "outside_largest": ctext}
        ucols = unit_columns(comp, footprints.label)
        drawn.append(draw(m, MapLayer(units, f"{plain_title(label)}: boundaries ({len(units)})", popup_fields=ucols,
                                      style=unit_style, z_index=420 + i, formats=unit_formats, simplify=0,
                                      key=f"units-{i}", search=True)))
        legend.append(legend_entry(f"{short_title(label)} boundary", unit_style))
        split = units[units["split"]]
        drawn.append(draw(m, MapLayer(split, f"{words.capitalize()} split between footprints ({len(split)})",
                                      popup_fields={}, style=SPLIT_STYLE, z_index=426 + i, simplify=0,
                                      key=f"split-{i}", report=False, halo=HALO)))
        if i == 0:
            legend.append({**legend_entry(f"{words.capitalize()} split between footprints "
                                          f"(no footprint holds {comp.threshold:.0%} of it)", SPLIT_STYLE),
                           "halo": HALO["color"]})
        if pieces:
            raw = display.pieces.get(label)
            if raw is None:  # drawn independently: cut the simplified shapes
                real = comp.overlay.real()
                pairs = real.loc[real["b_code"].isin(split["code"]), ["a_code", "b_code"]]
                raw = intersect_pieces(display.layers[footprints.label], display.layers[label], pairs)
            if keep is not None:  # only the pieces of the units drawn around the focus
                raw = raw[raw["b_code"].isin(keep[label])]
            parts = piece_frame(to_display(raw), comp, footprints.label)
            drawn.append(draw(m, MapLayer(
                parts, f"Pieces of split {words} (striped: outside their main footprint)",
                popup_fields=piece_columns(comp, footprints.label),
                style=lambda r: LARGEST_PIECE_STYLE if r["largest"] else WRONG_PIECE_STYLE,
                z_index=432 + i, formats={col: ctext}, heading=lambda r: r["name"], simplify=0, key=f"pieces-{i}")))
            if i == 0:
                legend.append(legend_entry(f"Striped: the part of a split {unit_word(label, False)} outside its main "
                                           "footprint (the one holding most of it)", WRONG_PIECE_STYLE))

    if changes is not None:
        drawn += _draw_changes(m, changes, display, fine, legend, focus_code is not None)
    bounds_4326 = fp[fp["code"] == focus_code].total_bounds if focus_code else fp.total_bounds
    for j, extra in enumerate(extra_layers or []):
        frame = extra.frame
        if focus_code:
            box = gpd.GeoSeries([shapely.box(*display.layers[footprints.label].total_bounds)],
                                crs=display.layers[footprints.label].crs).to_crs(frame.crs or "EPSG:27700")
            frame = frame[frame.intersects(box.iloc[0])]
        style = extra.style or EXTRA_STYLES[j % len(EXTRA_STYLES)]
        layer = MapLayer(**{**extra.__dict__, "frame": frame, "key": extra.key or f"extra-{j}", "style": style,
                            "z_index": extra.z_index if extra.z_index != 450 else 440 + j})
        drawn.append(draw(m, layer))
        legend.extend(as_legend(extra.legend) or [legend_entry(extra.name, style if isinstance(style, dict) else {})])

    notes = _notes(comparisons)
    if containment is not None:
        bounds = tuple(to_display(display.layers[footprints.label]).total_bounds) if focus_code else None
        drawn.append(draw_destinations(m, containment, bounds, legend, notes))
    heading_text = title or (f"{a_title} against {', '.join(short_title(c.b.label) for c in comparisons)}"
                             + (f" — around {focus.name}" if focus else ""))
    m.coterm_title = heading_text
    m.coterm_legend = legend
    west, south, east, north = bounds_4326
    m.add_child(Setup({
        "title": heading_text,
        "legend": {"title": f"{a_title} against {b_title}", "entries": legend, "notes": notes},
        "search": {"placeholder": f"Find a footprint or {unit_word(first.b.label, False)} (name or code)"},
        "labelName": "Footprint names", "labelZoom": 0,
        "bounds": [[float(south), float(west)], [float(north), float(east)]],
        "maxZoom": max_zoom(display.tolerance), "collapseBelow": 700, "patterns": PATTERNS,
    }))
    summary.layers = [(el.raw_name, el.pane, el.feature_count) for el in drawn]
    m.coterm_summary = summary
    return m


def _draw_changes(m: folium.Map, changes: Changes, display: Display, fine: Layer | None, legend: list[dict],
                  focused: bool) -> list:
    """The old footprints as a "before" outline and the moved pieces, striped black, with their people."""
    old = changes.old
    frame = display.layers.get(old.label)
    if frame is None:  # the same label as the footprints: draw the old frame as given
        frame = old.frame[["code", "geometry"]]
    frame = to_display(frame).merge(old.frame[["code", "name"]], on="code")
    if focused:
        west, south, east, north = to_display(display.layers[next(iter(display.layers))]).total_bounds
        frame = frame[frame.intersects(shapely.box(west, south, east, north))]
    title = f"Before: {plain_title(old.label)}"
    drawn = [draw(m, MapLayer(frame, f"{title} ({len(frame)})", popup_fields={"code": "Code"}, style=BEFORE_STYLE,
                              z_index=445, simplify=0, key="before"))]
    legend.append(legend_entry(f"{title}: boundaries before the change", BEFORE_STYLE))
    if len(changes.pieces):
        pieces = changes.pieces_frame(fine)
        amount = "people" if changes.population is not None else "LSOAs"
        total = pieces["people"].sum() if changes.population is not None else pieces["lsoas"].sum()
        columns = {"from_name": "From", "to_name": "To", "people": "People", "lsoas": "LSOAs",
                   "share_of_from": "Share of where it came from"}
        pieces = pieces.assign(code=pieces["piece"].astype(str), name=pieces["from_name"] + " → " + pieces["to_name"])
        drawn.append(draw(m, MapLayer(pieces, f"Moved pieces ({len(pieces)}: {total:,.0f} {amount})",
                                      popup_fields={c: t for c, t in columns.items() if c in pieces.columns},
                                      style=MOVED_STYLE, z_index=447, key="moved", search=True,
                                      heading=lambda r: f"Moved: {r['name']}")))
        legend.append(legend_entry(f"Moved: {len(pieces)} piece{'s' if len(pieces) != 1 else ''}, {total:,.0f} {amount} "
                                   "(black stripes)", MOVED_STYLE))
    return drawn


def _notes(comparisons: Sequence[Comparison]) -> list[str]:
    """The legend's sentences: what was compared, by what, and what "wrong side" means."""
    first = comparisons[0]
    words = unit_word(first.b.label)
    pop = first.population
    if first.by == "population" and pop is not None:
        weight = f"Weighted by population: {pop.label}, {pop.total:,.0f} people."
    else:
        weight = f"Weighted by {first.by.replace('_', ' ')}."
    amount = "people" if first.by == "population" else first.by.replace("_", " ")
    outside = format_value(first.weight_col, first.score.outside_main)
    return [
        f"{weight} Threshold {first.threshold:.0%}.",
        f"Wrong side (a footprint's number, as in the reports): for each of the {words} its boundary cuts, the "
        f"smaller of the part inside and the part outside it.",
        f"The stripes mark the pieces of {words} outside their main footprint: {outside} {amount} in all "
        "(the whole comparison), each counted once.",
        "Click anywhere for every layer at that point.",
    ]
