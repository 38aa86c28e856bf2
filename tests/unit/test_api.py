"""The public API: every exported name resolves, and the README example runs."""

from __future__ import annotations

import folium
import pytest

import coterminosity as ct


def test_every_export_resolves():
    for name in ct.__all__:
        assert getattr(ct, name) is not None, name
    with pytest.raises(AttributeError):
        ct.no_such_thing  # noqa: B018


@pytest.mark.realdata
def test_readme_example(data_dir):
    stp, councils = ct.load_layer("stp17", data_dir=data_dir), ct.load_layer("upper17", data_dir=data_dir)
    population = ct.load_population(data_dir=data_dir)
    table = ct.overlay(stp, councils, population)
    classes = ct.classify(table, by="population", threshold=0.98)
    assert classes.set_index("code").loc["E54000013", "class"] == "coterminous"  # Lincolnshire
    assert len(ct.split_units(table, "population")) == 11
    m = ct.build_map(stp, [ct.compare(stp, councils, population)])
    assert isinstance(m, folium.Map)


def test_layer_behaves_like_a_layer_file(tmp_path):
    """A Layer answers .crs, .total_bounds, .to_file and .explore as the README says."""
    import geopandas as gpd
    import shapely

    from coterminosity.geo.layer import BNG, Layer

    frame = gpd.GeoDataFrame({"code": ["A"], "name": ["Alpha"]}, geometry=[shapely.box(0, 0, 10, 20)], crs=BNG)
    layer = Layer(frame, "toy")
    assert layer.crs.to_epsg() == 27700 and list(layer.total_bounds) == [0, 0, 10, 20]
    out = layer.to_file(tmp_path / "toy.gpkg")
    back = gpd.read_file(out, layer="toy")
    assert back["code"].tolist() == ["A"] and back.crs.to_epsg() == 27700
    assert isinstance(layer.explore(), folium.Map)
