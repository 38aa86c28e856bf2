"""Patient flows on the map: each footprint's containment and the destinations (trusts) as circles.

Draws a :class:`~coterminosity.boundaries.containment.ContainmentMapData`: the share of each
footprint's residents' flow kept inside it joins the footprint's click report (and can colour the
footprints), and every destination is a circle whose area follows its flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np

from .geometry import to_display
from .layers import MapLayer, draw
from .styles import SCORE_COLOURS, class_style, legend_entry, score_colour

if TYPE_CHECKING:
    from ..boundaries.containment import ContainmentMapData

CONTAINMENT_COLUMNS = {"residents_flow": "Residents' flow (patients)", "retained": "Kept inside",
                       "containment_share": "Share of residents' flow kept inside",
                       "destination_share": "Share of its destinations' flow from its residents"}
CONTAINMENT_EDGES = np.array([0.0, 0.6, 0.7, 0.8, 0.9, 1.0])
MAX_RADIUS = 12.0


def with_containment(fp: gpd.GeoDataFrame, data: ContainmentMapData) -> gpd.GeoDataFrame:
    """The footprint frame with its containment columns (matched by code)."""
    cols = ["code"] + [c for c in CONTAINMENT_COLUMNS if c in data.footprints]
    return fp.merge(data.footprints[cols], on="code", how="left")


def containment_style(row) -> dict:
    """Footprint fill by the share of its residents' flow kept inside (viridis steps)."""
    return {**class_style("coterminous"), "fillColor": score_colour(float(row["containment_share"]), CONTAINMENT_EDGES)}


def containment_legend() -> list[dict]:
    """Legend lines of the containment colouring."""
    edges = CONTAINMENT_EDGES
    names = [f"kept inside: under {edges[1]:.0%}"] + [f"kept inside: {a:.0%} – {b:.0%}" for a, b in zip(edges[1:-1], edges[2:])]
    return [legend_entry(n, {"fillColor": c, "color": "#1a1a1a", "fillOpacity": 0.75}) for n, c in zip(names, SCORE_COLOURS)]


def draw_destinations(m: folium.Map, data: ContainmentMapData, bounds: tuple[float, float, float, float] | None,
                      legend: list[dict], notes: list[str]):
    """The destinations as circles (area ∝ flow), white with a black ring; click: home footprint and shares."""
    points = data.points[data.points.geometry.notna()]
    shown = to_display(points)
    if bounds is not None:
        west, south, east, north = bounds
        shown = shown.cx[west:east, south:north]
    top = float(points["patients"].max()) if len(points) else 1.0

    def style(row) -> dict:
        radius = round(max(3.0, MAX_RADIUS * float(np.sqrt(row["patients"] / top))), 1)
        return {"radius": radius, "color": "#000000", "weight": 1.5, "fill": True, "fillColor": "#ffffff",
                "fillOpacity": 0.85}

    columns = {"home_name": "Home footprint", "patients": "Flow (patients)", "from_home": "From its home footprint",
               "home_share": "Share from its home footprint"}
    layer = draw(m, MapLayer(shown, f"Destinations ({len(shown)}; circle area = flow)",
                             popup_fields={c: t for c, t in columns.items() if c in shown}, style=style, z_index=460,
                             simplify=0, key="destinations", search=True))
    legend.append({"label": "Destination (circle area = its flow)", "fill": "#ffffff", "stroke": "#000000",
                   "weight": 1.5, "opacity": 0.85})
    if data.overall is not None:
        notes.insert(1, f"Patient flow: {data.overall:.1%} of it stays inside its own footprint (England).")
    return layer
