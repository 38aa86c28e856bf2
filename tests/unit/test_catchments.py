"""Catchments and containment on a two-footprint world worked out by hand, malformed
flow tables, the CLI, and an independent check on the real LSOAs with synthetic flows.

The hand world (EPSG:27700 metres near 400000, 300000): four 100 m squares in a row,
s1 s2 | s3 s4; footprint A = s1+s2, footprint B = s3+s4. Flows (tests/fixtures/catchments/flows.csv):

    s1→dA 50, s2→dA 30, s1→dB 10, s2→dB 10      A's residents: 100, of which 80 go to dA (in A)
    s3→dB 60, s4→dB 30, s4→dA 10                B's residents: 100, of which 90 go to dB (in B)

so containment A = 80%, B = 90%; dA receives 90 (80 from A: 88.9%), dB 110 (90 from B: 81.8%).
dA's patients by area: s1 50, s2 30, s4 10 (total 90; 80% = 72 → s1 + s2, holding 80 = 88.9%).
dB's: s3 60, s4 30, s1 10, s2 10 (total 110; 80% = 88 → s3 + s4, holding 90).
Population s1 1000, s2 1000, s3 2000, s4 500: dA's proportional population
= 1000·50/60 + 1000·30/40 + 500·10/40 = 833.33 + 750 + 125 = 1708.33; dB's = 4500 − 1708.33.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.catchments import (
    OUTSIDE,
    catchment_layer,
    catchment_selection,
    containment,
    destination_homes,
    origin_footprints,
    proportional_population,
)
from coterminosity.cli import main
from coterminosity.errors import CotermError
from coterminosity.geo.build import build_layer, membership_from_table
from coterminosity.geo.flows import check_destinations, check_origins, read_flows, read_locations
from coterminosity.geo.layer import BNG, Layer

FIX = Path(__file__).parents[1] / "fixtures" / "catchments"
X0, Y0 = 400_000, 300_000
POP = pd.Series({"s1": 1000.0, "s2": 1000.0, "s3": 2000.0, "s4": 500.0})


def square(i: int) -> shapely.Polygon:
    return shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100)


@pytest.fixture
def small() -> Layer:
    codes = ["s1", "s2", "s3", "s4"]
    frame = gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=[square(i) for i in range(4)], crs=BNG)
    return Layer(frame, label="hand", members=pd.DataFrame({"small_code": codes, "code": codes}), small_areas="hand")


@pytest.fixture
def footprints(small) -> Layer:
    lookup = pd.DataFrame({"small": ["s1", "s2", "s3", "s4"], "fp": ["A", "A", "B", "B"]})
    return build_layer(small, membership_from_table(small.codes, lookup, "small", "fp"), "fp", coverage=True)


@pytest.fixture
def pairs() -> pd.DataFrame:
    return read_flows(FIX / "flows.csv").pairs()


def run(pairs, small, footprints, locations=None):
    origins, _ = origin_footprints(small, footprints)
    homes, _ = destination_homes(pairs, origins, footprints, locations)
    return containment(pairs, origins, homes, footprints)


# ---------------------------------------------------------------- containment


def test_containment_two_footprints_hand_checked(pairs, small, footprints):
    result = run(pairs, small, footprints)
    fp = result.footprints.set_index("code")
    assert fp.loc["A", "residents_flow"] == 100 and fp.loc["A", "retained"] == 80
    assert fp.loc["A", "containment_share"] == pytest.approx(0.8)
    assert fp.loc["B", "containment_share"] == pytest.approx(0.9)
    assert fp.loc["A", "inflow"] == 90 and fp.loc["A", "destination_share"] == pytest.approx(80 / 90)
    assert fp.loc["B", "inflow"] == 110 and fp.loc["B", "destination_share"] == pytest.approx(90 / 110)
    assert fp.loc["A", "main_elsewhere"] == "B" and fp.loc["A", "main_elsewhere_share"] == pytest.approx(0.2)
    dest = result.destinations.set_index("dest")
    assert list(dest["home"]) == ["A", "B"] and set(dest["home_by"]) == {"largest share"}
    assert dest.loc["dA", "home_share"] == pytest.approx(80 / 90)
    assert dest.loc["dB", "home_share"] == pytest.approx(90 / 110)
    m = result.matrix.set_index(["origin_code", "dest_code"])["count"]
    assert m.to_dict() == {("A", "A"): 80, ("A", "B"): 20, ("B", "B"): 90, ("B", "A"): 10}
    wide = result.wide().set_index("origin")
    name = dict(zip(fp.index, fp["name"]))
    assert wide.loc["A", f"{name['B']} (B)"] == 20 and wide.loc["B", f"{name['A']} (A)"] == 10
    assert wide.loc["A", "origin_name"] == name["A"]


def test_geometry_origins_agree_with_membership(pairs, small, footprints):
    """Footprints with no membership (drawn polygons): origins placed by a point inside each small area."""
    drawn = Layer(footprints.frame[["code", "name", "geometry"]].copy(), label="drawn")
    by_members, note_m = origin_footprints(small, footprints)
    by_geometry, note_g = origin_footprints(small, drawn)
    assert "membership" in note_m and "point" in note_g
    pd.testing.assert_frame_equal(by_members, by_geometry)
    a, b = run(pairs, small, footprints), run(pairs, small, drawn)
    pd.testing.assert_frame_equal(a.footprints.drop(columns="main_elsewhere"), b.footprints.drop(columns="main_elsewhere"))


def test_locations_decide_destination_home(pairs, small, footprints):
    """dA located in s3 (footprint B): A's residents now keep nothing; B's keep all 100."""
    loc = gpd.GeoDataFrame({"code": ["dA", "dB"], "name": ["dA", "dB"]},
                           geometry=[shapely.Point(X0 + 250, Y0 + 50), shapely.Point(X0 + 350, Y0 + 50)], crs=BNG)
    result = run(pairs, small, footprints, loc)
    fp = result.footprints.set_index("code")
    assert fp.loc["A", "containment_share"] == 0 and fp.loc["A", "destinations"] == 0
    assert fp.loc["B", "containment_share"] == pytest.approx(1.0)
    assert fp.loc["B", "inflow"] == 200 and fp.loc["B", "destination_share"] == pytest.approx(0.5)
    assert set(result.destinations["home_by"]) == {"location"}


def test_location_outside_every_footprint_is_reported(pairs, small, footprints):
    loc = gpd.GeoDataFrame({"code": ["dA", "dB"], "name": ["dA", "dB"]},
                           geometry=[shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 5000, Y0 + 50)], crs=BNG)
    result = run(pairs, small, footprints, loc)
    assert result.destinations.set_index("dest").loc["dB", "home"] == OUTSIDE
    assert any("110 of the flow (55.00%) goes to 1 destinations located in no fp unit" in n and "dB" in n
               for n in result.notes)
    assert result.footprints.set_index("code").loc["B", "retained"] == 0


def test_largest_share_tie_goes_to_lowest_code(small, footprints):
    pairs = pd.DataFrame({"origin": ["s1", "s3"], "dest": ["dC", "dC"], "count": [10.0, 10.0]})
    origins, _ = origin_footprints(small, footprints)
    homes, _ = destination_homes(pairs, origins, footprints)
    assert homes.loc[0, "home"] == "A"


# ---------------------------------------------------------------- catchments


def test_catchment_selection_by_hand(pairs):
    sel = catchment_selection(pairs, 0.8)
    chosen = sel[sel["in_catchment"]].groupby("dest")["small_code"].apply(sorted).to_dict()
    assert chosen == {"dA": ["s1", "s2"], "dB": ["s3", "s4"]}
    half = catchment_selection(pairs, 0.5)
    assert half[half["in_catchment"]].groupby("dest")["small_code"].apply(list).to_dict() == {"dA": ["s1"], "dB": ["s3"]}
    # Exactly at the edge: s1 + s2 hold 80/90 of dA's patients, so s4 is not needed.
    edge = catchment_selection(pairs[pairs["dest"] == "dA"], 80 / 90)
    assert list(edge.loc[edge["in_catchment"], "small_code"]) == ["s1", "s2"]
    whole = catchment_selection(pairs, 1.0)
    assert sorted(whole.loc[whole["in_catchment"] & (whole["dest"] == "dA"), "small_code"]) == ["s1", "s2", "s4"]
    assert sel.loc[(sel["dest"] == "dB") & (sel["small_code"] == "s4"), "cum_share"].iloc[0] == pytest.approx(90 / 110)


def test_catchment_layer_polygons_and_populations(pairs, small, footprints):
    layer, _ = catchment_layer(pairs, small, 0.8, population=POP, names={"dA": "Practice A"})
    f = layer.frame.set_index("code")
    assert f.loc["dA", "name"] == "Practice A" and f.loc["dB", "name"] == "dB"
    assert f.loc["dA", "patients"] == 90 and f.loc["dA", "catchment_patients"] == 80
    assert f.loc["dA", "share_in_polygon"] == pytest.approx(80 / 90) and f.loc["dA", "small_areas"] == 2
    # The 80% catchments of dA and dB are exactly the two footprints (200 m × 100 m each).
    fps = footprints.frame.set_index("code").geometry
    for dest, fp in (("dA", "A"), ("dB", "B")):
        assert f.loc[dest, "geometry"].area == pytest.approx(20_000)
        assert shapely.symmetric_difference(f.loc[dest, "geometry"], fps[fp]).area == pytest.approx(0, abs=1e-6)
    assert f.loc["dA", "catchment_population"] == pytest.approx(1000 * 50 / 60 + 1000 * 30 / 40 + 500 * 10 / 40)
    assert f.loc["dB", "catchment_population"] == pytest.approx(4500 - 1708.3333333)
    assert f.loc["dA", "polygon_population"] == 2000 and f.loc["dB", "polygon_population"] == 2500
    # Membership kept: the catchments overlay the footprints exactly, with no geometry.
    assert layer.members.groupby("code")["small_code"].apply(sorted).to_dict() == {"dA": ["s1", "s2"], "dB": ["s3", "s4"]}
    assert layer.shares_blocks_with(footprints)
    # At 100% dA's catchment is s1 + s2 + s4: two separate pieces.
    whole, _ = catchment_layer(pairs, small, 1.0)
    geom = whole.frame.set_index("code").loc["dA", "geometry"]
    assert geom.geom_type == "MultiPolygon" and geom.area == pytest.approx(30_000)


def test_proportional_population_conserves_people(pairs):
    per = proportional_population(pairs, POP)
    assert per.sum() == pytest.approx(POP.sum())
    assert per["dA"] == pytest.approx(1708.3333333)


# ---------------------------------------------------------------- malformed flow tables


def write(tmp_path, text: str, name: str = "flows.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_column_names_it_and_the_columns_present(tmp_path):
    path = write(tmp_path, "LSOA_CODE,PRACTICE,NUMBER_OF_PATIENTS\ns1,dA,5\n")
    with pytest.raises(CotermError) as err:
        read_flows(path)
    msg = str(err.value)
    assert "no column 'PRACTICE_CODE'" in msg and "--dest-col" in msg
    assert "columns present: LSOA_CODE, PRACTICE, NUMBER_OF_PATIENTS" in msg and "\n" not in msg


def test_negative_and_non_numeric_counts_name_the_lines(tmp_path):
    path = write(tmp_path, "LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\ns1,dA,5\ns2,dA,-3\ns3,dA,abc\ns4,dA,\ns1,dB,7\n")
    with pytest.raises(CotermError) as err:
        read_flows(path)
    msg = str(err.value)
    assert "3 rows are not" in msg
    assert "line 3 ('-3')" in msg and "line 4 ('abc')" in msg and "line 5 (empty)" in msg


def test_many_bad_rows_are_counted(tmp_path):
    rows = "".join(f"s{i},dA,-1\n" for i in range(12))
    path = write(tmp_path, "LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\n" + rows)
    with pytest.raises(CotermError, match=r"12 rows are not: line 2 .* and 7 more"):
        read_flows(path)


def test_empty_codes_name_the_lines(tmp_path):
    path = write(tmp_path, "LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\ns1,dA,5\ns2,,3\n")
    with pytest.raises(CotermError, match=r"1 rows have no destination code in column 'PRACTICE_CODE' \(line 3\)"):
        read_flows(path)


def test_unknown_origins_error_names_rows_or_are_set_aside(tmp_path, small):
    path = write(tmp_path, "LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\ns1,dA,5\nW01000001,dA,3\ns2,dA,2\nE99,dB,4\n")
    flows = read_flows(path)
    with pytest.raises(CotermError) as err:
        check_origins(flows, small.codes, small.label)
    msg = str(err.value)
    assert "2 rows (7 people, 2 distinct codes) name origin codes that are not hand small areas" in msg
    assert "line 3 (W01000001 → dA, 3)" in msg and "line 5 (E99 → dB, 4)" in msg and "--report-unmatched" in msg
    kept = check_origins(flows, small.codes, small.label, report=True)
    assert kept.total == 7 and list(kept.unmatched["row"]) == [3, 5]
    assert any("set aside 2 rows (7 people, 50.00% of the flow" in n for n in kept.notes)


def test_repeated_pairs_are_summed_and_announced(tmp_path):
    path = write(tmp_path, "LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS,SEX\ns1,dA,5,MALE\ns1,dA,7,FEMALE\ns1,dA,12,ALL\n")
    flows = read_flows(path)
    assert flows.pairs()["count"].tolist() == [24]
    assert any("2 rows repeat" in n and "line 3" in n and "--where" in n for n in flows.notes)
    only = read_flows(path, where=[("SEX", "ALL")])
    assert only.pairs()["count"].tolist() == [12] and not any("repeat" in n for n in only.notes)


def test_other_layouts_and_parquet_rows(tmp_path):
    path = write(tmp_path, "msoa,TrustCode,TrustName,Patients\nm1,RX1,Trust one,5\n")
    flows = read_flows(path)
    assert flows.frame[["origin", "dest", "count"]].values.tolist() == [["m1", "RX1", 5.0]]
    assert flows.names == {"RX1": "Trust one"} and "OHID" in flows.notes[0]
    pq = tmp_path / "flows.parquet"
    pd.DataFrame({"lsoa_code": ["s1", "s2"], "practice_code": ["dA", "dA"], "number_of_patients": [1, -1]}).to_parquet(pq)
    with pytest.raises(CotermError, match=r"row 2 \('-1'\)"):
        read_flows(pq)


def test_locations_missing_or_repeated(tmp_path):
    flows = read_flows(FIX / "flows.csv")
    loc = write(tmp_path, "code,easting,northing\ndA,400050,300050\n", "loc.csv")
    points, _ = read_locations(loc)
    with pytest.raises(CotermError, match=r"4 rows \(110 people, 1 distinct codes\) name destinations with no row"):
        check_destinations(flows, points["code"], str(loc))
    twice = write(tmp_path, "PRACTICE_CODE,easting,northing\ndA,400050,300050\ndA,400060,300050\n", "twice.csv")
    with pytest.raises(CotermError, match=r"destination 'dA' has 2 locations \(lines 2, 3\)"):
        read_locations(twice)


# ---------------------------------------------------------------- command line


HAND = ["--small-areas", str(FIX / "small_areas.csv"), "--footprints", str(FIX / "footprints.csv"), "--crs", "EPSG:27700"]


def test_cli_containment_csv(capsys):
    assert main(["containment", str(FIX / "flows.csv"), *HAND, "--format", "csv"]) == 0
    out = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out)).set_index("code")
    assert out.loc["A", "containment_share"] == pytest.approx(0.8) and out.loc["B", "containment_share"] == pytest.approx(0.9)
    assert main(["containment", str(FIX / "flows.csv"), *HAND, "--matrix", "wide", "--format", "csv",
                 "--locations", str(FIX / "locations.csv")]) == 0
    wide = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out)).set_index("origin")
    assert wide.loc["A"].tolist() == ["Footprint A", 80, 20] and wide.loc["B"].tolist() == ["Footprint B", 10, 90]


def test_cli_catchments_writes_a_layer(tmp_path, capsys):
    out = tmp_path / "catch.gpkg"
    assert main(["-v", "catchments", str(FIX / "flows.csv"), *HAND, "--population", str(FIX / "population.csv"),
                 "-o", str(out)]) == 0
    back = gpd.read_file(out).set_index("code")
    assert back.loc["dA", "catchment_population"] == pytest.approx(1708.3333333)
    assert back.loc["dB", "home"] == "B" and back.loc["dA", "small_areas"] == 2
    assert back.loc["dA", "geometry"].area == pytest.approx(20_000)
    assert "wrote 2 catchment polygons" in capsys.readouterr().err


@pytest.mark.parametrize("text,needle", [
    ("LSOA_CODE,PRACTICE_CODE,COUNT\ns1,dA,5\n", "no column 'NUMBER_OF_PATIENTS'"),
    ("LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\ns1,dA,-5\n", "line 2 ('-5')"),
    ("LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\ns9,dA,5\n", "line 2 (s9 → dA, 5)"),
])
def test_cli_bad_flows_exit_2_with_one_line(tmp_path, capsys, text, needle):
    path = write(tmp_path, text)
    assert main(["containment", str(path), *HAND]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("coterm containment: error:")


def test_cli_report_unmatched(tmp_path, capsys):
    path = write(tmp_path, (FIX / "flows.csv").read_text() + "W01000001,dA,Practice A,40\n")
    report = tmp_path / "unmatched.csv"
    assert main(["-v", "containment", str(path), *HAND, "--report-unmatched", str(report), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "set aside 1 rows (40 people" in captured.err
    out = pd.read_csv(pd.io.common.StringIO(captured.out)).set_index("code")
    assert out.loc["A", "containment_share"] == pytest.approx(0.8)
    rows = pd.read_csv(report)
    assert rows[["row", "origin", "dest", "count"]].values.tolist() == [[9, "W01000001", "dA", 40.0]]


# ---------------------------------------------------------------- real LSOAs, synthetic flows


@pytest.fixture(scope="module")
def lookup(data_dir) -> pd.DataFrame:
    lk = pd.read_csv(data_dir / "lookup_lsoa11_ccg17_stp17_lad17.csv", dtype=str)
    pop = pd.read_csv(data_dir / "population_lsoa11_mid2019.csv", dtype={"LSOA11CD": str})
    return lk.merge(pop[["LSOA11CD", "population"]], on="LSOA11CD")


@pytest.mark.realdata
def test_real_lsoas_one_practice_per_ccg(tmp_path, lookup, capsys):
    """Everyone registered with a pseudo-practice of their CCG: CCGs nest in STPs, so containment is
    exactly 100% everywhere; at share 1 the catchments are the CCGs (same LSOAs); at 0.8 they are the
    LSOAs a plain pandas sort/cumsum picks."""
    flows = pd.DataFrame({"LSOA_CODE": lookup["LSOA11CD"], "PRACTICE_CODE": "P" + lookup["CCG17CD"],
                          "NUMBER_OF_PATIENTS": lookup["population"]})
    path = tmp_path / "ccg_flows.csv"
    flows.to_csv(path, index=False)
    assert main(["containment", str(path), "--footprints", "stp17", "--format", "csv"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert table["code"].iloc[-1] == "E92000001" and table["residents_flow"].iloc[-1] == lookup["population"].sum()
    table = table.iloc[:-1]  # the England line
    assert len(table) == 44
    assert (table["containment_share"] == 1).all() and (table["destination_share"] == 1).all()
    expected = lookup.groupby("STP17CD")["population"].sum()
    assert table.set_index("code")["residents_flow"].to_dict() == expected.astype(float).to_dict()
    assert table["destinations"].sum() == 207

    out = tmp_path / "catch.gpkg"
    assert main(["catchments", str(path), "--share", "1", "-o", str(out)]) == 0
    from coterminosity.geo import load_layer

    layer = load_layer(str(out))
    assert layer.small_areas == "lsoa11" and len(layer) == 207
    got = layer.members.assign(code=layer.members["code"].str[1:]).sort_values(["code", "small_code"])
    want = lookup[["LSOA11CD", "CCG17CD"]].rename(columns={"LSOA11CD": "small_code", "CCG17CD": "code"})
    assert got[["small_code", "code"]].values.tolist() == want.sort_values(["code", "small_code"]).values.tolist()
    pops = layer.frame.set_index("code")["catchment_population"]
    ccg_pop = lookup.groupby("CCG17CD")["population"].sum()
    assert np.allclose(pops.rename(lambda c: c[1:]).sort_index(), ccg_pop.sort_index())
    assert main(["overlay", str(out), "ccg17", "--population", "--format", "csv"]) == 0
    classes = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert (classes["class"] == "coterminous").all() and len(classes) == 207

    # 80%: the fewest LSOAs, largest first (ties by code), as pandas picks them.
    assert main(["catchments", str(path), "--share", "0.8", "--by-area", "--format", "csv"]) == 0
    picked = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    s = lookup.sort_values(["CCG17CD", "population", "LSOA11CD"], ascending=[True, False, True])
    before = s.groupby("CCG17CD")["population"].cumsum() - s["population"]
    want80 = set(s.loc[before < 0.8 * s["CCG17CD"].map(ccg_pop), "LSOA11CD"])
    assert set(picked.loc[picked["in_catchment"], "small_code"]) == want80
    assert 0.78 * len(lookup) > len(want80) > 0.5 * len(lookup)


@pytest.mark.realdata
def test_real_lsoas_leaky_flows_match_pandas(tmp_path, lookup, capsys):
    """75% of each LSOA to its CCG's practice, 25% to a clinic of its district; a clinic's home is the
    STP holding most of its patients. Containment per STP recomputed with plain pandas."""
    a = pd.DataFrame({"LSOA_CODE": lookup["LSOA11CD"], "PRACTICE_CODE": "P" + lookup["CCG17CD"],
                      "NUMBER_OF_PATIENTS": lookup["population"] * 0.75})
    b = pd.DataFrame({"LSOA_CODE": lookup["LSOA11CD"], "PRACTICE_CODE": "C" + lookup["LAD17CD"],
                      "NUMBER_OF_PATIENTS": lookup["population"] * 0.25})
    path = tmp_path / "leaky.csv"
    pd.concat([a, b]).to_csv(path, index=False)
    assert main(["containment", str(path), "--format", "csv"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out)).set_index("code").drop(index="E92000001")

    lad_stp = lookup.groupby(["LAD17CD", "STP17CD"])["population"].sum().reset_index()
    lad_stp = lad_stp.sort_values(["LAD17CD", "population", "STP17CD"], ascending=[True, False, True])
    home = lad_stp.drop_duplicates("LAD17CD").set_index("LAD17CD")["STP17CD"]
    kept = lookup["population"] * (0.75 + 0.25 * (lookup["LAD17CD"].map(home) == lookup["STP17CD"]))
    want = kept.groupby(lookup["STP17CD"]).sum() / lookup.groupby("STP17CD")["population"].sum()
    assert np.allclose(table["containment_share"].sort_index(), want.sort_index())
    assert (want < 1).sum() >= 5  # districts that cross STP lines make the check bite


def test_catchments_with_every_count_zero_is_a_clear_error(small):
    pairs = pd.DataFrame({"origin": ["s1", "s2"], "dest": ["dA", "dA"], "count": [0.0, 0.0]})
    with pytest.raises(CotermError, match="every count is 0"):
        catchment_layer(pairs, small, 0.8)
