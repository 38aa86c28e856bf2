"""Acceptance on the real ONS data: every number the README quotes, recomputed
independently from the lookups with plain pandas (no geometry, no coterminosity code)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.overlay import overlay
from coterminosity.cli import main
from coterminosity.geo import load_layer, load_population
from coterminosity.geo.smallareas import small_area_polygons

pytestmark = pytest.mark.realdata
THRESHOLD = 0.98


@pytest.fixture(scope="module")
def lsoas(ons_lsoas) -> pd.DataFrame:
    """One row per LSOA: STP, CCG, district, upper-tier council (UPPER) and population, from the CSVs."""
    return ons_lsoas.assign(UPPER=ons_lsoas["upper"])


def expected_against(m: pd.DataFrame, col: str) -> pd.DataFrame:
    """Per STP against one layer, by group-by: touched, split, wrong side, class."""
    piece = m.groupby(["STP17CD", col])["population"].sum().rename("pop").reset_index()
    unit_total = m.groupby(col)["population"].sum()
    stp_total = m.groupby("STP17CD")["population"].sum()
    piece["p"] = piece["pop"] / piece["STP17CD"].map(stp_total)
    piece["q"] = piece["pop"] / piece[col].map(unit_total)
    divided = piece.groupby(col)["q"].max() < THRESHOLD
    piece["unit_split"] = piece[col].map(divided)
    piece["wrong"] = np.minimum(piece["pop"], piece[col].map(unit_total) - piece["pop"])
    piece.loc[piece["p"] >= THRESHOLD, "wrong"] = 0  # the footprint lies inside this unit: nothing cut
    rows = {}
    for stp, g in piece.groupby("STP17CD"):
        if ((g.p >= THRESHOLD) & (g.q >= THRESHOLD)).any():
            cls = "coterminous"
        elif g.p.max() >= THRESHOLD:
            cls = "nested"
        elif ((g.q >= THRESHOLD) | ((g.p <= 1 - THRESHOLD) & (g.q <= 1 - THRESHOLD))).all() and (g.q >= THRESHOLD).any():
            cls = "contains"
        else:
            cls = "split"
        rows[stp] = {"touched": len(g), "split": int(g.unit_split.sum()), "wrong": g.wrong.sum(), "class": cls}
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.fixture(scope="module")
def summary_csv(tmp_path_factory, data_dir) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("summary") / "summary.csv"
    code = main(["-q", "summary", "stp17", "--against", "upper17", "--against", "ccg17", "--population",
                 "--format", "csv", "-o", str(out), "--data-dir", str(data_dir)])
    assert code == 0
    return pd.read_csv(out, dtype={"code": str}).set_index("code")


def test_summary_reproduced_by_group_by(summary_csv, lsoas):
    got = summary_csv
    assert len(got) == 44
    assert got["population"].sum() == 56_286_961
    pd.testing.assert_series_equal(got["population"], lsoas.groupby("STP17CD")["population"].sum(),
                                   check_names=False, check_index_type=False, check_dtype=False)
    for label, col in (("upper17", "UPPER"), ("lad17", "LAD17CD"), ("ccg17", "CCG17CD")):
        want = expected_against(lsoas, col).loc[got.index]
        assert got[label].tolist() == want["touched"].tolist(), label
        assert got[f"{label}_split"].tolist() == want["split"].tolist(), label
        assert np.allclose(got[f"{label}_wrong_side"], want["wrong"]), label
        assert got[f"{label}_class"].tolist() == want["class"].tolist(), label


def test_summary_layer_line(lsoas):
    """The README's layer line, from the group-by: 22 of 44 footprints are unions of whole councils."""
    want = expected_against(lsoas, "UPPER")
    whole = want["class"].isin(["coterminous", "contains"])
    stp_pop = lsoas.groupby("STP17CD")["population"].sum()
    assert whole.sum() == 22
    assert stp_pop[whole[whole].index].sum() / 56_286_961 == pytest.approx(0.477, abs=5e-4)
    unit_total = lsoas.groupby("UPPER")["population"].sum()
    best = lsoas.groupby(["UPPER", "STP17CD"])["population"].sum().groupby("UPPER").max() / unit_total
    assert (best < THRESHOLD).sum() == 11
    assert unit_total[best < THRESHOLD].sum() == 10_003_489
    # Without the threshold, 14 councils have people in more than one footprint.
    assert (lsoas.groupby("UPPER")["STP17CD"].nunique() > 1).sum() == 14


@pytest.mark.parametrize("col, whole, share, score, split, people", [
    ("UPPER", 22, 0.477, 0.511, 11, 10_003_489),
    ("LAD17CD", 24, 0.516, 0.516, 17, 3_357_451),
    ("CCG17CD", 44, 1.0, 1.0, 0, 0),
])
def test_every_layer_line_in_readme(lsoas, col, whole, share, score, split, people):
    """The three layer lines the README quotes, each recomputed by group-by."""
    want = expected_against(lsoas, col)
    stp_pop = lsoas.groupby("STP17CD")["population"].sum()
    unions = want.index[want["class"].isin(["coterminous", "contains"])]
    clean = want.index[want["class"].isin(["coterminous", "nested", "contains"])]
    assert len(unions) == whole
    assert stp_pop[unions].sum() / stp_pop.sum() == pytest.approx(share, abs=5e-4)
    assert stp_pop[clean].sum() / stp_pop.sum() == pytest.approx(score, abs=5e-4)
    unit_total = lsoas.groupby(col)["population"].sum()
    best = lsoas.groupby([col, "STP17CD"])["population"].sum().groupby(col).max() / unit_total
    assert (best < THRESHOLD).sum() == split
    assert unit_total[best < THRESHOLD].sum() == people


