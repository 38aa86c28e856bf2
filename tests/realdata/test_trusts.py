"""Real trust catchments (OHID shares × catchment populations) against the 2022 ICBs, recomputed
independently from the raw CSVs with plain pandas (and one geopandas point-in-polygon join for
the trust points): no coterminosity code in the expected numbers.

The independent recipe:
- a trust's catchment population is its latest non-blank CATCHMENT_POPULATION, else the sum of
  its predecessors' (trust_successors.csv, chains followed); trusts with neither are left out;
- flow(trust, council) = SHARE × that population;
- a council's flow is split between ICBs by the mid-2019 population of its LSOAs in each
  (lookup_lsoa11_sicbl22_icb22_lad22.csv: LAD22 codes are the 2021 council codes);
- a trust is at home in the ICB of the LSOA polygon holding its head-office point.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coterminosity.cli import main

pytestmark = pytest.mark.realdata

DOCS = Path(__file__).parents[2] / "docs" / "catchments.md"


def doc_table() -> list[list[str]]:
    """The containment table of docs/catchments.md's "Real trust catchments", as printed (cells)."""
    text = DOCS.read_text()
    section = text[text.index("## Real trust catchments"):]
    lines = section[section.index("| code | ICB |"):].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


DOC_ROWS = doc_table()


def _latest(pop: pd.DataFrame) -> pd.Series:
    known = pop.dropna(subset=["CATCHMENT_POPULATION"]).sort_values("YEAR")
    return known.groupby("TRUSTCD")["CATCHMENT_POPULATION"].last()


@pytest.fixture(scope="module")
def independent(data_dir):
    """Per ICB: residents, retained, inflow; and the trusts' populations and homes — pandas only."""
    shares = pd.read_csv(data_dir / "trust22_catchment_shares_ltla21.csv")
    pop = pd.read_csv(data_dir / "trust_catchment_population_2011_2021.csv")
    succ = pd.read_csv(data_dir / "trust_successors.csv", dtype=str)
    latest = _latest(pop)
    population = {}
    for trust in shares["TRUST22CD"].unique():
        if trust in latest.index:
            population[trust] = latest[trust]
            continue
        todo, seen, total = list(succ.loc[succ["NEW_CODE"] == trust, "OLD_CODE"]), set(), 0.0
        while todo:
            code = todo.pop()
            if code in seen:
                continue
            seen.add(code)
            if code in latest.index:
                total += latest[code]
            else:
                todo += list(succ.loc[succ["NEW_CODE"] == code, "OLD_CODE"])
        if total:
            population[trust] = total
    flows = shares[shares["TRUST22CD"].isin(population)].copy()
    flows["count"] = flows["SHARE"] * flows["TRUST22CD"].map(population)

    lookup = pd.read_csv(data_dir / "lookup_lsoa11_sicbl22_icb22_lad22.csv", dtype=str)
    lsoa_pop = pd.read_csv(data_dir / "population_lsoa11_mid2019.csv", dtype={"LSOA11CD": str})
    lookup = lookup.merge(lsoa_pop[["LSOA11CD", "population"]], on="LSOA11CD")
    split = lookup.groupby(["LAD22CD", "ICB22CD"])["population"].sum().reset_index()
    split["w"] = split["population"] / split.groupby("LAD22CD")["population"].transform("sum")

    points = pd.read_csv(data_dir / "trust22_points.csv")
    points = gpd.GeoDataFrame(points, geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs="EPSG:4326")
    lsoas = gpd.read_file(data_dir / "lsoa11_england.gpkg", columns=["LSOA11CD"])
    lsoas["geometry"] = lsoas.geometry.make_valid()
    hit = gpd.sjoin(points, lsoas, predicate="within", how="left").drop_duplicates("TRUST22CD")
    home = hit.set_index("TRUST22CD")["LSOA11CD"].map(lookup.set_index("LSOA11CD")["ICB22CD"])

    f = flows.merge(split[["LAD22CD", "ICB22CD", "w"]], left_on="LTLA21CD", right_on="LAD22CD")
    f["count"] = f["count"] * f["w"]
    f["home"] = f["TRUST22CD"].map(home)
    residents = f.groupby("ICB22CD")["count"].sum()
    retained = f[f["ICB22CD"] == f["home"]].groupby("ICB22CD")["count"].sum()
    inflow = f.groupby("home")["count"].sum()
    table = pd.DataFrame({"residents_flow": residents, "retained": retained, "inflow": inflow}).fillna(0.0)
    table["containment_share"] = table["retained"] / table["residents_flow"]
    table["destination_share"] = table["retained"] / table["inflow"]
    table.loc["E92000001"] = [residents.sum(), retained.sum(), inflow.sum(), retained.sum() / residents.sum(),
                              retained.sum() / inflow.sum()]
    by_trust = f.groupby(["ICB22CD", "TRUST22CD"])["count"].sum()
    share = by_trust / by_trust.groupby(level="ICB22CD").transform("sum")
    top = share.sort_values(ascending=False).groupby(level="ICB22CD").head(1).reset_index(level="TRUST22CD")
    top["name"] = top["TRUST22CD"].map(points.set_index("TRUST22CD")["TRUST22NM"])
    return {"table": table, "top": top, "population": pd.Series(population), "home": home, "flows": flows, "split": split,
            "shares": shares}


