"""The geometry path on the real districts: lad11 (built from the LSOAs) against lad13 (the
generalised TopoJSON, drawn separately), checked against plain shapely intersections of the
same polygons and against the population CSV summed with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from coterminosity.boundaries.overlay import overlay
from coterminosity.geo import load_layer, load_population

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def districts(data_dir):
    return load_layer("lad11", data_dir=data_dir), load_layer("lad13", data_dir=data_dir)


@pytest.fixture(scope="module")
def table(districts, data_dir):
    lad11, lad13 = districts
    return overlay(lad11, lad13, load_population(None, data_dir=data_dir))


def test_every_pair_equals_a_plain_shapely_intersection(districts, table):
    lad11, lad13 = districts
    assert table.method == "geometry"
    ga = dict(zip(lad11.codes, lad11.frame.geometry))
    gb = dict(zip(lad13.codes, lad13.frame.geometry))
    pairs = table.pairs
    plain = shapely.area(shapely.intersection(np.array([ga[c] for c in pairs["a_code"]], dtype=object),
                                              np.array([gb[c] for c in pairs["b_code"]], dtype=object)))
    assert np.allclose(pairs["area_m2"].to_numpy(), plain, rtol=1e-9, atol=0)
    # No overlapping pair is missed: brute force over every lad13 district for 40 lad11 districts.
    some = list(ga)[:40]
    every_b = np.array(list(gb.values()), dtype=object)
    brute = sum(int((shapely.area(shapely.intersection(ga[c], every_b)) > 0).sum()) for c in some)
    assert brute == int((pairs["a_code"].isin(some) & (pairs["area_m2"] > 0)).sum())
    assert len(table.real()) == 722 and table.slivers == 1257


def test_scilly_and_city_of_london_shares(table):
    same = table.real()
    same = same[same["a_code"] == same["b_code"]].set_index("a_code")["a_in_b_area"]
    assert len(same) == 320  # six districts changed code in 2013
    assert same.median() == pytest.approx(0.997, abs=0.0005)
    assert same.idxmin() == "E06000053" and same.min() == pytest.approx(0.963, abs=0.0005)  # Isles of Scilly
    assert same.drop("E06000053").idxmin() == "E09000001"  # City of London
    assert same["E09000001"] == pytest.approx(0.977, abs=0.0005)


def test_everyone_counted_in_their_own_district(table, data_dir):
    # Independent: LSOA → LAD11CD from the gpkg's attribute table, people from the CSV.
    lsoa = pyogrio.read_dataframe(data_dir / "lsoa11_england.gpkg", columns=["LSOA11CD", "LAD11CD"],
                                  read_geometry=False)
    people = pd.read_csv(data_dir / "population_lsoa11_mid2019.csv", usecols=["LSOA11CD", "population"])
    expected = lsoa.merge(people, on="LSOA11CD").groupby("LAD11CD")["population"].sum()
    got = table.a_units.set_index("code")["population"]
    assert got.sum() == 56_286_961  # nobody lost, the 358 centroids outside their polygon included
    assert (got.reindex(expected.index) == expected).all()
    # The drawn layer counts by point in polygon: its generalised coast leaves a few people out, said so.
    outside = next(n for n in table.notes if n.startswith("population outside"))
    b_total = table.b_units["population"].sum()
    assert outside.endswith(f"outside lad13: {56_286_961 - b_total:,.0f}")
    assert table.pairs["population"].sum() == b_total
