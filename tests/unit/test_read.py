"""Reading boundary files of every supported kind into the same Layer."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.geo.read import detect_code_column, detect_name_column, read_layer

X0, Y0 = 400_000, 300_000
SQUARES = gpd.GeoDataFrame(
    {"ctyua17cd": ["E06000001", "E06000002"], "ctyua17nm": ["Hartlepool", "Middlesbrough"], "extra": [1, 2]},
    geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 1000), shapely.box(X0 + 1000, Y0, X0 + 3000, Y0 + 1000)],
    crs="EPSG:27700",
)


def check(layer):
    assert layer.frame.crs.to_epsg() == 27700
    assert layer.codes.tolist() == ["E06000001", "E06000002"]
    assert layer.frame["name"].tolist() == ["Hartlepool", "Middlesbrough"]
    assert layer.frame.geometry.area.tolist() == pytest.approx([1e6, 2e6], rel=1e-6)


def test_ons_column_detection():
    assert detect_code_column(["objectid", "ctyua17cd", "ctyua17nm"]) == "ctyua17cd"
    assert detect_name_column(["objectid", "STP17CD", "STP17NM"], "STP17CD") == "STP17NM"
    assert detect_code_column(["FID", "name"]) is None


def test_geopackage_and_extra_columns_kept(tmp_path):
    SQUARES.to_file(tmp_path / "u.gpkg")
    layer = read_layer(tmp_path / "u.gpkg")
    check(layer)
    assert layer.frame["extra"].tolist() == [1, 2]


def test_geojson_in_lon_lat_is_projected(tmp_path):
    SQUARES.to_crs(4326).to_file(tmp_path / "u.geojson")
    check(read_layer(tmp_path / "u.geojson"))


def test_zipped_shapefile(tmp_path):
    SQUARES.to_file(tmp_path / "u.shp")
    archive = tmp_path / "u.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("u.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    check(read_layer(archive))


def test_csv_with_wkt_and_given_crs_and_columns(tmp_path):
    frame = pd.DataFrame({"gss": SQUARES["ctyua17cd"], "label": SQUARES["ctyua17nm"],
                          "wkt": [g.wkt for g in SQUARES.geometry]})
    frame.to_csv(tmp_path / "u.csv", index=False)
    check(read_layer(tmp_path / "u.csv", code_col="gss", name_col="label", crs="EPSG:27700"))


def test_geoparquet(tmp_path):
    SQUARES.to_parquet(tmp_path / "u.parquet")
    check(read_layer(tmp_path / "u.parquet"))