@pytest.fixture(scope="module")
def printed(independent):
    """The CLI's containment table for trust22 in icb22 (CSV)."""
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["-q", "containment", "trust22", "--footprints", "icb22", "--format", "csv"]) == 0
    return pd.read_csv(io.StringIO(out.getvalue())).set_index("code")


def test_populations_follow_predecessors(independent):
    pop = independent["population"]
    assert len(pop) == 130  # 138 trusts, 8 without a catchment population of their own or through predecessors
    assert pop["R0B"] == 84_623 + 343_429  # South Tyneside (RE9) + City Hospitals Sunderland (RLN)
    assert pop["R0D"] == 289_086 + 263_930  # Poole (RD3) + Royal Bournemouth and Christchurch (RDZ)
    assert pop["RNN"] == 258_341  # North Cumbria (RNL); RE7, RLF have none
    assert set(independent["shares"]["TRUST22CD"]) - set(pop.index) == {
        "RBQ", "RBS", "RCU", "REN", "REP", "RET", "RH5", "RP4"}


def test_every_icb_row_matches_pandas(independent, printed):
    want = independent["table"]
    assert len(printed) == 43 and printed.index[-1] == "E92000001"
    got = printed.loc[want.index]
    for col in ("residents_flow", "retained", "inflow", "containment_share", "destination_share"):
        assert np.allclose(got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), rtol=1e-9), col


def test_documented_table_is_there():
    assert len(DOC_ROWS) == 7 and DOC_ROWS[-1][0] == "E92000001"


@pytest.mark.parametrize("row", DOC_ROWS, ids=[r[0] for r in DOC_ROWS])
def test_documented_table_row_by_row(independent, printed, row):
    """Each number in docs/catchments.md's table, as printed, from the independent computation;
    the trust relied on most from the CLI's relies_on."""
    code, name, residents, retained, share, inflow, dest_share, relied = row
    want = independent["table"].loc[code]
    number = lambda cell: float(cell.replace(",", ""))  # noqa: E731
    assert round(want["residents_flow"]) == number(residents) and round(want["retained"]) == number(retained)
    assert round(want["inflow"]) == number(inflow)
    assert f"{100 * want['containment_share']:.1f}%" == share
    assert f"{100 * want['destination_share']:.1f}%" == dest_share
    assert printed.loc[code, "name"].replace("Integrated Care Board", "ICB") == name
    if code != "E92000001":
        top = independent["top"].loc[code]
        assert relied == f"{top['name']} {100 * top['count']:.1f}%"
        assert printed.loc[code, "relies_on"].split(";")[0] == relied


