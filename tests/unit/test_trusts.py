"""Trust catchments from shares on a hand-made world, worked out by hand; malformed trust files;
and a GP registration file in NHS Digital's published layout.

The world (EPSG:27700, 100 m squares in a row near 400000, 300000): small areas s1 s2 | s3 s4,
footprint A = s1+s2, B = s3+s4. Councils are unions of small areas: C1 = s1, C2 = s2+s3 (split
between A and B), C3 = s4. Population s1 1000, s2 1000, s3 2000, s4 500, so C2 lies 1/3 in A, 2/3 in B.

Trusts: T1 in A (point in s1), own population 1000, shares C1 0.5, C2 0.5 → flows 500, 500.
T2 in B (point in s4), no population of its own; predecessors P1 (300) and P2 (none, but P2's own
predecessor P3 has 100) → 400; shares C2 0.25, C3 0.75 → flows 100, 300.
T4 in A (point in s2), population 200, all from C1 → 200. T3, a children's hospital, has none: left out.

Apportioned: A's residents: C1 500 + 200, C2's third of 500 + 100 = 200 → 900; retained (T1, T4 in A)
= 500 + 200 + 166.67 = 866.67 (96.30%). B's residents: C2's two thirds 400 + C3 300 = 700; retained
(T2) = 66.67 + 300 = 366.67 (52.38%). England: 1233.33 of 1600 (77.08%).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from coterminosity.boundaries.catchments import catchment_layer
from coterminosity.boundaries.containment import containment_map_data, measure_containment
from coterminosity.boundaries.trust_check import check_shares
from coterminosity.errors import InputError
from coterminosity.geo.build import build_layer, membership_from_table
from coterminosity.geo.flows import read_flows
from coterminosity.geo.layer import BNG, Layer
from coterminosity.geo.trusts import (
    council_population,
    load_trust_inputs,
    read_footprint_shares,
    read_shares,
    trust_flows,
)

X0, Y0 = 400_000, 300_000
POP = pd.Series({"s1": 1000.0, "s2": 1000.0, "s3": 2000.0, "s4": 500.0})
SHARES = "TRUST22CD,LTLA21CD,SHARE\nT1,C1,0.5\nT1,C2,0.5\nT2,C2,0.25\nT2,C3,0.75\nT3,C1,1\nT4,C1,1\n"
POPULATION = ("YEAR,TRUSTCD,TRUSTNM,POSTCODE,OPEN_DATE,CLOSE_DATE,CATCHMENT_POPULATION\n"
              "2020,T1,TRUST ONE,,,,900\n2021,T1,TRUST ONE,,,,1000\n2021,T2,TRUST TWO,,,,\n"
              "2021,T3,THE CHILDREN'S HOSPITAL,,,,\n2021,T4,TRUST FOUR,,,,200\n"
              "2019,P1,OLD ONE,,,,300\n2021,P2,OLD TWO,,,,\n2018,P3,OLDER,,,,100\n")
SUCCESSORS = "OLD_CODE,NEW_CODE,DATE\nP1,T2,2020-04-01\nP2,T2,2020-04-01\nP3,P2,2010-04-01\n"


def square(i: int) -> shapely.Polygon:
    return shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100)


def lonlat(x: float, y: float) -> tuple[float, float]:
    return Transformer.from_crs(BNG, "EPSG:4326", always_xy=True).transform(x, y)


@pytest.fixture
def small() -> Layer:
    codes = ["s1", "s2", "s3", "s4"]
    frame = gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=[square(i) for i in range(4)], crs=BNG)
    return Layer(frame, label="hand", members=pd.DataFrame({"small_code": codes, "code": codes}), small_areas="hand",
                 blocks=pd.DataFrame({"code": codes, "area_m2": 10_000.0}))


@pytest.fixture
def councils(small) -> Layer:
    lookup = pd.DataFrame({"s": ["s1", "s2", "s3", "s4"], "c": ["C1", "C2", "C2", "C3"],
                           "n": ["Council 1", "Council 2", "Council 2", "Council 3"]})
    return build_layer(small, membership_from_table(small.codes, lookup, "s", "c", "n"), "councils", coverage=True)


@pytest.fixture
def footprints(small) -> Layer:
    lookup = pd.DataFrame({"s": ["s1", "s2", "s3", "s4"], "f": ["A", "A", "B", "B"]})
    return build_layer(small, membership_from_table(small.codes, lookup, "s", "f"), "fp", coverage=True)


def points_csv(codes=("T1", "T2", "T3", "T4"), where=(0, 3, 0, 1)) -> str:
    rows = ["TRUST22CD,TRUST22NM,STATUS,lon,lat"]
    for code, i in zip(codes, where):
        lon, lat = lonlat(X0 + 100 * i + 50, Y0 + 50)
        rows.append(f"{code},Trust {code[1:]},open,{lon:.9f},{lat:.9f}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    out = {}
    for name, text in (("shares", SHARES), ("population", POPULATION), ("successors", SUCCESSORS),
                       ("points", points_csv())):
        out[name] = tmp_path / f"{name}.csv"
        out[name].write_text(text)
    return out


def inputs_for(files, councils, **changes):
    paths = {**files, **changes}
    return load_trust_inputs(paths["shares"], points=paths["points"], catchment_population=paths["population"],
                             successors=paths["successors"], councils=councils, population=POP,
                             report=changes.pop("report", False) if "report" in changes else False)


# ---------------------------------------------------------------- flows


def test_flows_are_share_times_population_with_predecessors(files):
    t = trust_flows(files["shares"], catchment_population=files["population"], successors=files["successors"])
    got = t.flows.frame.set_index(["dest", "origin"])["count"].to_dict()
    assert got == {("T1", "C1"): 500, ("T1", "C2"): 500, ("T2", "C2"): 100, ("T2", "C3"): 300, ("T4", "C1"): 200}
    pops = t.populations.set_index("trust")
    assert pops.loc["T1", "source"] == "own 2021" and pops.loc["T2", "population"] == 400
    assert pops.loc["T2", "predecessors"] == "P1,P3"  # P2 has none: its predecessor P3 stands in
    assert list(t.left_out["trust"]) == ["T3"] and "specialist" in t.left_out.loc[0, "reason"]
    note = next(n for n in t.notes if "left out" in n)
    assert "1 of 4 trusts left out" in note and "1 of 6 share rows, 16.7%" in note
    assert "T3 The Children's Hospital" in note
    assert t.flows.frame.set_index(["dest", "origin"])["row"].loc[("T4", "C1")] == 7  # file line of that share


def test_containment_apportions_split_councils_by_population(files, councils, footprints):
    inputs = inputs_for(files, councils)
    result = measure_containment(inputs, footprints)
    fp = result.footprints.set_index("code")
    assert fp.loc["A", "residents_flow"] == pytest.approx(900)
    assert fp.loc["A", "retained"] == pytest.approx(866.6666667)
    assert fp.loc["B", "residents_flow"] == pytest.approx(700)
    assert fp.loc["B", "containment_share"] == pytest.approx(366.6666667 / 700)
    assert fp.loc["A", "inflow"] == pytest.approx(1200) and fp.loc["B", "inflow"] == pytest.approx(400)
    assert fp.loc["A", "relies_on"] == "Trust 1 74.1%; Trust 4 22.2%; Trust 2 3.7%"
    england = result.table.iloc[-1]
    assert england["code"] == "E92000001" and england["containment_share"] == pytest.approx(1233.333333 / 1600)
    assert result.overall == pytest.approx(1233.333333 / 1600)
    assert list(result.least_contained(1)["code"]) == ["B"]
    header = " ".join(result.header())
    assert "1 of 3 councils units lie in several fp footprints" in header and "by the population" in header
    assert "T3 in A" in header  # the left-out trust, where it stands
    assert result.lines()[0] == "overall: 1,233 of 1,600 (77.1%) of the flow stays inside its footprint"
    res = result.residents.set_index(["footprint", "dest"])["count"]
    assert res.loc[("B", "T1")] == pytest.approx(333.3333333)


def test_trust_point_outside_every_footprint_is_reported(files, councils, footprints, tmp_path):
    far = tmp_path / "far.csv"
    far.write_text(points_csv(where=(0, 30, 0, 1)))  # T2 three kilometres east of the world
    result = measure_containment(inputs_for(files, councils, points=far), footprints)
    assert result.destinations.set_index("dest").loc["T2", "home"] == ""
    assert any("400 of the flow (25.00%) goes to 1 trusts located in no fp unit" in n and "T2 Trust 2 (400)" in n
               for n in result.notes)
    assert result.footprints.set_index("code").loc["B", "retained"] == 0


def test_map_data(files, councils, footprints):
    inputs = inputs_for(files, councils)
    data = containment_map_data(measure_containment(inputs, footprints), inputs.locations)
    pts = data.points.set_index("code")
    assert pts.loc["T2", "patients"] == pytest.approx(400) and pts.loc["T2", "home"] == "B"
    assert pts.loc["T1", "geometry"].equals_exact(shapely.Point(X0 + 50, Y0 + 50), 0.01)
    assert data.footprints.set_index("code").loc["A", "containment_share"] == pytest.approx(866.6666667 / 900)
    assert set(data.residents.columns) >= {"footprint", "dest", "count", "share_of_footprint"}


def test_check_against_published_shares(files, councils, footprints, tmp_path):
    """T4 draws only on C1 (whole in A): equal. T1 draws on C2 (split): 2/3 in A here, 0.7 published."""
    path = tmp_path / "by_fp.csv"
    path.write_text("TRUST22CD,ICB22CD,SHARE\nT1,A,0.7\nT1,B,0.3\nT2,A,0.1\nT2,B,0.9\nT4,A,1\n")
    check = check_shares(inputs_for(files, councils), footprints, read_footprint_shares(path), str(path))
    t = check.table.set_index("trust")
    assert t.loc["T4", "agrees"] and t.loc["T4", "split_share"] == 0
    assert t.loc["T1", "largest_difference"] == pytest.approx(0.7 - 2 / 3)
    assert t.loc["T1", "split_share"] == 0.5 and t.loc["T1", "split_councils"] == "Council 2"
    pairs = check.pairs.set_index(["trust", "footprint"])
    assert pairs.loc[("T2", "A"), "derived"] == pytest.approx(1 / 12)  # a third of C2's 100, of 400
    assert pairs.loc[("T2", "B"), "difference"] == pytest.approx(11 / 12 - 0.9)
    assert "1 trusts draw only on councils lying whole in one footprint: 1 agree" in check.lines()[0]


def test_catchment_polygons_keep_small_area_membership(files, councils, footprints):
    """T2's 80%: C3 (300 of 400 = 75%) is not enough, so C2 joins: its polygon is s2+s3+s4."""
    inputs = inputs_for(files, councils)
    layer, _ = catchment_layer(inputs.flows.pairs(), councils, 0.8, population=council_population(inputs))
    members = layer.members.groupby("code")["small_code"].apply(sorted).to_dict()
    assert members == {"T1": ["s1", "s2", "s3"], "T2": ["s2", "s3", "s4"], "T4": ["s1"]}
    f = layer.frame.set_index("code")
    assert f.loc["T2", "origins"] == 2 and f.loc["T2", "small_areas"] == 3
    assert f.loc["T2", "geometry"].area == pytest.approx(30_000)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("text, message", [
    ("TRUST22CD,LTLA21CD,SHARE\nT1,C1,0.5\nT1,C2,0.4\n", "shares of trust T1 sum to 0.900000, not 1 (line 2, line 3)"),
    ("TRUST22CD,LTLA21CD,SHARE\nT1,C1,1.5\nT1,C2,-0.5\n", "SHARE must be a share ≥ 0, but 1 rows are not: line 3 ('-0.5')"),
    ("TRUST22CD,LTLA21CD,SHARE\nT1,C1,abc\n", "line 2 ('abc')"),
    ("TRUST22CD,LTLA21CD,SHARE\nT1,C1,0.5\nT1,C1,0.5\n", "trust T1 has council C1 on several rows (line 2, line 3"),
    ("TRUST22CD,COUNCIL,SHARE\nT1,C1,1\n", "no column 'LTLA21CD'"),
    ("TRUST22CD,LTLA21CD,SHARE\n,C1,1\n", "no trust code in column 'TRUST22CD' (line 2)"),
])
def test_bad_share_tables(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_shares(path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_shares_within_tolerance_are_accepted(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("TRUST22CD,LTLA21CD,SHARE\nT1,C1,0.5000004\nT1,C2,0.5\n")
    assert len(read_shares(path)[0]) == 2


def test_unknown_trust_code_names_rows_or_is_set_aside(files, councils, tmp_path):
    bad = tmp_path / "shares.csv"
    bad.write_text(SHARES + "TX,C1,1\n")
    with pytest.raises(InputError, match=r"1 rows \(1 trusts: TX\) name trust codes in neither .* \(line 8\)"):
        inputs_for(files, councils, shares=bad)
    inputs = inputs_for(files, councils, shares=bad, report=True)
    assert list(inputs.flows.unmatched["dest"]) == ["TX"] and list(inputs.flows.unmatched["row"]) == [8]


def test_unknown_council_code_names_rows_or_is_set_aside(files, councils, tmp_path):
    bad = tmp_path / "shares.csv"
    bad.write_text(SHARES.replace("T4,C1,1", "T4,C1,0.5\nT4,W06000001,0.5"))
    with pytest.raises(InputError, match=r"1 rows \(100 people.*line 8 \(W06000001 → T4, 100\)"):
        inputs_for(files, councils, shares=bad)
    inputs = inputs_for(files, councils, shares=bad, report=True)
    assert list(inputs.flows.unmatched["origin"]) == ["W06000001"]
    assert any("set aside 1 rows (100 people" in n for n in inputs.flows.notes)


def test_points_file_missing_a_trust(files, councils, tmp_path):
    few = tmp_path / "points.csv"
    few.write_text(points_csv(codes=("T1", "T3", "T4"), where=(0, 0, 1)))
    with pytest.raises(InputError, match=r"2 rows \(400 people, 1 distinct codes\) name destinations with no row in "
                                         r"the location table .*line 4 \(C2 → T2, 100\), line 5 \(C3 → T2, 300\)"):
        inputs_for(files, councils, points=few)


# ---------------------------------------------------------------- the published GP layout


def test_gp_registrations_in_the_published_layout(tmp_path):
    """NHS Digital 'Patients Registered at a GP Practice', LSOA file: read with no column options;
    the SEX column's breakdown rows are summed with a note unless --where SEX=ALL picks one."""
    path = tmp_path / "gp-reg-pat-prac-lsoa-all.csv"
    path.write_text("PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,SEX,NUMBER_OF_PATIENTS\n"
                    "GP_PRAC_PAT_LIST,01APR2024,A81001,THE DENSHAM SURGERY,E01012061,ALL,1\n"
                    "GP_PRAC_PAT_LIST,01APR2024,A81001,THE DENSHAM SURGERY,E01012062,ALL,1523\n"
                    "GP_PRAC_PAT_LIST,01APR2024,A81002,QUEENS PARK MEDICAL CENTRE,E01012062,ALL,12\n"
                    "GP_PRAC_PAT_LIST,01APR2024,A81002,QUEENS PARK MEDICAL CENTRE,W01000001,ALL,3\n")
    flows = read_flows(path)
    assert flows.total == 1539 and flows.names["A81002"] == "QUEENS PARK MEDICAL CENTRE"
    assert flows.pairs().set_index(["origin", "dest"])["count"].to_dict() == {
        ("E01012061", "A81001"): 1, ("E01012062", "A81001"): 1523, ("E01012062", "A81002"): 12,
        ("W01000001", "A81002"): 3}
    assert list(flows.frame["row"]) == [2, 3, 4, 5] and flows.notes == []
    kept = read_flows(path, where=[("SEX", "ALL")])
    assert kept.total == 1539 and "kept 4 of 4 rows where SEX = ALL" in kept.notes[0]
