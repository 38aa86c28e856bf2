"""The England bundle shipped in the package: rebuilt from the raw files it is the same bytes, and
with no data folder the toolkit gives the same answers as from the raw files."""

from __future__ import annotations

import io
import logging

import numpy as np
import pandas as pd
import pytest
import shapely

from coterminosity.cli import main
from coterminosity.data import BUNDLE_DIR, manifest
from coterminosity.data.bundle import build_bundle, bundle_size
from coterminosity.geo.catalogue import LAYERS

pytestmark = pytest.mark.realdata

SUMMARY = ["summary", "stp17", "--against", "upper17", "--against", "ccg17", "--format", "csv"]


@pytest.fixture
def no_data_folder(monkeypatch, tmp_path):
    """A fresh machine: no COTERM_DATA, an empty cache."""
    monkeypatch.delenv("COTERM_DATA", raising=False)
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "empty-cache"))


def _run(argv, capsys) -> tuple[str, str]:
    assert main(argv) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_rebuild_is_byte_identical_to_the_shipped_bundle(data_dir, tmp_path):
    doc = build_bundle(data_dir, tmp_path / "england")
    assert doc == manifest(), "the shipped bundle is stale: rebuild it with python -m coterminosity.data.bundle"
    shipped = sorted(p.relative_to(BUNDLE_DIR) for p in BUNDLE_DIR.rglob("*") if p.is_file())
    rebuilt = sorted(p.relative_to(tmp_path / "england") for p in (tmp_path / "england").rglob("*") if p.is_file())
    assert shipped == rebuilt
    for rel in shipped:
        assert (BUNDLE_DIR / rel).read_bytes() == (tmp_path / "england" / rel).read_bytes(), rel


def test_bundle_is_small_and_names_its_sources(data_dir):
    assert bundle_size() <= 12_000_000
    doc = manifest()
    import hashlib

    for filename, entry in doc["sources"].items():
        assert hashlib.sha256((data_dir / filename).read_bytes()).hexdigest() == entry["sha256"], filename
    assert "lsoa11_england.gpkg" in doc["sources"] and "population_lsoa11_mid2019.csv" in doc["sources"]
    assert doc["files"]["lsoa11.parquet"]["rows"] == 32_844
    assert doc["layers"]["stp17"] == 44 and doc["layers"]["ccg17"] == 207 and doc["layers"]["icb24"] == 42


def test_summary_from_the_bundle_equals_the_raw_files(data_dir, capsys, caplog, monkeypatch, tmp_path, ons_lsoas):
    caplog.set_level(logging.INFO, logger="coterminosity")  # the header's notes reach stderr
    raw, raw_err = _run([*SUMMARY, "--data-dir", str(data_dir)], capsys)
    assert f"data: published files in {data_dir} (--data-dir)" in raw_err
    monkeypatch.delenv("COTERM_DATA", raising=False)
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "empty-cache"))
    bundled, err = _run(SUMMARY, capsys)
    assert bundled == raw
    assert "data: bundled England set (ONS/OHID, OGL v3)" in err
    # and the numbers are England's, by a plain group-by on the ONS lookups
    table = pd.read_csv(io.StringIO(bundled))
    expected = ons_lsoas.groupby("STP17CD")["population"].sum()
    assert dict(zip(table["code"], table["population"])) == expected.to_dict()
    split = ons_lsoas.groupby("upper")["STP17CD"].nunique()
    assert (split > 1).sum() == 14


def test_every_layer_has_the_same_members_and_names(data_dir, no_data_folder):
    from coterminosity.geo.lookups import named_membership

    for name, recipe in LAYERS.items():
        if recipe.how == "file":
            continue
        try:
            raw = named_membership(name, data_dir)
        except Exception as err:  # a layer the raw files cannot make: the bundle says the same
            with pytest.raises(type(err)) as again:
                named_membership(name)
            assert str(again.value) == str(err).replace(f"{data_dir}/", "")
            continue
        ours = named_membership(name)
        a = raw.members.sort_values("small_code").reset_index(drop=True)
        b = ours.members.sort_values("small_code").reset_index(drop=True)
        pd.testing.assert_frame_equal(a.astype(str), b.astype(str), obj=name)
        assert {c: raw.names[c] for c in a["code"].unique()} == {c: ours.names[c] for c in a["code"].unique()}, name


