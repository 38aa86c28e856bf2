"""Put any table of polygons on a map as one toggleable layer: :class:`MapLayer` and :func:`add_layer`.

This is the hook other features use (places, catchments, scenarios): give a GeoDataFrame with
``code``, ``name`` and ``geometry`` plus the columns to show, and a Leaflet style.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.ops import polylabel

from ..geo.layer import BNG
from ..report import format_cell
from .elements import FeatureLayer, Setup, pane_name, safe_json
from .geometry import auto_tolerance, simplify_coverage, to_display
from .styles import as_legend

Style = Mapping[str, object]
StyleArg = Style | Callable[[pd.Series], Style] | None

DEFAULT_STYLE = {"color": "#444444", "weight": 1.2, "fill": True, "fillColor": "#999999", "fillOpacity": 0.15}


def format_value(column: str, value) -> str:
    """Display text for one cell: as in the reports (:func:`~coterminosity.report.format_cell`), areas in km²."""
    if column.endswith("area_m2") and isinstance(value, (int, float, np.integer, np.floating)) and not pd.isna(value):
        return f"{float(value) / 1e6:,.1f} km²"
    return format_cell(value, column)


def _fields(fields: Sequence[str] | Mapping[str, str] | None, frame: pd.DataFrame, default: list[str]) -> dict[str, str]:
    """Column → label; a list keeps column names as labels."""
    if fields is None:
        fields = default
    if isinstance(fields, Mapping):
        out = dict(fields)
    else:
        out = {c: c for c in fields}
    missing = [c for c in out if c not in frame.columns]
    if missing:
        raise KeyError(f"map layer: no column {missing[0]!r} to show (columns: {', '.join(map(str, frame.columns))})")
    return out


@dataclass
class MapLayer:
    """One layer to draw: polygons with ``code``, ``name``, ``geometry`` and the columns to show.

    A click on the map reports every visible layer's features at that point in one popup:
    ``popup_fields`` (columns, or column → plain label; default ``tooltip_fields``, else every
    column). Hover shows only the heading, and only where ``hover`` is set (the footprints), so
    extra layers never steal it; ``interactive=False`` lets the mouse through to the layers below.
    ``style``: Leaflet path options, or a function of the row returning them. ``formats``:
    column → function giving the display text (default :func:`format_value`). ``legend``: legend
    entries (see :func:`~coterminosity.maps.styles.legend_entry`). ``simplify``: tolerance in
    metres (None = from the extent, 0 = draw as given). ``search``: findable by name and code in
    the search box; ``labels``: names drawn at each feature's label point from a zoom where they
    fit; ``halo``: a wider line drawn under the layer so it stands out on any fill.
    """

    frame: gpd.GeoDataFrame
    name: str
    tooltip_fields: Sequence[str] | Mapping[str, str] | None = None
    style: StyleArg = None
    popup_fields: Sequence[str] | Mapping[str, str] | None = None
    show: bool = True
    z_index: int = 450
    formats: dict[str, Callable[[object], str]] = field(default_factory=dict)
    heading: Callable[[pd.Series], str] | None = None
    legend: list[tuple[str, Style]] | None = None
    simplify: float | None = None
    interactive: bool = False
    key: str | None = None  # pane name suffix (default: from the name)
    hover: bool = False
    report: bool = True
    search: bool = False
    labels: bool = False
    halo: Style | None = None
    control: bool = True


def label_point(geom) -> list[float] | None:
    """Where to write a polygon's name: the pole of inaccessibility of its largest part, as [lat, lon]."""
    parts = [p for p in shapely.get_parts(geom) if not p.is_empty]
    if not parts:
        return None
    largest = max(parts, key=lambda p: p.area)
    point = polylabel(largest, tolerance=max(largest.length / 2000, 1e-5))
    return [round(point.y, 5), round(point.x, 5)]