def test_least_contained_and_overall_in_the_result(independent):
    """The result object carries the overall and least-contained figures."""
    from coterminosity.boundaries.containment import measure_containment
    from coterminosity.geo import load_layer
    from coterminosity.geo.trusts import load_trust_inputs

    result = measure_containment(load_trust_inputs(), load_layer("icb22"))
    want = independent["table"]
    assert result.overall == pytest.approx(want.loc["E92000001", "containment_share"], rel=1e-12)
    order = want.drop(index="E92000001").sort_values("containment_share").index[:3]
    assert list(result.least_contained()["code"]) == list(order)
    assert any("12 of 309 lad21 units lie in several icb22 footprints" in n for n in result.header())
    assert any("RH5 in NHS Somerset Integrated Care Board" in n for n in result.header())


def test_check_against_published_icb_shares(data_dir, independent):
    """Trusts drawing only on councils whole in one ICB: derived shares equal OHID's by ICB to 1e-9;
    through split councils they differ (James Paget through East Suffolk by about 24 points)."""
    from coterminosity.boundaries.trust_check import check_shares
    from coterminosity.geo import load_layer
    from coterminosity.geo.trusts import load_trust_inputs, read_footprint_shares

    published = read_footprint_shares(data_dir / "trust22_catchment_shares_icb22.csv")
    check = check_shares(load_trust_inputs(), load_layer("icb22"), published)
    t = check.table.set_index("trust")
    # Independently: which trusts draw on a council split between ICBs?
    split = independent["split"]
    split_councils = set(split.loc[split["LAD22CD"].duplicated(keep=False), "LAD22CD"])
    flows = independent["flows"]
    touches = set(flows.loc[flows["LTLA21CD"].isin(split_councils), "TRUST22CD"])
    whole = sorted(set(t.index) - touches)
    assert len(whole) == 54 and t.loc[whole, "agrees"].all() and (t.loc[whole, "largest_difference"] <= 1e-9).all()
    assert not t.loc[sorted(touches), "agrees"].any()
    assert t.loc["RGP", "largest_difference"] == pytest.approx(0.242, abs=0.001)
    assert t.loc["RGP", "split_councils"] == "East Suffolk"
    # Independently: RGP's share in Norfolk and Waveney = Σ over its councils of SHARE × the council's
    # population share in that ICB; OHID's own figure is 0.988.
    rgp = flows[flows["TRUST22CD"] == "RGP"][["LTLA21CD", "SHARE"]]
    w = split[split["ICB22CD"] == "E54000022"].set_index("LAD22CD")["w"]
    derived = (rgp["SHARE"] * rgp["LTLA21CD"].map(w).fillna(0.0)).sum()
    assert t.loc["RGP", "derived"] == pytest.approx(derived, abs=1e-12)
    assert t.loc["RGP", "published"] == pytest.approx(0.988, abs=0.0005)
    assert t.loc["RGP", "largest_difference"] == pytest.approx(0.988 - derived, abs=0.0005)


