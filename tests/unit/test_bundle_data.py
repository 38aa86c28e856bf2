"""The England bundle shipped in the package, read as a fresh installation would (no data folder, empty
cache): intact, and giving the England figures checked by hand in the data README."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest

from coterminosity.cli import main
from coterminosity.data import BUNDLE_DIR, available, manifest


@pytest.fixture(autouse=True)
def fresh_machine(monkeypatch, tmp_path):
    monkeypatch.delenv("COTERM_DATA", raising=False)
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "cache"))


def test_every_file_is_the_one_the_manifest_names():
    assert available()
    doc = manifest()
    on_disk = {str(p.relative_to(BUNDLE_DIR)) for p in BUNDLE_DIR.rglob("*") if p.is_file()} - {"manifest.json"}
    assert on_disk == set(doc["files"])
    for name, entry in doc["files"].items():
        data = (BUNDLE_DIR / name).read_bytes()
        assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["sha256"], name
    assert sum(e["bytes"] for e in doc["files"].values()) <= 12_000_000


def test_readme_command_from_the_bundle_gives_england(capsys):
    assert main(["summary", "stp17", "--against", "upper17", "--against", "ccg17", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) == 44 and table["population"].sum() == 56_286_961
    row = table.set_index("name").loc["West Yorkshire"]
    assert (row["population"], row["upper17"], row["upper17_split"], row["upper17_wrong_side"]) == (2_544_425, 6, 1,
                                                                                                     211_956)
    assert table["ccg17_split"].sum() == 0 and (table["upper17_class"] == "coterminous").sum() == 4


def test_a_layer_the_files_cannot_make_is_the_same_one_line_error(capsys):
    assert main(["summary", "sicbl24", "--against", "icb24"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 2011 LSOAs would fall in two sicbl24 units" in err


def test_rebuild_needs_the_published_files(tmp_path, capsys):
    assert main(["data", "bundle", "--from", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "published files the bundle is built from (lsoa11_england.gpkg" in err
    assert not (tmp_path / "out").exists()
