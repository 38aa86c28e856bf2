"""Every catalogue vintage 2016–2024 on the real ONS files, against the published unit counts and
an independent pandas group-by on the raw lookup CSVs (no coterminosity code in the answers).

A representative set is built with geometry (dissolved from the 32,844 LSOA polygons); the rest
are checked through their LSOA membership, which is what every overlay between them uses.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coterminosity.errors import InputError
from coterminosity.geo import load_layer, load_population
from coterminosity.geo.catalogue import LAYERS, catalogue_table
from coterminosity.geo.lookups import named_membership
from coterminosity.geo.smallareas import small_area_table

pytestmark = pytest.mark.realdata

# The counts the ONS lookups publish (checked in the data folder's README).
PUBLISHED = {
    "ccg16": 209, "ccg17": 207, "ccg18": 195, "ccg19": 191, "ccg20": 135, "ccg21": 106, "sicbl22": 106,
    "stp17": 44, "stp18": 42, "stp19": 42, "stp20": 42, "stp21": 42, "icb22": 42, "icb24": 42,
    "lad16": 326, "lad17": 326, "lad18": 326, "lad19": 317, "lad20": 314, "lad21": 309, "lad22": 309,
    "upper17": 152, "upper18": 152, "upper19": 151, "upper20": 151, "upper21": 152, "upper22": 152,
    "msoa11": 6_791,
}
BUILT = ["stp19", "upper20", "icb24", "lad22"]  # built with geometry: one of each route


def read(data_dir, name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / f"{name}.csv", dtype=str)


def upper(data_dir, lsoa_file: str, lad: str, tiers: str, yy: str) -> pd.Series:
    """LSOA → council with social-care duties: the county (E10) in two-tier areas, else the district."""
    t = read(data_dir, lsoa_file).merge(read(data_dir, tiers), left_on=lad, right_on=f"LTLA{yy}CD", how="left")
    return pd.Series(np.where(t[f"UTLA{yy}CD"].str.startswith("E10"), t[f"UTLA{yy}CD"], t[lad]),
                     index=t["LSOA11CD"])


@pytest.fixture(scope="module")
def truth(data_dir) -> pd.DataFrame:
    """One row per 2011 LSOA: its unit in every layer and its mid-2019 population, by pandas alone."""
    t = read(data_dir, "population_lsoa11_mid2019")[["LSOA11CD", "population"]].set_index("LSOA11CD")
    t["population"] = t["population"].astype(int)
    for yy, file in (("16", "lookup_lsoa11_ccg16_lad16"), ("17", "lookup_lsoa11_ccg17_stp17_lad17"),
                     ("18", "lookup_lsoa11_ccg18_stp18_lad18"), ("19", "lookup_lsoa11_ccg19_stp19_lad19"),
                     ("20", "lookup_lsoa11_ccg20_stp20_lad20"), ("21", "lookup_lsoa11_ccg21_stp21_lad21")):
        lk = read(data_dir, file).set_index("LSOA11CD")
        for kind in ("ccg", "lad") + (("stp",) if yy != "16" else ()):
            t[f"{kind}{yy}"] = lk[f"{kind.upper()}{yy}CD"]
    for yy in ("19", "20"):  # the STP from the separate CCG → STP lookup, joined by hand
        ccg_stp = read(data_dir, f"lookup_ccg{yy}_stp{yy}").set_index(f"CCG{yy}CD")[f"STP{yy}CD"]
        t[f"stp{yy}"] = t[f"ccg{yy}"].map(ccg_stp)
    s22 = read(data_dir, "lookup_lsoa11_sicbl22_icb22_lad22").set_index("LSOA11CD")
    t["sicbl22"], t["icb22"], t["lad22"] = s22["SICBL22CD"], s22["ICB22CD"], s22["LAD22CD"]
    t["upper17"] = upper(data_dir, "lookup_lsoa11_ccg17_stp17_lad17", "LAD17CD", "lookup_ltla17_utla17", "17")
    t["upper18"] = upper(data_dir, "lookup_lsoa11_ccg18_stp18_lad18", "LAD18CD", "lookup_ltla17_utla17", "17")
    for yy in ("19", "20", "21"):
        t[f"upper{yy}"] = upper(data_dir, f"lookup_lsoa11_ccg{yy}_stp{yy}_lad{yy}", f"LAD{yy}CD",
                                f"lookup_ltla{yy}_utla{yy}", yy)
    t["upper22"] = t["upper21"]
    t["msoa11"] = read(data_dir, "lookup_lsoa11_msoa11").set_index("LSOA11CD")["MSOA11CD"]
    pieces = read(data_dir, "lookup_lsoa11_lsoa21_lad22").merge(read(data_dir, "lookup_lsoa21_sicbl24_icb24"),
                                                                on="LSOA21CD")
    t["icb24"] = pieces.drop_duplicates(["LSOA11CD", "ICB24CD"]).set_index("LSOA11CD")["ICB24CD"]
    return t


def test_the_independent_answer_is_whole(truth):
    assert len(truth) == 32_844 and truth["population"].sum() == 56_286_961
    assert not truth.isna().any().any()


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_membership_matches_the_lookups_and_the_published_count(name, truth, data_dir):
    members = named_membership(name, data_dir=data_dir).members
    assert members["code"].nunique() == PUBLISHED[name] == truth[name].nunique() == LAYERS[name].units
    assert members["small_code"].is_unique and len(members) == 32_844
    got = members.set_index("small_code")["code"].sort_index()
    pd.testing.assert_series_equal(got, truth[name].sort_index(), check_names=False, check_index_type=False)


@pytest.mark.parametrize("name", BUILT)
def test_built_layers_hold_the_lsoas_and_people_the_lookups_give_them(name, truth, data_dir):
    layer = load_layer(name, data_dir=data_dir)
    assert len(layer) == PUBLISHED[name] and layer.frame.geometry.is_valid.all()
    want_lsoas = truth.groupby(name).size()
    want_people = truth.groupby(name)["population"].sum()
    # Geometry: a point inside each LSOA polygon falls in the unit the lookups give its LSOA.
    table = small_area_table(data_dir)
    points = gpd.GeoDataFrame(table[["code"]], geometry=gpd.points_from_xy(table["x"], table["y"]), crs=27700)
    joined = points.sjoin(layer.frame[["code", "geometry"]].rename(columns={"code": "unit"}), predicate="within")
    assert len(joined) == 32_844
    assert (joined.set_index("code")["unit"].sort_index() == truth[name].sort_index()).all()
    # Membership: LSOAs and people per unit.
    members = layer.members.merge(truth["population"], left_on="small_code", right_index=True)
    assert members.groupby("code").size().sort_index().tolist() == want_lsoas.sort_index().tolist()
    pd.testing.assert_series_equal(members.groupby("code")["population"].sum().sort_index(),
                                   want_people.sort_index(), check_names=False, check_index_type=False)
    # Area: each unit is its LSOAs, gaps under 10 m² filled.
    area = table.set_index("code")["area_m2"].groupby(truth[name]).sum()
    assert np.allclose(layer.frame.set_index("code").geometry.area.sort_index(), area.sort_index(), rtol=1e-6)


def test_icb24_people_by_hand(truth, data_dir):
    """Per 2024 ICB, the mid-2019 people of its 2011 LSOAs: checked on a few boards, by pandas."""
    people = truth.groupby("icb24")["population"].sum()
    assert people.sum() == 56_286_961 and len(people) == 42
    layer = load_layer("icb24", data_dir=data_dir)
    counts = layer.members.groupby("code").size()
    for code in ("E54000008", "E54000025", "E54000050"):  # Cheshire and Merseyside; Herts and West Essex; NENC
        assert counts[code] == (truth["icb24"] == code).sum()


def test_sicbl24_stops_on_the_two_lsoas_it_divides(data_dir):
    pieces = read(data_dir, "lookup_lsoa11_lsoa21_lad22").merge(read(data_dir, "lookup_lsoa21_sicbl24_icb24"),
                                                                on="LSOA21CD")
    divided = pieces.groupby("LSOA11CD")["SICBL24CD"].nunique()
    divided = sorted(divided.index[divided > 1])
    assert len(divided) == 2
    with pytest.raises(InputError) as caught:
        named_membership("sicbl24", data_dir=data_dir)
    message = str(caught.value)
    assert "\n" not in message and "2 2011 LSOAs would fall in two sicbl24 units" in message
    assert f"(e.g. {divided[0]} in " in message


def test_upper22_is_upper21_and_says_so(data_dir):
    a, b = load_layer("upper21", data_dir=data_dir), load_layer("upper22", data_dir=data_dir)
    assert b.label == "upper22" and len(b) == 152
    def order(members):
        return members.sort_values("small_code").reset_index(drop=True)

    assert order(a.members).equals(order(b.members))
    assert any("upper22 is upper21" in n for n in b.notes)


def test_2018_districts_and_councils_are_2017s(truth):
    assert (truth["lad18"] == truth["lad17"]).all()
    assert (truth["upper18"] == truth["upper17"]).all()


def test_population_sits_at_the_ons_centroids(data_dir):
    pop = load_population(data_dir=data_dir)
    pwc = read(data_dir, "lsoa11_pwc_england").set_index("LSOA11CD")
    points = pop.points.set_index("code")
    assert len(points) == 32_844 and pop.total == 56_286_961
    at_centroid = np.isclose(points.geometry.x, pwc.loc[points.index, "easting"].astype(float)) & \
        np.isclose(points.geometry.y, pwc.loc[points.index, "northing"].astype(float))
    assert (~at_centroid).sum() == 358  # the centroids outside their generalised polygon
    assert any("358 of them fall just outside" in n and "within 56 m" in n for n in pop.notes)
    # Every point lies in its own LSOA's polygon, so geometry overlays lose or move no one.
    table = small_area_table(data_dir)
    polygons = load_layer("lsoa11", data_dir=data_dir).frame[["code", "geometry"]].rename(columns={"code": "lsoa"})
    joined = pop.points.sjoin(polygons, predicate="within")
    assert len(joined) == 32_844 and (joined["code"] == joined["lsoa"]).all()
    assert len(table) == 32_844


def test_catalogue_lists_every_vintage():
    table = catalogue_table().set_index("name")
    assert set(PUBLISHED) <= set(table.index)
    assert table.loc["icb24", "sources"] == "lsoa11, lookup_lsoa11_lsoa21_lad22, lookup_lsoa21_sicbl24_icb24"
