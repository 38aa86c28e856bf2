"""The geometry path on hand-made layers: a layer built from small cells against a drawn layer,
checked against plain shapely intersections and against numbers worked out by hand.

Coordinates are metres in EPSG:27700 near (400000, 300000).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries import geometry
from coterminosity.boundaries.geometry import by_membership, candidate_pairs, geometry_overlay, locate_points
from coterminosity.boundaries.overlay import overlay
from coterminosity.geo.build import build_layer, membership_from_table
from coterminosity.geo.layer import BNG, Layer, Population

X0, Y0 = 400_000, 300_000


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def layer(label, units, **kw):
    codes, geoms = zip(*units)
    frame = gpd.GeoDataFrame({"code": list(codes), "name": list(codes)}, geometry=list(geoms), crs=BNG)
    return Layer(frame, label=label, **kw)


def cells_world():
    """Sixteen 100 m cells (4 × 4) built into two councils: W (x < 200) and E (x ≥ 200)."""
    units = [(f"c{i}{j}", box(100 * i, 100 * j, 100 * (i + 1), 100 * (j + 1))) for i in range(4) for j in range(4)]
    cells = layer("cells", units, small_areas="cells")
    cells.members = pd.DataFrame({"small_code": cells.codes, "code": cells.codes})
    cells.blocks = pd.DataFrame({"code": cells.codes, "area_m2": cells.frame.area})
    table = pd.DataFrame({"cell": cells.codes, "council": ["W" if c[1] in "01" else "E" for c in cells.codes]})
    return cells, build_layer(cells, membership_from_table(cells.codes, table, "cell", "council"), "councils",
                              coverage=True)


# A drawn layer: a triangle over the south-west, a small square wholly inside W, and a strip
# crossing the W/E line at x = 200.
DRAWN = layer("drawn", [
    ("tri", shapely.Polygon([(X0, Y0), (X0 + 150, Y0), (X0, Y0 + 150)])),
    ("in", box(20, 320, 80, 380)),
    ("strip", box(150, 200, 350, 260)),
])


def test_areas_match_plain_shapely_intersection_and_hand_numbers():
    _, councils = cells_world()
    t = geometry_overlay(councils, DRAWN)
    got = {(r.a_code, r.b_code): r.area_m2 for r in t.pairs.itertuples()}
    plain = {}
    for a_code, ga in zip(councils.codes, councils.frame.geometry):
        for b_code, gb in zip(DRAWN.codes, DRAWN.frame.geometry):
            area = shapely.intersection(ga, gb).area
            if area > 0:
                plain[(a_code, b_code)] = area
    assert got.keys() == plain.keys()
    for key, area in plain.items():
        assert got[key] == pytest.approx(area, rel=1e-12)
    # By hand: the triangle (11,250 m²) and the square (3,600 m²) lie in W; the strip is 60 m
    # tall, 50 m of it in W (3,000 m²) and 150 m in E (9,000 m²).
    assert got == pytest.approx({("W", "tri"): 11_250.0, ("W", "in"): 3_600.0, ("W", "strip"): 3_000.0,
                                 ("E", "strip"): 9_000.0})
    # Only the square lies properly inside W (the triangle shares W's south and west edges). The
    # strip lies properly inside the councils' outline, so its larger piece (E) is its area less
    # the W piece: 12,000 − 3,000, with no intersection.
    assert "4 STRtree candidates, 1 whole containments, 2 exact intersections, 1 by difference" in t.notes[0]
    assert t.pairs.set_index(["a_code", "b_code"]).loc[("E", "strip"), "b_in_a_area"] == pytest.approx(0.75)


def test_candidate_pairs_are_the_same_whichever_side_holds_the_tree():
    cells, _ = cells_world()
    big = np.asarray(DRAWN.frame.geometry.values, dtype=object)
    small = np.asarray(cells.frame.geometry.values, dtype=object)
    ia, ib = candidate_pairs(small, big)  # the tree on the 16 cells
    jb, ja = candidate_pairs(big, small)  # the tree on the 16 cells again, from the other side
    assert sorted(zip(ia.tolist(), ib.tolist())) == sorted(zip(ja.tolist(), jb.tolist()))
    brute = {(i, j) for i, g in enumerate(small) for j, h in enumerate(big) if g.intersects(h)}
    assert set(zip(ia.tolist(), ib.tolist())) == brute
    # tri: cells c00, c01, c10 (c11's corner is beyond the hypotenuse); in: c03; strip (y 200–260):
    # columns 1–3 of row 2, and of row 1, whose top edge y = 200 it touches.
    assert len(brute) == 10


def test_locate_points_same_answer_with_the_tree_on_either_side(monkeypatch):
    polys = [box(0, 0, 50, 100), box(50, 0, 100, 100), box(100, 0, 150, 100)]
    pts = [shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 10, Y0 + 10), shapely.Point(X0 + 500, Y0),
           shapely.Point(X0 + 100, Y0 + 100), shapely.Point(X0 + 120, Y0 + 5)]
    on_polygons = locate_points(pts, polys)  # boxes are simple: the tree holds the polygons
    monkeypatch.setattr(geometry, "SIMPLE_POLYGON_VERTICES", 0)  # as if detailed: the tree holds the points
    on_points = locate_points(pts, polys)
    # Edge points go to the lowest-index polygon touching them; the far point is outside.
    assert on_polygons.tolist() == [0, 0, -1, 1, 2]
    assert on_points.tolist() == on_polygons.tolist()
    assert locate_points(pts[3:4], polys).tolist() == [1]  # fewer points than polygons


def test_point_of_a_member_small_area_outside_every_polygon_is_kept():
    # Cell c00's people stand 30 m west of England (like a centroid outside its generalised
    # polygon): by membership they belong to W; the drawn layer holds nobody there.
    cells, councils = cells_world()
    codes = ["c00", "c30", "c01"]
    pop = Population(gpd.GeoDataFrame({"code": codes, "population": [100.0, 40.0, 7.0]},
                                      geometry=[shapely.Point(X0 - 30, Y0 + 50), shapely.Point(X0 + 350, Y0 + 230),
                                                shapely.Point(X0 + 20, Y0 + 20)], crs=BNG),
                     label="hand", small_areas="cells")
    assert by_membership(councils, pop).tolist() == [1, 0, 1]  # councils are sorted: E, W
    assert by_membership(DRAWN, pop) is None
    t = geometry_overlay(councils, DRAWN, pop)
    units = t.a_units.set_index("code")["population"]
    assert units["W"] == 107.0 and units["E"] == 40.0
    assert t.b_units.set_index("code")["population"].to_dict() == {"tri": 7.0, "in": 0.0, "strip": 40.0}
    rows = t.pairs.set_index(["a_code", "b_code"])["population"]
    assert rows[("W", "tri")] == 7.0 and rows[("E", "strip")] == 40.0
    assert "population outside councils: 0; outside drawn: 100" in t.notes


def test_same_numbers_as_the_membership_path_where_both_apply():
    cells, councils = cells_world()
    table = pd.DataFrame({"cell": cells.codes, "row": ["S" if c[2] in "01" else "N" for c in cells.codes]})
    rows = build_layer(cells, membership_from_table(cells.codes, table, "cell", "row"), "rows", coverage=True)
    pop = Population(gpd.GeoDataFrame({"code": cells.codes, "population": np.arange(16, dtype=float)},
                                      geometry=list(cells.frame.geometry.centroid), crs=BNG),
                     label="cells", small_areas="cells")
    exact = overlay(councils, rows, pop)
    drawn = overlay(councils, rows, pop, method="geometry")
    assert exact.method == "membership" and drawn.method == "geometry"
    cols = ["a_code", "b_code", "area_m2", "population", "small_areas"]
    pd.testing.assert_frame_equal(exact.pairs[cols], drawn.real()[cols].reset_index(drop=True), check_dtype=False)
    # W ∩ S: cells c00, c01, c10, c11 → people 0 + 1 + 4 + 5 = 10 on 40,000 m².
    w_s = exact.pairs.set_index(["a_code", "b_code"]).loc[("W", "S")]
    assert w_s["population"] == 10 and w_s["area_m2"] == pytest.approx(40_000.0)


def test_overlapping_drawn_units_are_not_taken_for_a_partition():
    # p and q cover both councils and overlap on x 150–250: W's pieces (all of W in p, and
    # 20,000 m² in q) add up to more than W, so none may come by difference.
    _, councils = cells_world()
    drawn = layer("ov", [("p", box(-10, -10, 250, 410)), ("q", box(150, -10, 410, 410))])
    t = geometry_overlay(councils, drawn)
    got = {(r.a_code, r.b_code): r.area_m2 for r in t.pairs.itertuples()}
    assert got == pytest.approx({("W", "p"): 80_000.0, ("W", "q"): 20_000.0, ("E", "p"): 20_000.0,
                                 ("E", "q"): 80_000.0})
    assert "2 whole containments, 2 exact intersections, 0 by difference" in t.notes[0]