def test_summary_layer_line_printed(data_dir, capsys):
    assert main(["-q", "summary", "stp17", "--against", "upper17", "--no-lower-tier",
                 "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert ("stp17 vs upper17 (by population, threshold 0.98): 22 of 44 are unions of whole upper17 units "
            "(47.7% of the people); score 51.1% (share in units coterminous with, nested in or made of whole "
            "upper17 units); 10,003,489 people live in 11 upper17 units split between stp17 units; "
            "2,464,015 people (4.38%) live outside the main stp17 unit of their upper17 unit") in out


def test_people_outside_their_councils_main_footprint_by_group_by(ons_lsoas):
    """The England headline: each council's people outside the footprint holding most of them, once each."""
    pieces = ons_lsoas.groupby(["upper", "STP17CD"])["population"].sum()
    outside = (pieces.groupby(level=0).sum() - pieces.groupby(level=0).max()).sum()
    assert outside == 2_464_015
    assert round(100 * outside / ons_lsoas["population"].sum(), 2) == 4.38


def test_lsoas_repaired_and_conserved(data_dir):
    polys, notes = small_area_polygons(data_dir)
    assert len(polys) == 32_844 and polys["code"].is_unique
    assert any("repaired 90 of 90 invalid LSOA polygons" in n for n in notes)
    assert shapely.is_valid(polys.geometry.values).all()
    raw = gpd.read_file(data_dir / "lsoa11_england.gpkg").to_crs(27700)
    raw_area = shapely.area(shapely.make_valid(raw.geometry.values)).sum()
    assert polys.geometry.area.sum() == pytest.approx(raw_area, rel=1e-6)
    # Every LSOA keeps its own area to within 50 m² and 0.1% (sub-metre gap closing and overlaps only).
    by_code = pd.Series(shapely.area(shapely.make_valid(raw.geometry.values)), index=raw["LSOA11CD"])
    change = np.abs(polys.set_index("code").area_m2 - by_code.loc[polys.code].to_numpy())
    assert change.max() < 50
    assert (change / by_code.loc[polys.code].to_numpy()).max() < 1e-3


def test_population_conserved_in_every_built_layer(data_dir):
    pop = load_population(data_dir=data_dir)
    assert pop.total == 56_286_961
    stp = load_layer("stp17", data_dir=data_dir)
    for name in ("upper17", "ccg17", "lad17"):
        t = overlay(stp, load_layer(name, data_dir=data_dir), pop)
        assert t.pairs["population"].sum() == 56_286_961
        assert t.b_units["population"].sum() == 56_286_961
    assert len(load_layer("upper17", data_dir=data_dir)) == 152


def test_membership_and_geometry_agree_on_real_layers(data_dir):
    pop = load_population(data_dir=data_dir)
    stp, upper = load_layer("stp17", data_dir=data_dir), load_layer("upper17", data_dir=data_dir)
    exact = overlay(stp, upper, pop)
    geom = overlay(stp, upper, pop, method="geometry")
    assert exact.method == "membership" and len(exact.pairs) == 170
    real = geom.real()
    assert len(real) == 170 and geom.slivers == 0
    joined = exact.pairs.merge(real, on=["a_code", "b_code"], suffixes=("", "_g"))
    assert len(joined) == 170
    assert (np.abs(joined.area_m2 - joined.area_m2_g) / joined.area_m2).max() <= 1e-9
    assert (joined.population == joined.population_g).all()


@pytest.fixture(scope="module")
def districts_json(tmp_path_factory, data_dir) -> dict:
    out = tmp_path_factory.mktemp("lad") / "lad.json"
    code = main(["-q", "overlay", "lad11", "lad13", "--weight", "area", "--format", "json", "-o", str(out),
                 "--data-dir", str(data_dir)])
    assert code == 0
    return json.loads(out.read_text())


def test_generalised_districts_classed_and_worst_fits(districts_json):
    rows = pd.DataFrame(districts_json["rows"])
    assert len(rows) == 326 and rows["class"].notna().all()
    worst = rows.sort_values("share_in_best")
    # The data README's independent geopandas measurement: Scilly 0.963, City of London 0.977.
    assert worst["name"].iloc[:2].tolist() == ["Isles of Scilly", "City of London"]
    assert worst["share_in_best"].iloc[0] == pytest.approx(0.963, abs=5e-4)
    assert worst["share_in_best"].iloc[1] == pytest.approx(0.977, abs=5e-4)
    assert rows["share_in_best"].median() == pytest.approx(0.997, abs=5e-4)


def test_code_changes_reported_as_same_area(districts_json):
    changes = {(c["code"], c["best_code"]) for c in districts_json["meta"]["code_changes"]}
    assert changes == {
        ("E06000048", "E06000057"), ("E08000020", "E08000037"), ("E07000097", "E07000242"),
        ("E07000100", "E07000240"), ("E07000101", "E07000243"), ("E07000104", "E07000241"),
    }
    rows = pd.DataFrame(districts_json["rows"]).set_index("code")
    six = [a for a, _ in changes]
    assert (rows.loc[six, "class"] == "coterminous").all()
    assert (rows.loc[six, "note"] == "same area, different code").all()
