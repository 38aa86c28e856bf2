"""Hand-made layers for the map tests, and reading a map's drawn features back."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import shapely

from coterminosity.geo.layer import BNG, Layer, Population
from coterminosity.maps.elements import FeatureLayer

NASTY = "<script>alert(1)</script>"
NASTY_IMG = '<img src=x onerror="alert(2)">'
X0, Y0 = 400_000, 300_000
# Screenshots go to a temporary folder; COTERM_SCREENSHOTS=docs/img refreshes the docs' images.
IMG = Path(os.environ.get("COTERM_SCREENSHOTS") or tempfile.mkdtemp(prefix="coterm-screenshots-"))


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def hand_layer(label, units):
    codes, names, geoms = zip(*units)
    return Layer(gpd.GeoDataFrame({"code": list(codes), "name": list(names)}, geometry=list(geoms), crs=BNG),
                 label=label)


def points(label, spots):
    """Population points: (x, y, people) in metres from the hand origin."""
    return Population(gpd.GeoDataFrame({"code": [f"p{i}" for i in range(len(spots))],
                                        "population": [p for *_, p in spots]},
                                       geometry=[shapely.Point(X0 + x, Y0 + y) for x, y, _ in spots], crs=BNG), label)


def features(m) -> dict[str, list[dict]]:
    """Pane → the GeoJSON features of each drawn layer, read back from the map elements."""
    return {el.pane: json.loads(el.data_json)["features"] for el in m._children.values() if isinstance(el, FeatureLayer)}


def report_labels(m) -> dict[str, list[str]]:
    """Pane → the plain column labels a click reports."""
    return {el.pane: json.loads(el.options_json)["popup"] for el in m._children.values() if isinstance(el, FeatureLayer)}


def row(m, pane: str, code: str) -> dict[str, str]:
    """What a click on one feature reports, as label → text."""
    feat = next(f for f in features(m)[pane] if f["properties"]["code"] == code)
    return dict(zip(report_labels(m)[pane], feat["properties"]["p"]))


