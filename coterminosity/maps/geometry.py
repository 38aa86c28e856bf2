"""Display geometry: simplified with topology kept, in EPSG:4326, coordinates rounded.

Layers built from the same small areas (every catalogue layer is a union of LSOAs) are drawn
from one set of *atoms*: the LSOAs dissolved by their unit in every such layer (footprint ×
council × …). The atoms form a clean coverage, so one ``shapely.coverage_simplify`` keeps
neighbours meeting and makes a footprint edge and a council edge the very same line wherever
they coincide. Each displayed unit is the coverage union of its simplified atoms, and the
pieces of a split council (footprint ∩ council) are atoms too. Other layers (drawn
independently) are simplified on their own coverage, or feature by feature if they overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo.build import dissolve_geometries
from ..geo.layer import BNG, Layer

WGS84 = "EPSG:4326"
DECIMALS = 5  # 1e-5 degrees ≈ 1 m: finer than any screen, small in the HTML
MIN_TOLERANCE, MAX_TOLERANCE = 5.0, 250.0


def auto_tolerance(bounds: tuple[float, float, float, float]) -> float:
    """Simplification tolerance (m) for an extent in EPSG:27700: about 1/6000 of its diagonal.

    All of England (≈ 920 km across) gets ≈ 150 m; one footprint's neighbourhood ≈ 20–40 m.
    """
    minx, miny, maxx, maxy = bounds
    diagonal = float(np.hypot(maxx - minx, maxy - miny))
    return float(np.clip(diagonal / 6000, MIN_TOLERANCE, MAX_TOLERANCE))


@dataclass
class Display:
    """Simplified geometry per layer label (``code``, ``geometry`` in EPSG:27700) and split pieces."""

    layers: dict[str, gpd.GeoDataFrame]
    pieces: dict[str, gpd.GeoDataFrame]  # B label → a_code, b_code, geometry (footprint ∩ B)
    tolerance: float
    notes: list[str] = field(default_factory=list)


def _union(geoms: np.ndarray, groups: np.ndarray) -> dict[str, shapely.Geometry]:
    return dissolve_geometries(geoms, groups.astype(str), coverage=True)


def _frame(unions: dict, crs=BNG) -> gpd.GeoDataFrame:
    codes = sorted(unions)
    return gpd.GeoDataFrame({"code": codes}, geometry=[unions[c] for c in codes], crs=crs)


def simplify_coverage(geoms: np.ndarray, tolerance: float) -> tuple[np.ndarray, str]:
    """``coverage_simplify`` when the polygons form a valid coverage, else per-feature topology-preserving simplify."""
    geoms = np.asarray(geoms, dtype=object)
    if tolerance <= 0:
        return geoms, "not simplified"
    try:
        if bool(shapely.coverage_is_valid(geoms)):
            out = shapely.coverage_simplify(geoms, tolerance)
            if not shapely.is_empty(out).any():
                return out, f"coverage simplified at {tolerance:.0f} m (neighbours still meet)"
    except shapely.errors.GEOSException:
        pass
    return (shapely.simplify(geoms, tolerance, preserve_topology=True),
            f"simplified feature by feature at {tolerance:.0f} m (not a clean coverage: shared edges may differ slightly)")


def shared_atoms(layers: list[Layer], fine: Layer, keep: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """Per small area, its unit code in every layer (columns = layer labels; '' where none)."""
    table = None
    for layer in layers:
        m = layer.members.drop_duplicates("small_code").rename(columns={"code": layer.label})
        table = m if table is None else table.merge(m, on="small_code", how="outer")
    table = table.fillna("")
    if keep:
        wanted = np.zeros(len(table), dtype=bool)
        for label, codes in keep.items():
            if label in table.columns:
                wanted |= table[label].isin(codes).to_numpy()
        table = table[wanted]
    return table[table["small_code"].isin(fine.frame["code"])].reset_index(drop=True)


def display_geometry(layers: list[Layer], *, fine: Layer | None = None, pieces_of: list[str] | None = None,
                     keep: dict[str, set[str]] | None = None, tolerance: float | None = None) -> Display:
    """Simplified geometry for every layer (the first is the footprints) and the footprint × B pieces.

    ``fine`` is the small-area layer the catalogue layers are built from (needed for atoms);
    ``pieces_of`` names the B layers whose pieces are wanted; ``keep`` restricts each layer to
    some codes (a focus neighbourhood); ``tolerance`` in metres (None = from the extent).
    """
    keep = keep or {}
    first = layers[0]
    shared = [l for l in layers if fine is not None and l.members is not None and l.small_areas == fine.label]
    if shared and first not in shared:
        shared = []
    own = {l.label: l.frame[l.frame["code"].isin(keep[l.label])] if l.label in keep else l.frame for l in layers}
    if tolerance is None:
        bounds = pd.concat([f.geometry for f in own.values()]).total_bounds if own else (0, 0, 0, 0)
        tolerance = auto_tolerance(tuple(bounds))
    out_layers, pieces, notes = {}, {}, []
    if shared:
        atoms = shared_atoms(shared, fine, keep)
        labels = [l.label for l in shared]
        atoms["key"] = atoms[labels].agg("|".join, axis=1)
        geoms = fine.frame.set_index("code").geometry.reindex(atoms["small_code"]).to_numpy()
        unions = _union(geoms, atoms["key"].to_numpy())
        keys = sorted(unions)
        simple, how = simplify_coverage(np.array([unions[k] for k in keys], dtype=object), tolerance)
        parts = pd.DataFrame([k.split("|") for k in keys], columns=labels)
        notes.append(f"{', '.join(labels)}: drawn from {len(keys):,} shared pieces, {how}")
        for label in labels:
            has = parts[label] != ""
            frame = _frame(_union(simple[has.to_numpy()], parts.loc[has, label].to_numpy()))
            if label in keep:
                frame = frame[frame["code"].isin(keep[label])]
            out_layers[label] = frame.reset_index(drop=True)
        for label in pieces_of or []:
            if label in labels and label != first.label:
                has = ((parts[first.label] != "") & (parts[label] != "")).to_numpy()
                pair = (parts.loc[has, first.label] + "|" + parts.loc[has, label]).to_numpy()
                frame = _frame(_union(simple[has], pair))
                codes = frame["code"].str.split("|", n=1, expand=True)
                frame.insert(0, "a_code", codes[0] if len(frame) else [])
                frame.insert(1, "b_code", codes[1] if len(frame) else [])
                pieces[label] = frame.drop(columns="code")
    for layer in layers:
        if layer.label in out_layers:
            continue
        frame = own[layer.label]
        simple, how = simplify_coverage(frame.geometry.to_numpy(), tolerance)
        notes.append(f"{layer.label}: {how}")
        out_layers[layer.label] = gpd.GeoDataFrame({"code": frame["code"].to_numpy()}, geometry=simple, crs=BNG)
    return Display(out_layers, pieces, tolerance, notes)


def intersect_pieces(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, pairs: pd.DataFrame) -> gpd.GeoDataFrame:
    """Pieces a ∩ b for the given (a_code, b_code) pairs, from already simplified geometry."""
    ga = a.set_index("code").geometry
    gb = b.set_index("code").geometry
    pairs = pairs[pairs["a_code"].isin(ga.index) & pairs["b_code"].isin(gb.index)]
    left = shapely.make_valid(ga.reindex(pairs["a_code"]).to_numpy())
    right = shapely.make_valid(gb.reindex(pairs["b_code"]).to_numpy())
    try:
        geoms = shapely.intersection(left, right)
    except shapely.errors.GEOSException:
        # Shapes simplified one by one can meet at nearly-coincident edges that defeat the
        # floating-point overlay; snap-rounding on a 1 cm grid is robust and invisible on a map.
        geoms = shapely.intersection(left, right, grid_size=0.01)
    frame = gpd.GeoDataFrame({"a_code": pairs["a_code"].to_numpy(), "b_code": pairs["b_code"].to_numpy()},
                             geometry=geoms, crs=BNG)
    frame.geometry = [_polygonal(g) for g in frame.geometry.values]
    return frame[~frame.geometry.is_empty].reset_index(drop=True)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of an intersection result (edges and corner points dropped)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys) if polys else shapely.Polygon()


def to_display(frame: gpd.GeoDataFrame, decimals: int = DECIMALS) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 and round coordinates; equal inputs round equally, so shared edges stay shared."""
    out = frame.to_crs(WGS84) if frame.crs is not None else frame.set_crs(WGS84)
    out = out.copy()
    out.geometry = shapely.transform(out.geometry.values, lambda xy: np.round(xy, decimals))
    return out
