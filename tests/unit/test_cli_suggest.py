"""``coterm suggest``: options parsed, bad requests refused in one line with exit 2 before any work."""

from __future__ import annotations

import pytest

from coterminosity.cli import main

from ..factory import one_error_line


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        main(["suggest", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for option in ("--against", "--keep-whole", "--soft", "--population-band", "--max-moves", "--max-people",
                   "--fix", "--save", "--format", "--output"):
        assert option in out


def test_soft_without_a_layer_to_keep_whole(capsys):
    assert main(["suggest", "stp17", "--against", "upper17", "--soft", "1000"]) == 2
    one_error_line(capsys, "coterm suggest: error: --soft needs --keep-whole LAYER")


def test_only_population_weighting(capsys):
    assert main(["suggest", "stp17", "--against", "upper17", "--weight", "area"]) == 2
    one_error_line(capsys, "--weight area: suggest counts people moved")


def test_a_gis_layer_output_is_refused(capsys, tmp_path):
    assert main(["suggest", "stp17", "--against", "upper17", "-o", str(tmp_path / "moves.gpkg")]) == 2
    one_error_line(capsys, "moves.gpkg", "writes a table, not a GIS layer")
    assert not (tmp_path / "moves.gpkg").exists()


@pytest.mark.parametrize("option", [["--population-band", "3000000-500000"], ["--population-band", "many"],
                                    ["--max-moves", "-1"], ["--max-people", "lots"]])
def test_bad_numbers_are_usage_errors(capsys, option):
    with pytest.raises(SystemExit) as done:
        main(["suggest", "stp17", "--against", "upper17", *option])
    assert done.value.code == 2
    assert option[0] in capsys.readouterr().err


def test_against_is_required(capsys):
    with pytest.raises(SystemExit) as done:
        main(["suggest", "stp17"])
    assert done.value.code == 2
    assert "--against" in capsys.readouterr().err