def _geojson(frame: gpd.GeoDataFrame, layer: MapLayer) -> tuple[str, list[dict], int, list[str]]:
    """The layer's GeoJSON text (properties: code, style index, heading, report values) and its styles."""
    default = layer.tooltip_fields if layer.tooltip_fields is not None else [c for c in frame.columns if c != "geometry"]
    _fields(layer.tooltip_fields, frame, ["code", "name"])  # a missing column is an error either way
    popup = _fields(layer.popup_fields if layer.popup_fields is not None else default, frame, [])
    fmt = layer.formats

    def text(col, value):
        return fmt[col](value) if col in fmt else format_value(col, value)

    styles: list[dict] = []
    index: dict[str, int] = {}
    features = []
    for _, row in frame.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        style = layer.style(row) if callable(layer.style) else (layer.style or DEFAULT_STYLE)
        style = dict(style)
        skey = json.dumps(style, sort_keys=True)
        if skey not in index:
            index[skey] = len(styles)
            styles.append(style)
        heading = layer.heading(row) if layer.heading else f"{row.get('name', '')} ({row.get('code', '')})"
        properties = {"code": str(row.get("code", "")), "s": index[skey], "h": str(heading),
                      "p": [text(c, row[c]) for c in popup]}
        if layer.labels:
            properties["n"] = str(row.get("name", ""))
            properties["lp"] = label_point(geom)
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": properties})
    data = {"type": "FeatureCollection", "features": features}
    return safe_json(data), styles, len(features), list(popup.values())


def prepare_geometry(frame: gpd.GeoDataFrame, tolerance: float | None) -> gpd.GeoDataFrame:
    """Simplify (coverage-aware) in EPSG:27700 and convert to rounded EPSG:4326 for drawing."""
    if frame.crs is None:
        frame = frame.set_crs(BNG)
    if tolerance != 0:
        work = frame.to_crs(BNG)
        tol = auto_tolerance(tuple(work.total_bounds)) if tolerance is None else tolerance
        simple, _ = simplify_coverage(work.geometry.to_numpy(), tol)
        frame = work.set_geometry(gpd.GeoSeries(simple, index=work.index, crs=BNG))
    return to_display(frame)


def map_name(m: folium.Map) -> str:
    """The JavaScript name of the Leaflet map an element belongs to."""
    node = m
    while node is not None and not isinstance(node, folium.Map):
        node = getattr(node, "_parent", None)
    if node is None:
        raise ValueError("add the layer to a folium.Map (or a child of one)")
    return node.get_name()


def draw(m: folium.Map, layer: MapLayer) -> FeatureLayer:
    """Add a :class:`MapLayer` to ``m`` (simplifying and reprojecting its geometry) and return the element."""
    frame = layer.frame
    if layer.simplify != 0 or str(frame.crs).upper() != "EPSG:4326":
        frame = prepare_geometry(frame, layer.simplify)
    data, styles, count, pop_labels = _geojson(frame, layer)
    pane = pane_name(layer.key or layer.name)
    options = {"pane": pane, "z": layer.z_index, "styles": styles, "popup": pop_labels, "label": layer.name,
               "interactive": layer.interactive or layer.hover, "hover": layer.hover, "report": layer.report,
               "search": layer.search, "labels": layer.labels, "halo": dict(layer.halo) if layer.halo else None,
               "control": layer.control, "show": layer.show}
    element = FeatureLayer(map_name(m), data, options, name=layer.name, show=layer.show)
    element.feature_count = count
    element.raw_name = layer.name
    element.pane = pane
    m.add_child(element)
    # The set-up (layer control, search, legend) reads the layers defined before it: keep it after
    # every layer, so that layers added to a finished map (add_layer on build_map's result) count too.
    for key, child in list(m._children.items()):
        if isinstance(child, Setup):
            m._children.move_to_end(key)
    if layer.legend and isinstance(getattr(m, "coterm_legend", None), list):
        m.coterm_legend.extend(as_legend(layer.legend))
    return element


def add_layer(m: folium.Map, layer_frame: gpd.GeoDataFrame, name: str,
              tooltip_fields: Sequence[str] | Mapping[str, str] | None = None, style: StyleArg = None,
              **options) -> FeatureLayer:
    """Add polygons as a toggleable layer: ``add_layer(m, places_frame, "Places", ["code", "name"], {"color": "red"})``.

    ``options`` are the other :class:`MapLayer` fields (``popup_fields``, ``show``, ``z_index``,
    ``formats``, ``heading``, ``simplify``). Text is escaped; geometry in any CRS.
    """
    return draw(m, MapLayer(layer_frame, name, tooltip_fields, style, **options))
