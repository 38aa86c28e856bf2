"""Places: footprints split into place units, fragments, slivers, neighbourhoods and proposed-place checks.

Hand-made layers first (answers worked out by hand in the comments), then the real 2017 STP
footprints checked against an independent pandas group-by on the ONS lookups.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.places import check_proposed, neighbourhood_range, places, select_footprints
from coterminosity.cli import main
from coterminosity.errors import CotermError
from coterminosity.geo.layer import BNG, Layer, Population

X0, Y0 = 400_000, 300_000


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


# ---------------------------------------------------------------- a toy world of eight small areas
# s1..s8 are 100 m squares in a row. Footprints F1 = s1–s4, F2 = s5–s8.
# Councils C1 = s1–s3, C2 = s4–s6 (cut by the footprint line), C3 = s7–s8.
SMALL = [f"s{i}" for i in range(1, 9)]
PEOPLE = [20_000, 30_000, 40_000, 1_000, 50_000, 10_000, 30_000, 35_000]


def toy_fine() -> Layer:
    frame = gpd.GeoDataFrame({"code": SMALL, "name": SMALL},
                             geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(8)], crs=BNG)
    blocks = pd.DataFrame({"code": SMALL, "area_m2": 10_000.0})
    members = pd.DataFrame({"small_code": SMALL, "code": SMALL})
    return Layer(frame, "toy", members=members, small_areas="toy", blocks=blocks)


def toy_layer(label: str, groups: dict[str, list[int]], names: dict[str, str] | None = None) -> Layer:
    """A layer whose units are unions of the toy squares (1-based indices)."""
    codes = list(groups)
    geoms = [shapely.union_all([box(100 * (i - 1), 0, 100 * i, 100) for i in groups[c]]) for c in codes]
    frame = gpd.GeoDataFrame({"code": codes, "name": [(names or {}).get(c, f"{label} {c}") for c in codes]},
                             geometry=geoms, crs=BNG)
    members = pd.DataFrame([(f"s{i}", c) for c in codes for i in groups[c]], columns=["small_code", "code"])
    blocks = pd.DataFrame({"code": SMALL, "area_m2": 10_000.0})
    return Layer(frame, label, members=members, small_areas="toy", blocks=blocks)


def toy_population() -> Population:
    frame = gpd.GeoDataFrame({"code": SMALL, "population": [float(p) for p in PEOPLE]},
                             geometry=[shapely.Point(X0 + 100 * i + 50, Y0 + 50) for i in range(8)], crs=BNG)
    return Population(frame, "toy people", small_areas="toy")


FOOTPRINTS = toy_layer("fp", {"F1": [1, 2, 3, 4], "F2": [5, 6, 7, 8]})
COUNCILS = toy_layer("council", {"C1": [1, 2, 3], "C2": [4, 5, 6], "C3": [7, 8]})


def place(result, footprint, code):
    rows = result.table[(result.table.footprint == footprint) & (result.table.code == code)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_places_membership_toy_worked_by_hand():
    r = places(FOOTPRINTS, COUNCILS, toy_population())
    assert r.method == "membership"
    assert len(r.table) == 4  # F1∩C1, F1∩C2, F2∩C2, F2∩C3
    # F1 holds 91,000: C1 (90,000) whole, and s4 (1,000 people) cut from C2.
    c1 = place(r, "F1", "C1")
    assert c1.population == 90_000 and c1.kind == "place"
    assert c1.footprint_share == pytest.approx(90_000 / 91_000) and c1.unit_share == pytest.approx(1.0)
    assert c1.area_km2 == pytest.approx(0.03)
    # s4 is 1.1% of F1 (< 2%) and C2 is not whole in F1 (1,000 of 61,000): a fragment.
    frag = place(r, "F1", "C2")
    assert frag.kind == "fragment" and frag.population == 1_000
    assert frag.footprint_share == pytest.approx(1_000 / 91_000)
    assert frag.unit_share == pytest.approx(1_000 / 61_000)
    # C2's other piece is 48% of F2: a place even though C2 is divided.
    assert place(r, "F2", "C2").kind == "place"
    # Neighbourhoods: 90,000 → ceil(1.8)=2 … floor(3.0)=3; 60,000 → 2 … 2; 65,000 → 2 … 2; 1,000 → 1 … 0 (none fits).
    assert (c1.nbhd_min, c1.nbhd_max) == (2, 3)
    assert (place(r, "F2", "C2").nbhd_min, place(r, "F2", "C2").nbhd_max) == (2, 2)
    assert (frag.nbhd_min, frag.nbhd_max) == (1, 0)
    per = r.footprints.set_index("code")
    assert per.loc["F1", "population"] == 91_000 and per.loc["F2", "population"] == 125_000
    assert per.loc["F1", "places"] == 1 and per.loc["F1", "fragments"] == 1 and per.loc["F1", "slivers"] == 0
    # Footprint ranges: 91,000 → 2 … 3; 125,000 → 3 … 4. Sum over whole places: F2 = (2+2) … (2+2).
    assert (per.loc["F1", "nbhd_min"], per.loc["F1", "nbhd_max"]) == (2, 3)
    assert (per.loc["F2", "nbhd_min"], per.loc["F2", "nbhd_max"]) == (3, 4)
    assert (per.loc["F2", "place_nbhd_min"], per.loc["F2", "place_nbhd_max"]) == (4, 4)


def test_min_share_option_turns_fragment_into_place():
    r = places(FOOTPRINTS, COUNCILS, toy_population(), min_share=0.01)  # 1.1% is no longer under the line
    assert place(r, "F1", "C2").kind == "place"
    # C2's piece in F2 is 48% of F2 but holds 60,000 of C2's 61,000 (98.4%): whole at threshold 0.98 …
    r = places(FOOTPRINTS, COUNCILS, toy_population(), min_share=0.5)
    assert place(r, "F2", "C2").kind == "place"
    # … and a fragment when 99% is needed to count as whole.
    r = places(FOOTPRINTS, COUNCILS, toy_population(), min_share=0.5, threshold=0.99)
    assert place(r, "F2", "C2").kind == "fragment"
    assert place(r, "F2", "C3").kind == "place"  # C3 is whole in F2: never a fragment


def test_neighbourhood_range_rule():
    low, high = neighbourhood_range([29_999, 30_000, 50_000, 55_000, 60_000, 100_000, 1_043_665])
    assert low.tolist() == [1, 1, 1, 2, 2, 2, 21]
    assert high.tolist() == [0, 1, 1, 1, 2, 3, 34]
    # A float sum a hair under a multiple is not pushed under it.
    assert neighbourhood_range([60_000 - 1e-9])[1].tolist() == [2]


def test_select_footprints_by_code_and_name():
    assert select_footprints(FOOTPRINTS, ["F2"]).codes.tolist() == ["F2"]
    assert select_footprints(FOOTPRINTS, ["fp F1"]).codes.tolist() == ["F1"]
    with pytest.raises(CotermError, match="2 footprints match 'fp'"):
        select_footprints(FOOTPRINTS, ["fp"])
    assert select_footprints(FOOTPRINTS, ["F2"]).members.code.unique().tolist() == ["F2"]


# ---------------------------------------------------------------- geometry path: slivers


def geo_layer(label, units):
    codes, geoms = zip(*units)
    frame = gpd.GeoDataFrame({"code": list(codes), "name": [f"{label} {c}" for c in codes]}, geometry=list(geoms),
                             crs=BNG)
    return Layer(frame, label=label)


def points(rows):
    frame = gpd.GeoDataFrame({"code": [f"p{i}" for i in range(len(rows))], "population": [p for *_, p in rows]},
                             geometry=[shapely.Point(X0 + x, Y0 + y) for x, y, _ in rows], crs=BNG)
    return Population(frame, "hand")


def test_sliver_from_boundary_mismatch_flagged_with_thresholds():
    # Footprint F is 100 m square; unit U2 was drawn 1 cm over F's east edge: a 1 m² strip, nobody in it.
    fp = geo_layer("fp", [("F", box(0, 0, 100, 100))])
    units = geo_layer("u", [("U1", box(0, 0, 99.99, 100)), ("U2", box(99.99, 0, 200, 100))])
    people = points([(50, 50, 100), (150, 50, 200)])
    r = places(fp, units, people)
    assert r.method == "geometry"
    sliver = place(r, "F", "U2")
    assert sliver.kind == "sliver" and sliver.area_km2 * 1e6 == pytest.approx(1.0) and sliver.population == 0
    assert place(r, "F", "U1").kind == "place"
    per = r.footprints.set_index("code")
    assert per.loc["F", "slivers"] == 1 and per.loc["F", "places"] == 1
    # Thresholds are options: under 0.5 m² and no share rule, the strip is a real (empty) piece: a fragment.
    r = places(fp, units, people, sliver_share=0.0, sliver_area=0.5)
    assert place(r, "F", "U2").kind == "fragment"


# ---------------------------------------------------------------- proposed places: gaps, overlaps, spill


def test_proposed_places_gaps_overlaps_and_spill_by_hand():
    fps = geo_layer("fp", [("F", box(0, 0, 100, 100)), ("G", box(100, 0, 200, 100))])
    proposed = geo_layer("prop", [
        ("P1", box(-10, 0, 60, 100)),   # 10 m over F's west edge: 1,000 m² spill
        ("P2", box(50, 0, 100, 50)),    # overlaps P1 on x 50–60, y 0–50: 500 m²
        ("P3", box(100, 0, 200, 100)),  # exactly G
    ])  # F's gap: x 60–100, y 50–100 = 2,000 m²
    people = points([
        (20, 50, 100),   # in P1 only
        (55, 25, 7),     # in P1 and P2: overlap
        (80, 75, 11),    # in no place: gap
        (60, 75, 5),     # on P1's edge at the gap: covered, not a gap, not an overlap
        (-5, 50, 3),     # outside every footprint, inside P1: spill
        (150, 50, 40),   # G, in P3
    ])
    t = check_proposed(fps, proposed, people).table.set_index("code")
    f, g = t.loc["F"], t.loc["G"]
    assert f.places == 2 and g.places == 1
    assert f.area_km2 == pytest.approx(0.01)
    assert f.gap_km2 * 1e6 == pytest.approx(2_000) and f.overlap_km2 * 1e6 == pytest.approx(500)
    assert f.spill_km2 * 1e6 == pytest.approx(1_000)
    assert f.population == 123 and f.gap_population == 11 and f.overlap_population == 7 and f.spill_population == 3
    assert not f.tiles
    assert g.gap_km2 == 0 and g.overlap_km2 == 0 and g.spill_km2 == 0 and g.population == 40 and g.tiles


def test_proposed_places_that_tile_exactly():
    fps = geo_layer("fp", [("F", box(0, 0, 100, 100))])
    proposed = geo_layer("prop", [("A", box(0, 0, 50, 100)), ("B", box(50, 0, 100, 100))])
    people = points([(25, 50, 10), (50, 50, 4), (75, 50, 6)])  # one on the shared edge
    t = check_proposed(fps, proposed, people).table
    assert t.loc[0, "tiles"] and t.loc[0, "gap_population"] == 0 and t.loc[0, "overlap_population"] == 0
    assert t.loc[0, "population"] == 20


def test_proposed_places_elsewhere_is_an_error():
    fps = geo_layer("fp", [("F", box(0, 0, 100, 100))])
    far = geo_layer("prop", [("A", box(5_000, 0, 5_100, 100))])
    with pytest.raises(CotermError, match="no proposed place overlaps"):
        check_proposed(fps, far)


def test_cli_proposed_file(tmp_path, capsys):
    fps = geo_layer("fp", [("F", box(0, 0, 100, 100))]).frame
    prop = gpd.GeoDataFrame({"code": ["A", "B"], "name": ["west", "east"]},
                            geometry=[box(0, 0, 40, 100), box(50, 0, 100, 100)], crs=BNG)
    fps.to_file(tmp_path / "fp.gpkg")
    prop.to_file(tmp_path / "prop.gpkg")
    rc = main(["places", str(tmp_path / "fp.gpkg"), "--proposed", str(tmp_path / "prop.gpkg"), "--no-population",
               "--code-col", "code", "--format", "json"])
    assert rc == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["gap_km2"] * 1e6 == pytest.approx(1_000) and row["tiles"] is False


# ---------------------------------------------------------------- real data


def independent_places(ons_lsoas) -> pd.Series:
    """Footprint × upper-tier council populations straight from the ONS lookups (no coterminosity code)."""
    return ons_lsoas.groupby(["STP17CD", "upper"])["population"].sum()


@pytest.fixture(scope="module")
def real_places(data_dir):
    from coterminosity.geo import load_layer, load_population

    return places(load_layer("stp17", data_dir=data_dir), load_layer("upper17", data_dir=data_dir),
                  load_population(data_dir=data_dir))


@pytest.mark.realdata
@pytest.mark.parametrize("footprint, expected", [
    # Nottinghamshire: Nottingham and the county less Bassetlaw (828,224 − 117,459).
    ("E54000014", {"E06000018": 332_900, "E10000024": 710_765}),
    # South Yorkshire and Bassetlaw: four metropolitan boroughs and Bassetlaw's 117,459 from Notts county.
    ("E54000009", None),
    # Greater Manchester: ten boroughs and 33,570 people of Derbyshire (Glossop, in High Peak).
    ("E54000007", None),
])
def test_real_places_match_the_lookups(real_places, ons_lsoas, footprint, expected):
    truth = independent_places(ons_lsoas).loc[footprint]
    mine = real_places.table[real_places.table.footprint == footprint].set_index("code")["population"]
    assert sorted(mine.index) == sorted(truth.index)
    assert (mine.sort_index() == truth.sort_index().astype(float)).all()
    if expected:
        for code, people in expected.items():
            assert mine.loc[code] == people
    per = real_places.footprints.set_index("code").loc[footprint]
    assert per.population == truth.sum()
    assert per.nbhd_min == int(np.ceil(truth.sum() / 50_000)) and per.nbhd_max == int(truth.sum() // 30_000)


@pytest.mark.realdata
def test_real_places_all_footprints(real_places, data_dir):
    t = real_places.table
    assert t.footprint.nunique() == 44 and len(t) == 170  # the 170 footprint × council pairs sharing LSOAs
    assert t.population.sum() == 56_286_961
    assert (t.kind == "sliver").sum() == 0  # membership overlay: exact, no slivers
    sy = t[(t.footprint == "E54000009") & (t.code == "E10000024")].iloc[0]
    assert sy.population == 117_459 and sy.kind == "place"
    gm = t[(t.footprint == "E54000007") & (t.code == "E10000007")].iloc[0]
    assert gm.population == 33_570 and gm.kind == "fragment"  # 1.2% of Greater Manchester, 4.2% of Derbyshire
    # Nottinghamshire footprint 1,043,665 people: ceil(20.9)=21 … floor(34.8)=34 neighbourhoods.
    notts = real_places.footprints.set_index("code").loc["E54000014"]
    assert (notts.nbhd_min, notts.nbhd_max) == (21, 34)


@pytest.mark.realdata
def test_cli_places_one_footprint_by_name(capsys):
    assert main(["places", "Nottinghamshire", "--format", "csv"]) == 0
    frame = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out), dtype={"code": str})
    assert frame.set_index("code").loc["E10000024", "population"] == 710_765
    assert set(frame.footprint) == {"E54000014"}


@pytest.mark.realdata
def test_cli_places_by_ccg_and_bad_footprint(capsys):
    assert main(["places", "stp17", "--units", "ccg17", "--footprint", "E54000014", "--per-footprint", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["places"] == 6 and row["fragments"] == 0  # six CCGs, all whole
    assert main(["places", "stp17", "--footprint", "Atlantis"]) == 2
    assert "no footprints match 'Atlantis'" in capsys.readouterr().err


def test_proposed_report_limited_to_some_footprints_and_neighbours_places():
    # A is F's place; B belongs to G (10,000 m² there) but reaches 10 m into F: F has a 1,000 m² gap
    # (x 90–100) that B covers, and G's report shows that as B's spill. D only touches F along x = 100.
    fps = geo_layer("fp", [("F", box(0, 0, 100, 100)), ("G", box(100, 0, 200, 100))])
    proposed = geo_layer("prop", [("A", box(0, 0, 90, 100)), ("B", box(90, 0, 200, 60)), ("D", box(100, 60, 200, 100))])
    t = check_proposed(fps, proposed, codes=["F"]).table
    assert t.code.tolist() == ["F"] and t.loc[0, "places"] == 1 and not t.loc[0, "tiles"]
    assert t.loc[0, "gap_km2"] * 1e6 == pytest.approx(1_000) and t.loc[0, "spill_km2"] == 0
    g = check_proposed(fps, proposed).table.set_index("code").loc["G"]
    assert g.places == 2 and g.spill_km2 * 1e6 == pytest.approx(600) and g.gap_km2 == 0


@pytest.mark.realdata
def test_real_ccgs_tile_their_footprints_exactly(data_dir):
    from coterminosity.geo import load_layer, load_population

    stp = load_layer("stp17", data_dir=data_dir)
    t = check_proposed(stp, load_layer("ccg17", data_dir=data_dir), load_population(data_dir=data_dir),
                       codes=["E54000009", "E54000014"]).table.set_index("code")
    # Every 2017 CCG lies in one STP: 5 CCGs make South Yorkshire and Bassetlaw, 6 make Nottinghamshire.
    lk = pd.read_csv(data_dir / "lookup_ccg17_stp17.csv", dtype=str)
    assert t.loc["E54000009", "places"] == (lk.STP17CD == "E54000009").sum() == 5
    assert t.loc["E54000014", "places"] == (lk.STP17CD == "E54000014").sum() == 6
    assert t.tiles.all() and t.gap_population.sum() == 0 and t.overlap_population.sum() == 0
    assert t.loc["E54000014", "population"] == 1_043_665


def test_proposed_places_by_membership_agree_with_geometry():
    """Places made of the footprints' own small areas are checked by membership, with the same answer."""
    from coterminosity.geo.build import build_layer, membership_from_table

    cells = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(6)]
    small = Layer(gpd.GeoDataFrame({"code": [f"s{i}" for i in range(6)], "name": [f"s{i}" for i in range(6)]},
                                   geometry=cells, crs=BNG), "cells")
    small.members = pd.DataFrame({"small_code": small.codes, "code": small.codes})
    small.small_areas = "cells"
    small.blocks = pd.DataFrame({"code": small.codes, "area_m2": 10_000.0})

    def built(label, parents):
        lookup = pd.DataFrame({"small": [f"s{i}" for i in range(6)], "parent": parents})
        return build_layer(small, membership_from_table(small.codes, lookup, "small", "parent"), label, coverage=True)

    fps = built("fp", ["F", "F", "F", "G", "G", "G"])
    # Places: P1 = s0–s1, P2 = s1–s2 (overlap s1 in F), P3 = s3 only (gap s4–s5 in G) … as a cover
    lookup = pd.DataFrame({"small": ["s0", "s1", "s1", "s2", "s3"], "parent": ["P1", "P1", "P2", "P2", "P3"]})
    places_layer = Layer(gpd.GeoDataFrame({"code": ["P1", "P2", "P3"], "name": ["P1", "P2", "P3"]},
                                          geometry=[shapely.union_all(cells[0:2]), shapely.union_all(cells[1:3]),
                                                    cells[3]], crs=BNG), "places")
    places_layer.members = lookup.rename(columns={"small": "small_code", "parent": "code"})
    places_layer.small_areas, places_layer.blocks = "cells", small.blocks
    exact = check_proposed(fps, places_layer).table.set_index("code")
    drawn = Layer(places_layer.frame.copy(), "drawn")  # the same shapes without membership: geometry path
    by_geometry = check_proposed(fps, drawn).table.set_index("code")
    assert exact.loc["F", "overlap_km2"] == pytest.approx(0.01) and exact.loc["G", "gap_km2"] == pytest.approx(0.02)
    assert not exact["tiles"].any()
    for col in ("places", "gap_km2", "overlap_km2", "spill_km2"):
        assert exact[col].tolist() == pytest.approx(by_geometry[col].tolist(), abs=1e-9), col
