"""Synthetic layers for the scaling bench: hexagon grids and dense square cells covering England.

Nothing here is committed as data: every layer is generated from the England outline (the
union of a catalogue layer) in a second or two.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

BNG = "EPSG:27700"


def england_outline(layer) -> shapely.Geometry:
    """The union of a catalogue layer's units (a coverage, so coverage_union is exact and fast)."""
    return shapely.coverage_union_all(np.asarray(layer.frame.geometry.values, dtype=object))


def _keep_inside(cells: np.ndarray, outline: shapely.Geometry) -> np.ndarray:
    """The cells touching the outline (STRtree on the cells, queried with the one prepared outline)."""
    shapely.prepare(outline)
    hit = shapely.STRtree(cells).query(outline, predicate="intersects")
    return cells[np.sort(hit)]


def hexagons(outline: shapely.Geometry, n: int) -> gpd.GeoDataFrame:
    """About ``n`` flat-topped hexagons of equal size covering ``outline`` (code ``h<i>``)."""
    area = outline.area / n
    side = math.sqrt(2 * area / (3 * math.sqrt(3)))
    dx, dy = 1.5 * side, math.sqrt(3) * side
    x0, y0, x1, y1 = outline.bounds
    cols = np.arange(int((x1 - x0) / dx) + 2)
    rows = np.arange(int((y1 - y0) / dy) + 2)
    cx, cy = np.meshgrid(x0 + cols * dx, y0 + rows * dy)
    cy = cy + np.where(cols % 2 == 1, dy / 2, 0.0)[None, :]
    cx, cy = cx.ravel(), cy.ravel()
    angles = np.deg2rad(np.arange(0, 360, 60))
    ring = np.stack([cx[:, None] + side * np.cos(angles), cy[:, None] + side * np.sin(angles)], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    cells = _keep_inside(shapely.polygons(ring), outline)
    codes = [f"h{i}" for i in range(len(cells))]
    return gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=cells, crs=BNG)


def dense_squares(outline: shapely.Geometry, per_side: int = 290, vertices: int = 48) -> gpd.GeoDataFrame:
    """A ``per_side``² grid of square cells over the outline's bounds (sea included, as a grid file
    would be), each edge densified so a cell has about ``vertices`` points."""
    x0, y0, x1, y1 = outline.bounds
    xs, ys = np.linspace(x0, x1, per_side + 1), np.linspace(y0, y1, per_side + 1)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + (xs[1] - xs[0]), gy.ravel() + (ys[1] - ys[0]))
    cells = shapely.segmentize(boxes, max_segment_length=4 * (xs[1] - xs[0]) / vertices)
    codes = [f"c{i}" for i in range(len(cells))]
    return gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=cells, crs=BNG)


def scattered_points(outline: shapely.Geometry, n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` random points inside the outline with whole-number counts (a stand-in for postcodes)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = outline.bounds
    shapely.prepare(outline)
    kept: list[np.ndarray] = []
    have = 0
    while have < n:
        xy = rng.uniform((x0, y0), (x1, y1), size=(2 * (n - have) + 1000, 2))
        inside = shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
        kept.append(xy[inside])
        have += int(inside.sum())
    xy = np.concatenate(kept)[:n]
    return gpd.GeoDataFrame({"code": [f"p{i}" for i in range(n)], "population": rng.integers(1, 60, n).astype(float)},
                            geometry=shapely.points(xy), crs=BNG)