def test_trust_catchment_layer_keeps_membership(tmp_path, data_dir, independent):
    """`coterm catchments trust22 -o` writes 130 polygons with their LSOA membership; read back, each
    trust's members are the LSOAs of the councils holding 80% of its catchment (pandas sort/cumsum)."""
    out = tmp_path / "trusts.gpkg"
    assert main(["-q", "catchments", "trust22", "-o", str(out)]) == 0
    from coterminosity.geo import load_layer

    layer = load_layer(str(out))
    assert len(layer) == 130 and layer.small_areas == "lsoa11"
    flows = independent["flows"].sort_values(["TRUST22CD", "count", "LTLA21CD"], ascending=[True, False, True])
    before = flows.groupby("TRUST22CD")["SHARE"].cumsum() - flows["SHARE"]
    chosen = flows[(before < 0.8 * (1 - 1e-12)).to_numpy()]
    lookup = pd.read_csv(data_dir / "lookup_lsoa11_sicbl22_icb22_lad22.csv", dtype=str)[["LSOA11CD", "LAD22CD"]]
    want = chosen.merge(lookup, left_on="LTLA21CD", right_on="LAD22CD")[["TRUST22CD", "LSOA11CD"]]
    want = want.rename(columns={"TRUST22CD": "code", "LSOA11CD": "small_code"}).sort_values(["code", "small_code"])
    got = layer.members[["code", "small_code"]].sort_values(["code", "small_code"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert layer.frame.set_index("code").loc["RGP", "origins"] == chosen["TRUST22CD"].eq("RGP").sum()


def test_unlisted_merger_is_hinted_and_can_be_added(data_dir, tmp_path):
    """Somerset (RH5) took over Taunton and Somerset (RBA, same postcode) in 2020, but the successor
    table does not list it: the note says so; a copy with the row gives RH5 RBA's population."""
    from coterminosity.geo.trusts import trust_flows

    plain = trust_flows()
    reason = plain.left_out.set_index("trust").loc["RH5", "reason"]
    assert "RBA Taunton and Somerset NHS Foundation Trust 314,127 (2021) at the same postcode TA1 5DA" in reason
    succ = tmp_path / "successors.csv"
    succ.write_text((data_dir / "trust_successors.csv").read_text() + "RBA,RH5,2020-04-01\n")
    fixed = trust_flows(successors=succ)
    assert fixed.populations.set_index("trust").loc["RH5", "population"] == 314_127
    assert len(fixed.left_out) == 7


def test_cli_bad_share_file_is_one_line(data_dir, tmp_path, capsys):
    shares = pd.read_csv(data_dir / "trust22_catchment_shares_ltla21.csv")
    shares.loc[3, "SHARE"] = -shares.loc[3, "SHARE"]
    path = tmp_path / "shares.csv"
    shares.to_csv(path, index=False)
    assert main(["containment", str(path), "--footprints", "icb22"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "line 5" in err and "must be a share ≥ 0" in err


def test_trusts_that_absorbed_others_are_named_and_can_be_added():
    """Mid and South Essex (RAJ) kept Southend's code and value when Basildon (RDD) and Mid Essex (RQ8)
    merged into it in 2020, while its shares cover all three: named by default, added on request.
    Pennine Acute (RW6) was split between two trusts and Northern Devon (RBZ) has shares of its own:
    neither is added."""
    from coterminosity.geo.trusts import trust_flows

    plain = trust_flows()
    note = next(n for n in plain.notes if "merged into them after 2018" in n)
    assert "RAJ 308,331 (RDD 348,229 on 2020-04-01, RQ8 417,919 on 2020-04-01)" in note and "RBZ" not in note
    added = trust_flows(add_merged=True).populations.set_index("trust")["population"]
    assert added["RAJ"] == 308_331 + 348_229 + 417_919
    assert added["R0A"] == 1_110_826 and added["RM3"] == 286_622 and added["RH8"] == 438_966
    assert added.sum() - plain.populations["population"].sum() == 348_229 + 417_919 + 231_863 + 287_652 + 144_277 + 529_060


def test_cli_user_share_file_json_and_matrix(data_dir, tmp_path, independent, capsys):
    """A user's file with the published columns reads like trust22; JSON carries the overall and
    least-contained figures; the ICB × ICB matrix adds up to the same flow."""
    path = tmp_path / "my_shares.csv"
    path.write_text((data_dir / "trust22_catchment_shares_ltla21.csv").read_text())
    out = tmp_path / "c.json"
    assert main(["-q", "containment", str(path), "--footprints", "icb22", "--format", "json", "-o", str(out)]) == 0
    import json

    meta = json.loads(out.read_text())["meta"]
    want = independent["table"]
    assert meta["overall_containment"] == pytest.approx(want.loc["E92000001", "containment_share"], rel=1e-12)
    assert meta["least_contained"][0]["code"] == "E54000038"
    assert main(["-q", "containment", "trust22", "--footprints", "icb22", "--matrix", "--format", "csv"]) == 0
    matrix = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert matrix["count"].sum() == pytest.approx(want.loc["E92000001", "residents_flow"])
    diagonal = matrix[matrix["origin_code"] == matrix["dest_code"]].set_index("origin_code")["count"]
    assert np.allclose(diagonal.sort_index(), want["retained"].drop("E92000001").sort_index())
