"""Spanners: units of a layer lying in more than one footprint, with their share in each."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.overlay import overlay
from coterminosity.boundaries.spanners import find_spanners, spanner_pieces, spanners
from coterminosity.cli import main
from coterminosity.geo.layer import BNG, Layer, Population

X0, Y0 = 400_000, 300_000
SMALL = [f"s{i}" for i in range(1, 7)]
PEOPLE = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def toy_layer(label, groups):
    codes = list(groups)
    geoms = [shapely.union_all([box(100 * (i - 1), 0, 100 * i, 100) for i in groups[c]]) for c in codes]
    frame = gpd.GeoDataFrame({"code": codes, "name": [f"{label} {c}" for c in codes]}, geometry=geoms, crs=BNG)
    members = pd.DataFrame([(f"s{i}", c) for c in codes for i in groups[c]], columns=["small_code", "code"])
    return Layer(frame, label, members=members, small_areas="toy",
                 blocks=pd.DataFrame({"code": SMALL, "area_m2": 10_000.0}))


def toy_population():
    frame = gpd.GeoDataFrame({"code": SMALL, "population": PEOPLE},
                             geometry=[shapely.Point(X0 + 100 * i + 50, Y0 + 50) for i in range(6)], crs=BNG)
    return Population(frame, "toy", small_areas="toy")


# Footprints A = s1–s2, B = s3–s4, C = s5–s6.
# Units: U1 = s1 (inside A), U2 = s2–s3 (A 20 / B 30), U3 = s4–s6 (B 40 / C 110), U4 = s1..s6 would be all;
# U5 = s5 (inside C).
FOOTPRINTS = toy_layer("fp", {"A": [1, 2], "B": [3, 4], "C": [5, 6]})
UNITS = toy_layer("unit", {"U1": [1], "U2": [2, 3], "U3": [4, 5, 6]})


def test_toy_spanners_by_population_worked_by_hand():
    found = find_spanners(UNITS, FOOTPRINTS, toy_population())
    wide, long, by = found.table, found.pieces, found.by
    assert by == "population"
    # U2: 20 in A, 30 in B → largest 60%; U3: 40 in B, 110 in C → largest 73.3%. U1 lies in A only.
    assert wide.code.tolist() == ["U2", "U3"]
    u2, u3 = wide.iloc[0], wide.iloc[1]
    assert u2.population == 50 and u2.footprints == 2 and u2.largest_share == pytest.approx(0.6)
    assert u2.largest_in == "B" and u2.outside_largest == 20
    assert u2.shares == "B fp B 60.0%; A fp A 40.0%"
    assert u3.largest_share == pytest.approx(110 / 150) and u3.largest_in == "C"
    assert long.code.tolist() == ["U2", "U2", "U3", "U3"]
    assert long.groupby("code").share.sum().tolist() == pytest.approx([1.0, 1.0])
    assert long[long.code == "U3"].population.tolist() == [110, 40]


def test_toy_spanners_by_area_differ_from_population():
    found = find_spanners(UNITS, FOOTPRINTS, None)
    wide, by = found.table, found.by
    assert by == "area"
    # By area U2 is 50/50 and U3 is 1/3 in B, 2/3 in C.
    assert wide.code.tolist() == ["U2", "U3"]
    assert wide.largest_share.tolist() == pytest.approx([0.5, 2 / 3])


def test_unit_with_no_people_in_second_footprint_is_not_a_spanner():
    people = toy_population()
    people.points.loc[people.points.code == "s2", "population"] = 0.0  # U2's part in A now empty
    found = find_spanners(UNITS, FOOTPRINTS, people)
    wide = found.table
    assert wide.code.tolist() == ["U3"]


def test_geometry_sliver_is_not_a_spanner():
    # A catchment drawn 1 cm over the line into footprint B: a sliver, not a second footprint.
    fps = Layer(gpd.GeoDataFrame({"code": ["A", "B"], "name": ["A", "B"]},
                                 geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=BNG), "fp")
    catch = Layer(gpd.GeoDataFrame({"code": ["K"], "name": ["catchment"]},
                                   geometry=[box(0, 0, 100.01, 100)], crs=BNG), "catch")
    table = overlay(fps, catch)
    assert table.slivers == 1
    assert spanners(table, "area").empty and spanner_pieces(table, "area").empty


# ---------------------------------------------------------------- real data


def independent_upper_by_stp(ons_lsoas) -> pd.DataFrame:
    """Council × footprint populations straight from the ONS lookups (no coterminosity code)."""
    return ons_lsoas.groupby(["upper", "STP17CD"])["population"].sum().reset_index()


@pytest.mark.realdata
def test_real_councils_divided_between_2017_footprints(data_dir, ons_lsoas):
    from coterminosity.geo import load_layer, load_population

    found = find_spanners(load_layer("upper17", data_dir=data_dir), load_layer("stp17", data_dir=data_dir),
                                          load_population(data_dir=data_dir))
    wide, long, table = found.table, found.pieces, found.overlay
    truth = independent_upper_by_stp(ons_lsoas)
    counts = truth.groupby("upper").STP17CD.nunique()
    assert counts.size == 152
    divided = set(counts[counts > 1].index)
    assert len(divided) == 14 and set(wide.code) == divided and len(table.b_units) == 152
    # Every piece's population matches the lookups.
    merged = long.merge(truth, left_on=["code", "footprint"], right_on=["upper", "STP17CD"], suffixes=("", "_truth"))
    assert len(merged) == len(long) and (merged.population == merged.population_truth).all()
    # Most divided first: North Yorkshire over four footprints, its largest piece 39.8% (Humber, Coast and Vale).
    top = wide.iloc[0]
    assert top.code == "E10000023" and top.footprints == 4 and top.largest_in == "E54000006"
    assert top.largest_share == pytest.approx(246_238 / 618_054)
    assert wide.largest_share.is_monotonic_increasing
    notts = wide.set_index("code").loc["E10000024"]
    assert notts.outside_largest == 117_459 and notts.largest_in == "E54000014"
    derbys = wide.set_index("code").loc["E10000007"]
    assert derbys.outside_largest == 33_570 and derbys.largest_in == "E54000012"


@pytest.mark.realdata
def test_cli_spanners_formats(capsys):
    assert main(["spanners", "upper17", "--across", "stp17", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["meta"]["spanners"] == 14 and doc["meta"]["units"] == 152
    assert doc["rows"][0]["name"] == "North Yorkshire" and doc["rows"][0]["shares"].startswith(
        "E54000006 Humber, Coast and Vale 39.8%; E54000005 West Yorkshire 34.3%")
    assert main(["spanners", "upper17", "--across", "stp17", "--long", "--format", "csv"]) == 0
    long = pd.read_csv(io.StringIO(capsys.readouterr().out))
    # North Yorkshire in 4 footprints, Essex and Surrey in 3, the other eleven in 2: 4 + 3 + 3 + 22 = 32 pieces.
    assert len(long) == 32 and long.groupby("code").share.sum().round(9).eq(1.0).all()
    assert main(["spanners", "ccg17", "--across", "stp17"]) == 0
    assert "0 of 207 ccg17 units lie in more than one stp17 footprint" in capsys.readouterr().out
    assert main(["spanners", "nowhere17", "--across", "stp17"]) == 2