def test_members_match_the_lookup_files_read_by_pandas(data_dir, no_data_folder):
    """Independent of project code: the bundled ICBs (2022) and MSOAs are the lookups' own columns."""
    members = pd.read_parquet(BUNDLE_DIR / "members.parquet")
    for file, col, layer in (("lookup_lsoa11_sicbl22_icb22_lad22.csv", "ICB22CD", "icb22"),
                             ("lookup_lsoa11_msoa11.csv", "MSOA11CD", "msoa11")):
        lookup = pd.read_csv(data_dir / file, dtype=str).set_index("LSOA11CD")[col]
        assert (members[layer].astype(str).to_numpy() == lookup.reindex(members["LSOA11CD"]).to_numpy()).all()


def test_population_and_trust_flows_are_the_same(data_dir, no_data_folder):
    from coterminosity.geo.population import load_population
    from coterminosity.geo.trusts import trust_flows

    ours = load_population().by_code().sort_index()
    raw = pd.read_csv(data_dir / "population_lsoa11_mid2019.csv", dtype={"LSOA11CD": str})
    assert ours.to_dict() == dict(zip(raw["LSOA11CD"], raw["population"].astype(float)))
    assert ours.sum() == 56_286_961
    a, b = trust_flows(data_dir=data_dir), trust_flows()
    pd.testing.assert_frame_equal(a.flows.frame, b.flows.frame)
    pd.testing.assert_frame_equal(a.populations, b.populations)
    assert a.notes == b.notes


def test_bundled_coverage_is_valid_and_dissolves_exactly(no_data_folder):
    from coterminosity.geo.load import load_layer
    from coterminosity.geo.smallareas import small_area_polygons

    polys, notes = small_area_polygons()
    geoms = polys.geometry.values
    assert len(polys) == 32_844 and shapely.is_valid(geoms).all() and shapely.coverage_is_valid(geoms)
    coords = shapely.get_coordinates(geoms)
    assert (coords == np.round(coords)).all()  # on the 1 m grid
    assert any("rounded to a 1 m grid" in n for n in notes)
    for name in ("stp17", "icb22"):  # one shipped dissolved, one dissolved on first use
        layer = load_layer(name)
        area = polys.set_index("code")["area_m2"].groupby(layer.members.set_index("small_code")["code"]).sum()
        np.testing.assert_allclose(layer.frame.set_index("code").geometry.area.reindex(area.index), area, rtol=1e-9)


def test_layers_have_the_same_units_and_nearly_the_same_shapes(data_dir, no_data_folder):
    """Shipped dissolved (stp17, upper17) or dissolved on first use (icb22): the same codes, names and
    members as from the raw files, and outlines within the 1 m rounding."""
    from coterminosity.geo.load import load_layer

    for name in ("stp17", "upper17", "icb22"):
        raw, ours = load_layer(name, data_dir=data_dir), load_layer(name)
        a, b = raw.frame.set_index("code"), ours.frame.set_index("code")
        assert list(a.index) == list(b.index) and a["name"].equals(b["name"]), name
        pairs = [set(map(tuple, layer.members[["small_code", "code"]].astype(str).to_numpy())) for layer in (raw, ours)]
        assert pairs[0] == pairs[1], name
        # rounding to 1 m moves no vertex by more than 0.71 m: the outlines differ by less than a 1 m strip
        moved = a.geometry.symmetric_difference(b.geometry.reindex(a.index)).area / a.geometry.length
        assert moved.max() < 1.0, (name, moved.idxmax(), moved.max())
        assert any(n.startswith("data: bundled England set") for n in ours.notes)
